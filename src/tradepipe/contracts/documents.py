"""OpenSearch documents: what analysts query. Built from table items by explicit mapping."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel, ConfigDict

from tradepipe.contracts.items import OrderItem, SignalItem
from tradepipe.domain.model import SignalStatus


class SignalDocument(BaseModel):
    """trading-signals index; `_id` = signal_id, so a replayed stream record overwrites."""

    model_config = ConfigDict(extra="forbid")

    signal_id: str
    status: str
    source: str | None
    credential: str | None
    action: str | None
    mode: str | None
    ticker: str | None
    side: str | None
    strategy: str | None
    timeframe: str | None
    sizing_mode: str | None
    sizing_value: float | None
    order_type: str | None
    limit_price: float | None
    entry_price: float | None
    stop_loss: float | None
    stop_loss_percent: float | None
    take_profit: float | None
    take_profit_percent: float | None
    strategy_position: float | None
    qty: float | None
    client_order_id: str | None
    close_client_order_id: str | None
    broker_order_id: str | None
    filled_qty: float | None
    filled_avg_price: float | None
    reject_reason: str | None
    reject_detail: str | None
    alert_time: datetime | None
    received_at: datetime
    updated_at: datetime
    # Per-stage times, so latency per stage can be charted.
    enqueued_at: datetime | None
    sized_at: datetime | None
    submitted_at: datetime | None
    filled_at: datetime | None
    completed_at: datetime | None
    rejected_at: datetime | None

    @classmethod
    def from_item(cls, item: SignalItem) -> SignalDocument:
        first_at: dict[SignalStatus, datetime] = {}
        for entry in item.history:
            first_at.setdefault(entry.status, entry.at)
        copied = {name: getattr(item, name) for name in _COPIED_SIGNAL_FIELDS}
        numbers = {name: _f(getattr(item, name)) for name in _NUMERIC_SIGNAL_FIELDS}
        return cls(
            **copied,
            **numbers,
            status=item.status.value,
            action=_v(item.action),
            mode=_v(item.mode),
            side=_v(item.side),
            sizing_mode=_v(item.sizing_mode),
            order_type=_v(item.order_type),
            enqueued_at=first_at.get(SignalStatus.ENQUEUED),
            sized_at=first_at.get(SignalStatus.SIZED),
            submitted_at=first_at.get(SignalStatus.SUBMITTED),
            filled_at=first_at.get(SignalStatus.FILLED),
            completed_at=first_at.get(SignalStatus.COMPLETED),
            rejected_at=first_at.get(SignalStatus.REJECTED),
        )


_COPIED_SIGNAL_FIELDS = (
    "signal_id",
    "source",
    "credential",
    "ticker",
    "strategy",
    "timeframe",
    "qty",
    "client_order_id",
    "close_client_order_id",
    "broker_order_id",
    "reject_reason",
    "reject_detail",
    "alert_time",
    "received_at",
    "updated_at",
)
_NUMERIC_SIGNAL_FIELDS = (
    "sizing_value",
    "limit_price",
    "entry_price",
    "stop_loss",
    "stop_loss_percent",
    "take_profit",
    "take_profit_percent",
    "strategy_position",
    "filled_qty",
    "filled_avg_price",
)


class ExecutionDocument(BaseModel):
    """trade-executions index; `_id` = client_order_id."""

    model_config = ConfigDict(extra="forbid")

    client_order_id: str
    signal_id: str
    mode: str
    strategy: str
    ticker: str
    side: str
    qty: float
    order_class: str
    order_type: str
    limit_price: float | None
    purpose: str
    take_profit: float | None
    stop_loss: float | None
    status: str
    broker_order_id: str | None
    filled_qty: float | None
    filled_avg_price: float | None
    reject_code: str | None
    reject_reason: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    filled_at: datetime | None

    @classmethod
    def from_item(cls, item: OrderItem) -> ExecutionDocument:
        return cls(
            client_order_id=item.client_order_id,
            signal_id=item.signal_id,
            mode=item.mode.value,
            strategy=item.strategy,
            ticker=item.symbol,
            side=item.side.value,
            qty=float(item.qty),
            order_class=item.order_class,
            order_type=item.order_type,
            limit_price=_f(item.limit_price),
            purpose=item.purpose,
            take_profit=_f(item.take_profit),
            stop_loss=_f(item.stop_loss),
            status=item.status,
            broker_order_id=item.broker_order_id,
            filled_qty=_f(item.filled_qty),
            filled_avg_price=_f(item.filled_avg_price),
            reject_code=item.reject_code,
            reject_reason=item.reject_reason,
            created_at=item.created_at,
            updated_at=item.updated_at,
            submitted_at=item.submitted_at,
            filled_at=item.filled_at,
        )


def _v(value: Enum | None) -> str | None:
    return None if value is None else str(value.value)


def _f(value: object) -> float | None:
    # Index documents carry floats: OpenSearch aggregates doubles; the exact Decimal stays in DynamoDB.
    return None if value is None else float(str(value))

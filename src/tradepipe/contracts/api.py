"""Read API responses: what `GET /signals/{signal_id}` answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from tradepipe.contracts.items import ErrorEntry, OrderItem, SignalItem, StatusEntry
from tradepipe.domain.risk.context import TradingState


class OrderView(BaseModel):
    client_order_id: str
    purpose: str
    side: str
    qty: str
    order_class: str
    status: str
    broker_order_id: str | None
    filled_qty: str | None
    filled_avg_price: str | None
    submitted_at: datetime | None
    filled_at: datetime | None
    reject_code: str | None
    reject_reason: str | None

    @classmethod
    def from_item(cls, item: OrderItem) -> OrderView:
        return cls(
            client_order_id=item.client_order_id,
            purpose=item.purpose,
            side=item.side.value,
            qty=str(item.qty),
            order_class=item.order_class,
            status=item.status,
            broker_order_id=item.broker_order_id,
            filled_qty=None if item.filled_qty is None else str(item.filled_qty),
            filled_avg_price=None if item.filled_avg_price is None else str(item.filled_avg_price),
            submitted_at=item.submitted_at,
            filled_at=item.filled_at,
            reject_code=item.reject_code,
            reject_reason=item.reject_reason,
        )


class SignalTrail(BaseModel):
    """A signal's states with timestamps and the orders it produced: what happened to one alert."""

    signal_id: str
    status: str
    action: str | None
    mode: str | None
    ticker: str | None
    side: str | None
    strategy: str | None
    qty: str | None
    risk_caps: list[str] | None
    reject_reason: str | None
    reject_detail: str | None
    errors: list[ErrorEntry] | None
    received_at: datetime
    trail: list[StatusEntry]
    orders: list[OrderView]

    @classmethod
    def build(cls, item: SignalItem, orders: list[OrderItem]) -> SignalTrail:
        return cls(
            signal_id=item.signal_id,
            status=item.status.value,
            action=None if item.action is None else item.action.value,
            mode=None if item.mode is None else item.mode.value,
            ticker=item.ticker,
            side=None if item.side is None else item.side.value,
            strategy=item.strategy,
            qty=None if item.qty is None else str(item.qty),
            risk_caps=item.risk_caps,
            reject_reason=item.reject_reason,
            reject_detail=item.reject_detail,
            errors=item.errors,
            received_at=item.received_at,
            trail=item.history,
            orders=[OrderView.from_item(o) for o in orders],
        )


class TradingStateRequest(BaseModel):
    """POST /trading-state/{account}: the kill switch (halt, reduce, resume)."""

    model_config = ConfigDict(extra="forbid")

    state: TradingState
    reason: str = Field(default="", max_length=500)
    by: str | None = Field(default=None, max_length=128)

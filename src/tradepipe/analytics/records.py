"""What the pipeline recorded, read back for analytics: fills, orders and signals from DynamoDB.

`RecordsSource` is the small read port (the live stores only write and look up by key); `DynamoRecords`
scans the three tables of a stage through boto3 at the settings' endpoint (moto locally). `fills_from_records`
is the pure mapping to analytics fills:
- each fill item is joined with its order (strategy, the stop and target it carried) and its signal (the
  alert's price, from which 1R is measured);
- a bracket leg's fill is recorded under the parent's client_order_id with the opposite side: it closes,
  so it carries no stop and gets its own order key (`<client_order_id>:leg`);
- the reconciler writes fill items on its schedule, so a just-filled order may have none yet: the part of
  an order's `filled_qty` that no fill item covers becomes one fill at the order's average price.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from pydantic import BaseModel

from tradepipe.analytics.fills import ZERO, Fill
from tradepipe.contracts.items import OrderItem, SignalItem
from tradepipe.domain.model import Side
from tradepipe.settings import Settings


class FillItem(BaseModel):
    """An item of the fills table, as `adapters/dynamodb.py::DynamoFillStore.record_fill` writes it."""

    pk: str
    execution_id: str
    mode: str
    symbol: str
    side: str  # buy / sell
    qty: Decimal
    price: Decimal
    at: datetime
    broker_order_id: str | None = None
    client_order_id: str | None = None
    signal_id: str | None = None


@dataclass(frozen=True)
class Records:
    signals: list[SignalItem]
    orders: list[OrderItem]
    fills: list[FillItem]


class RecordsSource(Protocol):
    def read(self) -> Records: ...


class DynamoRecords:
    """Scans the signals, orders and fills tables of `settings.stage` (paginated)."""

    def __init__(self, settings: Settings) -> None:
        import boto3

        self._settings = settings
        session = boto3.Session(region_name=settings.region)
        self._dynamodb = session.resource("dynamodb", endpoint_url=settings.aws_endpoint_url)

    def _scan(self, table_name: str) -> Iterator[dict[str, Any]]:
        table = self._dynamodb.Table(table_name)
        kwargs: dict[str, Any] = {}
        while True:
            page = table.scan(**kwargs)
            yield from page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start:
                return
            kwargs["ExclusiveStartKey"] = start

    def read(self) -> Records:
        s = self._settings
        return Records(
            signals=[SignalItem.model_validate(i) for i in self._scan(s.signals_table)],
            orders=[OrderItem.model_validate(i) for i in self._scan(s.orders_table)],
            fills=[FillItem.model_validate(i) for i in self._scan(s.fills_table)],
        )


def _side(text: str) -> Side:
    return Side.BUY if text.lower() == "buy" else Side.SELL


def fills_from_records(records: Records) -> list[Fill]:
    """Analytics fills from the records (see the module docstring), oldest first."""
    orders = {o.client_order_id: o for o in records.orders}
    signals = {s.signal_id: s for s in records.signals}
    out: list[Fill] = []
    covered: dict[str, Decimal] = {}
    for item in records.fills:
        order = orders.get(item.client_order_id or "")
        side = _side(item.side)
        out.append(
            _fill(
                item.mode,
                item.symbol,
                side,
                item.qty,
                item.price,
                item.at,
                item.execution_id,
                order,
                signals,
                item.signal_id,
            )
        )
        if order is not None and order.side is side:
            covered[order.client_order_id] = covered.get(order.client_order_id, ZERO) + item.qty
    for order in records.orders:
        missing = (order.filled_qty or ZERO) - covered.get(order.client_order_id, ZERO)
        if missing > 0 and order.filled_avg_price is not None:
            at = order.filled_at or order.updated_at
            out.append(
                _fill(
                    order.mode.value,
                    order.symbol,
                    order.side,
                    missing,
                    order.filled_avg_price,
                    at,
                    f"{order.client_order_id}#order",
                    order,
                    signals,
                    order.signal_id,
                )
            )
    out.sort(key=lambda f: (f.at, f.execution_id))
    return out


def _fill(
    mode: str,
    ticker: str,
    side: Side,
    qty: Decimal,
    price: Decimal,
    at: datetime,
    execution_id: str,
    order: OrderItem | None,
    signals: dict[str, SignalItem],
    signal_id: str | None,
) -> Fill:
    signal = signals.get(signal_id or (order.signal_id if order else ""))
    strategy = (order.strategy if order else None) or (signal.strategy if signal else None) or "unknown"
    opening = order is not None and order.purpose == "open" and order.side is side
    order_key = (
        ""
        if order is None
        else order.client_order_id
        if order.side is side
        else f"{order.client_order_id}:leg"
    )
    return Fill(
        at=at,
        mode=mode,
        strategy=strategy,
        ticker=ticker,
        side=side,
        qty=qty,
        price=price,
        order_id=order_key or execution_id,
        execution_id=execution_id,
        signal_id=signal.signal_id if signal else signal_id,
        stop=order.stop_loss if opening and order else None,
        target=order.take_profit if opening and order else None,
        planned_entry=(signal.entry_price if signal else None) if opening else None,
    )

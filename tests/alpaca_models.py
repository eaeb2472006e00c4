"""alpaca-py's Order model as our BrokerOrder, field by field as the adapter read it before it read Alpaca's
JSON itself: the reference the raw-answer tests compare with, and the chaos run's independent view of the
broker's open orders."""

from __future__ import annotations

from decimal import Decimal

from alpaca.trading.models import Order

from tradepipe.ports.broker import BrokerOrder


def broker_order(order: Order, parent: str | None = None) -> BrokerOrder:
    return BrokerOrder(
        broker_order_id=str(order.id),
        client_order_id=order.client_order_id,
        status=str(order.status.value),
        qty=Decimal(str(order.qty or 0)),
        filled_qty=Decimal(str(order.filled_qty or 0)),
        filled_avg_price=None if order.filled_avg_price is None else Decimal(str(order.filled_avg_price)),
        submitted_at=order.submitted_at,
        filled_at=order.filled_at,
        symbol=order.symbol or "",
        side=str(getattr(order.side, "value", order.side) or ""),
        order_type=str(getattr(order.order_type, "value", order.order_type) or ""),
        parent_client_order_id=parent,
        stop_price=None if order.stop_price is None else Decimal(str(order.stop_price)),
        limit_price=None if order.limit_price is None else Decimal(str(order.limit_price)),
        legs=tuple(broker_order(leg, parent=order.client_order_id) for leg in order.legs or []),
        updated_at=order.updated_at,
    )

"""The body of `POST /v2/orders`, parsed and checked the way Alpaca checks it before looking at prices.

Parsed by hand rather than with a pydantic model so that every refusal reads like Alpaca's own
(`{"code": 40010001, "message": "qty must be > 0"}`), which is what callers branch on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from tradepipe.local.paper_broker.errors import invalid, unprocessable
from tradepipe.local.paper_broker.state import OrderClass, OrderType, Side, TimeInForce

MAX_CLIENT_ORDER_ID = 128
_E = TypeVar("_E", bound=StrEnum)


@dataclass(frozen=True)
class TakeProfit:
    limit_price: Decimal


@dataclass(frozen=True)
class StopLoss:
    stop_price: Decimal
    limit_price: Decimal | None = None


@dataclass(frozen=True)
class NewOrder:
    symbol: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    order_class: OrderClass
    qty: Decimal | None
    notional: Decimal | None
    limit_price: Decimal | None
    stop_price: Decimal | None
    client_order_id: str | None
    extended_hours: bool
    take_profit: TakeProfit | None
    stop_loss: StopLoss | None
    position_intent: str | None

    @property
    def is_fractional(self) -> bool:
        whole = self.qty is None or self.qty == self.qty.to_integral_value()
        return self.notional is not None or not whole


def decimal_field(body: Mapping[str, Any], name: str, label: str | None = None) -> Decimal | None:
    """A number sent as JSON number or string (alpaca-py sends floats; Alpaca's own docs use strings)."""
    raw = body.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise invalid(f"invalid {label or name}")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise invalid(f"invalid {label or name}") from None
    if not value.is_finite():
        raise invalid(f"invalid {label or name}")
    return value


def _enum(body: Mapping[str, Any], name: str, enum: type[_E], default: _E | None = None) -> _E:
    raw = body.get(name)
    if raw is None or raw == "":
        if default is None:
            raise invalid(f"{name} is required")
        return default
    try:
        return enum(str(raw).lower())
    except ValueError:
        raise invalid(f"invalid {name}: {raw}") from None


def _take_profit(body: Mapping[str, Any]) -> TakeProfit | None:
    raw = body.get("take_profit")
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise invalid("invalid take_profit")
    price = decimal_field(raw, "limit_price", "take_profit.limit_price")
    if price is None:
        raise unprocessable("take_profit.limit_price is required")
    _check_positive("take_profit.limit_price", price)
    return TakeProfit(price)


def _stop_loss(body: Mapping[str, Any]) -> StopLoss | None:
    raw = body.get("stop_loss")
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise invalid("invalid stop_loss")
    stop = decimal_field(raw, "stop_price", "stop_loss.stop_price")
    if stop is None:
        raise unprocessable("stop_loss.stop_price is required")
    _check_positive("stop_loss.stop_price", stop)
    limit = decimal_field(raw, "limit_price", "stop_loss.limit_price")
    if limit is not None:
        _check_positive("stop_loss.limit_price", limit)
    return StopLoss(stop, limit)


def _check_positive(name: str, price: Decimal) -> None:
    # A leg price of 0 or below would pass the side checks of a long's stop: Alpaca refuses it outright.
    if price <= 0:
        raise invalid(f"{name} must be > 0")


def _client_order_id(body: Mapping[str, Any]) -> str | None:
    raw = body.get("client_order_id")
    if raw is None or raw == "":
        return None
    text = str(raw)
    if len(text) > MAX_CLIENT_ORDER_ID:
        raise invalid(f"client_order_id must be no more than {MAX_CLIENT_ORDER_ID} characters")
    return text


def parse_new_order(body: Any) -> NewOrder:
    """Parse and check the fields on their own; rules that need prices or positions come later."""
    if not isinstance(body, Mapping):
        raise invalid("request body must be a JSON object")
    symbol = str(body.get("symbol") or "").strip().upper()
    if not symbol:
        raise invalid("symbol is required")
    order = NewOrder(
        symbol=symbol,
        side=_enum(body, "side", Side),
        type=_enum(body, "type", OrderType),
        time_in_force=_enum(body, "time_in_force", TimeInForce),
        order_class=_enum(body, "order_class", OrderClass, OrderClass.SIMPLE),
        qty=decimal_field(body, "qty"),
        notional=decimal_field(body, "notional"),
        limit_price=decimal_field(body, "limit_price"),
        stop_price=decimal_field(body, "stop_price"),
        client_order_id=_client_order_id(body),
        extended_hours=bool(body.get("extended_hours") or False),
        take_profit=_take_profit(body),
        stop_loss=_stop_loss(body),
        position_intent=None if body.get("position_intent") is None else str(body["position_intent"]),
    )
    check_shape(order)
    return order


def check_shape(order: NewOrder) -> None:
    """Field combinations Alpaca refuses whatever the market does."""
    _check_quantity(order)
    _check_prices_present(order)
    _check_order_class(order)
    day_limit = order.type is OrderType.LIMIT and order.time_in_force is TimeInForce.DAY
    if order.extended_hours and not day_limit:
        raise unprocessable("extended hours order must be DAY limit orders")


def _check_quantity(order: NewOrder) -> None:
    if order.qty is None and order.notional is None:
        raise invalid("qty or notional is required")
    if order.qty is not None and order.notional is not None:
        raise invalid("only one of qty or notional can be specified")
    if order.qty is not None and order.qty <= 0:
        raise invalid("qty must be > 0")
    if order.notional is not None and order.notional <= 0:
        raise invalid("notional must be > 0")
    if order.notional is not None and order.type is not OrderType.MARKET:
        raise invalid("notional orders must be market orders")
    simple_day = order.order_class is OrderClass.SIMPLE and order.time_in_force is TimeInForce.DAY
    if order.is_fractional and not simple_day:
        raise unprocessable("fractional orders must be simple orders with time_in_force day")


def _check_prices_present(order: NewOrder) -> None:
    # An OCO's limit price is its take_profit.limit_price.
    limit_type = order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_limit = limit_type and order.order_class is not OrderClass.OCO
    if needs_limit and order.limit_price is None:
        raise invalid("limit_price is required")
    if order.type in (OrderType.STOP, OrderType.STOP_LIMIT) and order.stop_price is None:
        raise invalid("stop_price is required")
    if order.type is OrderType.MARKET and (order.limit_price is not None or order.stop_price is not None):
        raise invalid("market orders take neither limit_price nor stop_price")
    for name, value in (("limit_price", order.limit_price), ("stop_price", order.stop_price)):
        if value is not None and value <= 0:
            raise invalid(f"{name} must be > 0")


def _check_order_class(order: NewOrder) -> None:
    cls = order.order_class
    if cls is OrderClass.SIMPLE:
        return
    if order.time_in_force not in (TimeInForce.DAY, TimeInForce.GTC):
        raise unprocessable(f"{cls.value} orders must be day or gtc")
    if cls in (OrderClass.BRACKET, OrderClass.OCO):
        if order.take_profit is None:
            raise unprocessable(f"{cls.value} orders require take_profit.limit_price")
        if order.stop_loss is None:
            raise unprocessable(f"{cls.value} orders require stop_loss.stop_price")
    if cls is OrderClass.OTO and (order.take_profit is None) == (order.stop_loss is None):
        raise unprocessable("oto orders require exactly one of take_profit or stop_loss")
    if cls is OrderClass.OCO and order.type is not OrderType.LIMIT:
        raise unprocessable("oco orders must be limit orders")


@dataclass(frozen=True)
class Replacement:
    """`PATCH /v2/orders/{id}`: the fields Alpaca lets a replacement change (docs: Replace an order)."""

    qty: Decimal | None
    time_in_force: TimeInForce | None
    limit_price: Decimal | None
    stop_price: Decimal | None
    client_order_id: str | None


def parse_replacement(body: Any) -> Replacement:
    if not isinstance(body, Mapping):
        raise invalid("request body must be a JSON object")
    unknown = set(body) - {"qty", "time_in_force", "limit_price", "stop_price", "trail", "client_order_id"}
    if unknown:
        raise invalid(f"unexpected fields: {', '.join(sorted(unknown))}")
    if body.get("trail") is not None:
        raise unprocessable("trail applies to trailing_stop orders, which this broker does not take")
    tif = body.get("time_in_force")
    replacement = Replacement(
        qty=decimal_field(body, "qty"),
        time_in_force=None if tif in (None, "") else _enum(body, "time_in_force", TimeInForce),
        limit_price=decimal_field(body, "limit_price"),
        stop_price=decimal_field(body, "stop_price"),
        client_order_id=_client_order_id(body),
    )
    if all(
        v is None
        for v in (
            replacement.qty,
            replacement.time_in_force,
            replacement.limit_price,
            replacement.stop_price,
            replacement.client_order_id,
        )
    ):
        raise invalid("nothing to replace")
    if replacement.qty is not None and (
        replacement.qty <= 0 or replacement.qty != replacement.qty.to_integral_value()
    ):
        raise invalid("qty must be a whole number > 0")
    for name, value in (("limit_price", replacement.limit_price), ("stop_price", replacement.stop_price)):
        if value is not None:
            _check_positive(name, value)
            check_price_increment(name, value)
    return replacement


def check_price_increment(name: str, price: Decimal) -> None:
    """Alpaca refuses sub-penny prices: 2 decimals at $1.00 and above, 4 below."""
    places = 2 if price >= 1 else 4
    if price != price.quantize(Decimal(1).scaleb(-places)):
        raise unprocessable(
            f"invalid {name} {price}. sub-penny increment does not fulfill minimum pricing criteria"
        )


def all_prices(order: NewOrder) -> list[tuple[str, Decimal]]:
    candidates: list[tuple[str, Decimal | None]] = [
        ("limit_price", order.limit_price),
        ("stop_price", order.stop_price),
    ]
    if order.take_profit is not None:
        candidates.append(("take_profit.limit_price", order.take_profit.limit_price))
    if order.stop_loss is not None:
        candidates.append(("stop_loss.stop_price", order.stop_loss.stop_price))
        candidates.append(("stop_loss.limit_price", order.stop_loss.limit_price))
    out: list[tuple[str, Decimal]] = []
    for name, value in candidates:
        if value is not None:
            out.append((name, value))
    return out


def check_increments(order: NewOrder) -> None:
    for name, value in all_prices(order):
        check_price_increment(name, value)

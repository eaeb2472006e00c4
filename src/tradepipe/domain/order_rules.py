"""Alpaca's order rules, checked before sending, so the broker never rejects what we could have known.

From Alpaca's order documentation: bracket and OTO entries are market or limit orders; a take-profit must
be at least $0.01 above (buy) / below (sell) the base price and a stop at least $0.01 on the other side;
fractional quantities only as simple day orders (no bracket, no OTO); prices on the tick grid (cents at or
above $1, 1/100 cent below); a quantity above zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from tradepipe.domain.exits import tick_for
from tradepipe.domain.model import OrderType, Rejected, RejectReason, Side

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class EntryOrder:
    """An entry as Alpaca will receive it: what its order rules are about."""

    side: Side | None
    qty: Decimal
    order_type: OrderType
    time_in_force: Literal["day", "gtc"]
    limit_price: Decimal | None = None
    reference_price: Decimal | None = None  # what the risk stage sized from: a market entry's leg base
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    stop_limit_price: Decimal | None = None  # a stop-limit leg's limit


def validate_order(intent: EntryOrder) -> Rejected | None:
    return _check_quantity(intent) or _check_prices(intent) or _check_legs(intent)


def _has_legs(intent: EntryOrder) -> bool:
    return intent.take_profit is not None or intent.stop_loss is not None


def _check_quantity(intent: EntryOrder) -> Rejected | None:
    qty = intent.qty
    if qty <= 0:
        return _bad(f"qty must be above zero, got {qty}")
    if qty == qty.to_integral_value():
        return None
    if _has_legs(intent):
        return _bad(f"fractional qty {qty} cannot carry exit legs (bracket / OTO)")
    if intent.time_in_force != "day":
        return _bad(f"fractional qty {qty} must be a day order, not {intent.time_in_force}")
    return None


def _check_prices(intent: EntryOrder) -> Rejected | None:
    if intent.order_type is OrderType.LIMIT and intent.limit_price is None:
        return _bad("a limit order needs a limit price")
    for name, price in (
        ("limit", intent.limit_price),
        ("take_profit", intent.take_profit),
        ("stop_loss", intent.stop_loss),
        ("stop_loss.limit_price", intent.stop_limit_price),
    ):
        if price is not None and price != price.quantize(tick_for(price)):
            return _bad(f"{name} {price} is off the tick grid ({tick_for(price)})")
    return None


def _check_legs(intent: EntryOrder) -> Rejected | None:
    base = intent.limit_price if intent.order_type is OrderType.LIMIT else intent.reference_price
    if base is None:
        return None
    long = intent.side is Side.BUY
    if intent.take_profit is not None:
        gap = intent.take_profit - base if long else base - intent.take_profit
        if gap < _CENT:
            return _bad(f"take_profit {intent.take_profit} must be >= $0.01 beyond base price {base}")
    if intent.stop_loss is not None:
        gap = base - intent.stop_loss if long else intent.stop_loss - base
        if gap < _CENT:
            return _bad(f"stop_loss {intent.stop_loss} must be >= $0.01 away from base price {base}")
    return _check_stop_limit(intent, long)


def _check_stop_limit(intent: EntryOrder, long: bool) -> Rejected | None:
    """A stop-limit leg's limit sits at or beyond its stop, away from the entry: the stop triggers, then
    the limit bounds the fill (a limit on the entry's side of the stop would never fill once it triggered)."""
    limit, stop = intent.stop_limit_price, intent.stop_loss
    if limit is None:
        return None
    if stop is None:
        return _bad("stop_loss.limit_price needs a stop_loss")
    if (long and limit > stop) or (not long and limit < stop):
        word = "at or below" if long else "at or above"
        return _bad(f"stop_loss.limit_price {limit} must be {word} stop_loss {stop}")
    return None


def _bad(detail: str) -> Rejected:
    return Rejected(RejectReason.ORDER_INVALID, detail)

"""When an order executes against a price move, and at what price.

A move is a `Tick`: a daily bar (open, high, low) when the feed advances, or a single price (all three
equal) when a test sets one. Fills follow the usual daily-bar conventions: an order the open already
crosses fills at the open (a gap gives no better price than the market did); otherwise an order whose
price lies within the bar's range fills at its own price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradepipe.local.paper_broker.market_data import DailyBar
from tradepipe.local.paper_broker.state import Order, OrderType, Side


@dataclass(frozen=True)
class Tick:
    open: Decimal
    high: Decimal
    low: Decimal

    @classmethod
    def at(cls, price: Decimal) -> Tick:
        return cls(price, price, price)

    @classmethod
    def of(cls, bar: DailyBar) -> Tick:
        return cls(bar.open, bar.high, bar.low)


@dataclass(frozen=True)
class Match:
    fill_price: Decimal | None
    stop_triggered: bool = False


def limit_fill(side: Side, limit: Decimal, tick: Tick) -> Decimal | None:
    if side is Side.BUY:
        if tick.open <= limit:
            return tick.open
        return limit if tick.low <= limit else None
    if tick.open >= limit:
        return tick.open
    return limit if tick.high >= limit else None


def stop_trigger(side: Side, stop: Decimal, tick: Tick) -> Decimal | None:
    """The price at which a stop turns into a market order, or None if the move does not reach it."""
    if side is Side.BUY:
        if tick.open >= stop:
            return tick.open
        return stop if tick.high >= stop else None
    if tick.open <= stop:
        return tick.open
    return stop if tick.low <= stop else None


def match(order: Order, tick: Tick, session_open: bool = True) -> Match:
    """What `tick` does to `order`: a fill price, a stop that turned into a limit, or nothing."""
    if order.type is OrderType.MARKET:
        return Match(tick.open if session_open else None)
    if order.type is OrderType.LIMIT:
        return Match(limit_fill(order.side, _required(order.limit_price), tick))
    if order.type is OrderType.STOP:
        return Match(stop_trigger(order.side, _required(order.stop_price), tick))
    return _match_stop_limit(order, tick)


def _match_stop_limit(order: Order, tick: Tick) -> Match:
    limit = _required(order.limit_price)
    if order.stop_triggered:
        return Match(limit_fill(order.side, limit, tick), stop_triggered=True)
    triggered_at = stop_trigger(order.side, _required(order.stop_price), tick)
    if triggered_at is None:
        return Match(None)
    # From the trigger on, it is a limit order for the rest of the move.
    rest = Tick(triggered_at, max(tick.high, triggered_at), min(tick.low, triggered_at))
    return Match(limit_fill(order.side, limit, rest), stop_triggered=True)


def _required(price: Decimal | None) -> Decimal:
    # Acceptance guarantees the price an order type needs; a missing one is a broker bug, not bad input.
    if price is None:
        raise RuntimeError("order is missing the price its type requires")
    return price

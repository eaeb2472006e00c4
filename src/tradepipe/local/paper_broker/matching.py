"""When an order executes against a price move, and at what price.

A move is a `Bar` of trade prints: a daily bar when the feed advances, or one price (open = high = low)
when a test sets it or an order arrives. Which orders a bar reaches follows the shared daily-bar rules
(`tradepipe.domain.daily_bar_fills`); the paper broker adds its quote:

- a market order, or a stop once elected, trades at the far side of the quote: the ask for a buy, the
  bid for a sell (a stop is elected on the print: docs "Orders at Alpaca", Order Handling Standards:
  "Your sell stop order will only elect if there is a trade on the consolidated tape at or lower than
  your stop price");
- a limit order trades when its side of the quote reaches the limit (a buy limit when the ask is at or
  below it), at the limit or better.

With a zero spread (the `instant` behaviour) these are exactly the daily-bar rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from tradepipe.domain import daily_bar_fills as bars
from tradepipe.domain.daily_bar_fills import Bar
from tradepipe.domain.model import Side as DomainSide
from tradepipe.local.paper_broker.quotes import Quote
from tradepipe.local.paper_broker.state import Order, OrderType, Side


@dataclass(frozen=True)
class Match:
    fill_price: Decimal | None
    stop_triggered: bool = False
    at_open: bool = False  # the fill is at the bar's open (a gap): it wins an exit pair's tie


def _side(side: Side) -> DomainSide:
    return DomainSide.BUY if side is Side.BUY else DomainSide.SELL


def _shifted(bar: Bar, by: Decimal) -> Bar:
    return Bar(bar.open + by, bar.high + by, bar.low + by)


def match(order: Order, bar: Bar, quote_of: Callable[[Decimal], Quote]) -> Match:
    """What `bar` does to `order`. `quote_of(price)` is the quote around a print."""
    shift = quote_of(bar.open).shift_for(order.side)
    side = _side(order.side)
    if order.type is OrderType.MARKET:
        return Match(bar.open + shift, at_open=True)
    if order.type is OrderType.LIMIT:
        quoted = _shifted(bar, shift)
        price = bars.limit_fill(side, _required(order.limit_price), quoted)
        return Match(price, at_open=price is not None and price == quoted.open)
    if order.type is OrderType.STOP:
        trigger = bars.stop_trigger(side, _required(order.stop_price), bar)
        if trigger is None:
            return Match(None)
        return Match(trigger + shift, stop_triggered=True, at_open=trigger == bar.open)
    return _match_stop_limit(order, side, bar, shift)


def _match_stop_limit(order: Order, side: DomainSide, bar: Bar, shift: Decimal) -> Match:
    limit = _required(order.limit_price)
    if order.stop_triggered:
        quoted = _shifted(bar, shift)
        price = bars.limit_fill(side, limit, quoted)
        return Match(price, stop_triggered=True, at_open=price is not None and price == quoted.open)
    trigger = bars.stop_trigger(side, _required(order.stop_price), bar)
    if trigger is None:
        return Match(None)
    # From the election on it is a limit order for the rest of the bar.
    rest = _shifted(Bar(trigger, max(bar.high, trigger), min(bar.low, trigger)), shift)
    price = bars.limit_fill(side, limit, rest)
    return Match(price, stop_triggered=True, at_open=price is not None and trigger == bar.open)


def _required(price: Decimal | None) -> Decimal:
    # Acceptance guarantees the price an order type needs; a missing one is a broker bug, not bad input.
    if price is None:
        raise RuntimeError("order is missing the price its type requires")
    return price

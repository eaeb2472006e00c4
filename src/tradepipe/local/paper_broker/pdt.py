"""Pattern-day-trader protection as Alpaca applies it (docs "User Protection", Pattern Day Trader (PDT)
Protection at Alpaca; alpacahq/alpaca-docs content/trading/user-protections.md):

- "A day trade is defined as a round-trip pair of trades within the same day": an opening fill closed
  later the same day (a buy then a sell for a long; a short sale then a buy to cover). FINRA's examples
  count buy 250, buy 250, sell 500 as one day trade and buy, sell, buy, sell as two: here a closing fill
  counts one day trade when the symbol has an opening fill that day not yet matched by one.
- Alpaca "rejects a newly submitted order ... if it could potentially result in the account being
  flagged for PDT" (4 day trades in 5 business days) with 403, and only "when the previous day's closing
  account equity is less than $25,000". Pending orders count: "a pair of buy and sell orders is counted
  as a potential day trade", so an order is a potential day trade when it would close a position opened
  today, when an opposite-side order of the symbol is open, or when it carries its own exit legs.
- The message and code are what Alpaca sends ("trade denied due to pattern day trading protection",
  40310100: forum and client libraries that handle it, e.g. bennycode/trading-signals#1366).

Alpaca retired the rule with FINRA's intraday margin standards (its changelog: PDT fields removed on
2026-07-06); the check is a behaviour setting (`pattern_day_trader_check`) so it can follow.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from tradepipe.local.paper_broker.errors import BrokerError
from tradepipe.local.paper_broker.state import BrokerState, DayTrade, Order, Side

PDT_EQUITY_THRESHOLD = Decimal(25_000)
MAX_DAY_TRADES = 3  # in the window; the 4th would flag the account
WINDOW_BUSINESS_DAYS = 5
CODE_PDT = 40310100


def record_fill(state: BrokerState, symbol: str, position_before: Decimal, delta: Decimal, day: date) -> None:
    """Keep the day-trade ledger for a fill of signed quantity `delta` on a position of `position_before`."""
    closing = position_before != 0 and (position_before > 0) != (delta > 0)
    if closing:
        if state.opened_on.get(symbol) == day:
            state.day_trades.append(DayTrade(day, symbol))
            del state.opened_on[symbol]
        if abs(delta) > abs(position_before):  # through zero: the rest opens the other way
            state.opened_on[symbol] = day
        return
    state.opened_on[symbol] = day


def day_trades_in(state: BrokerState, window: Iterable[date]) -> int:
    days = set(window)
    return sum(1 for trade in state.day_trades if trade.day in days)


def check(
    state: BrokerState,
    *,
    side: Side,
    symbol: str,
    position_qty: Decimal,
    has_exit_legs: bool,
    open_orders: Iterable[Order],
    today: date,
    window: list[date],
) -> None:
    if state.account.last_equity >= PDT_EQUITY_THRESHOLD:
        return
    if day_trades_in(state, window) < MAX_DAY_TRADES:
        return
    # Pending orders pair up in any order ("orders that are active (pending) in the marketplace may fill in
    # random orders"); a bracket or OTO pairs with its own exit legs.
    reduces = position_qty != 0 and (position_qty > 0) != (side is Side.BUY)
    closes_todays_open = reduces and state.opened_on.get(symbol) == today
    pairs_with_open = any(
        o.symbol == symbol and o.side is not side and not o.awaiting_parent for o in open_orders
    )
    if has_exit_legs or closes_todays_open or pairs_with_open:
        raise BrokerError(403, CODE_PDT, "trade denied due to pattern day trading protection")

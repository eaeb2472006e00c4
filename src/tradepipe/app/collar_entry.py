"""A collared entry priced against the latest quote just before it is sent (issue 19).

The risk stage sized the entry at the alert's price and set its marketable limit (the price +/- the profile's
collar). Between the alert and the executor the market moves, so the executor reads Alpaca's latest quote
(market data, `GET /v2/stocks/quotes/latest`: its own rate limit, not the trading API's 200 requests a
minute, so it is not counted in the account's request budget) and `domain/collar.py::size_against_quote`
re-sizes it: within the budget at the quote and within budget x (1 + tolerance) should it fill at the
limit; never more than sized. A quote already past the limit (the ask above a buy's limit, the bid below a
sell's) is refused QUOTE_BEYOND_COLLAR before any broker call: the order could only rest, and the trader
never pays beyond the collar. No quote (no data, keys missing): the entry is sized against its limit, the
worst price it can fill at.
"""

from __future__ import annotations

from decimal import Decimal

from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.collar import Sized, size_against_quote
from tradepipe.domain.model import Rejected, RejectReason, Side
from tradepipe.ports.quotes import Quotes

_HUNDRED = Decimal(100)


def price_entry(intent: OrderIntent, quotes: Quotes | None) -> OrderIntent | Rejected:
    """The intent to send (re-sized when the quote calls for it), or why it must not be sent."""
    if intent.entry_timeout_s is None or intent.limit_price is None or intent.qty is None:
        return intent  # not collared: a market entry, or a limit the alert set itself
    side, limit = intent.side or Side.BUY, intent.limit_price
    quote = None if quotes is None else quotes.latest_quote(intent.symbol)
    price = limit if quote is None else (quote.ask if side is Side.BUY else quote.bid)
    stop = intent.stop_limit_price or intent.stop_loss
    if stop is None or intent.risk_budget is None:
        beyond = price > limit if side is Side.BUY else price < limit
        if beyond:
            return Rejected(RejectReason.QUOTE_BEYOND_COLLAR, f"quote {price} is past the limit {limit}")
        return intent  # no stop: the limit alone bounds the price
    tolerance = (intent.risk_tolerance_pct or Decimal(0)) / _HUNDRED
    sized = size_against_quote(side, intent.qty, stop, intent.risk_budget, price, limit, tolerance)
    if not isinstance(sized, Sized):
        return sized
    if sized.qty == intent.qty:
        return intent
    return intent.model_copy(update={"qty": sized.qty})

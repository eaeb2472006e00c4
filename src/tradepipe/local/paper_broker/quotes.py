"""Bid and ask around the last price: what a market order pays and what bracket legs are measured from.

The spread is `spread_bps` of the last price, each side at least one cent and rounded out to the cent:
bid = floor(last - half), ask = ceil(last + half). With 2 bp, AAPL at 430.47 quotes 430.42 / 430.52 and
MSFT at 27.95 quotes 27.94 / 27.96. A spread of 0 quotes bid = ask = last (the `instant` behaviour).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from tradepipe.local.paper_broker.state import Side

CENT = Decimal("0.01")
_BPS = Decimal(10_000)


@dataclass(frozen=True)
class Quote:
    bid: Decimal
    ask: Decimal
    last: Decimal

    def paid_by(self, side: Side) -> Decimal:
        """The price a marketable order of `side` trades at: a buy lifts the ask, a sell hits the bid."""
        return self.ask if side is Side.BUY else self.bid

    def shift_for(self, side: Side) -> Decimal:
        """How far `side`'s quote sits from the last price (positive for a buy)."""
        return self.ask - self.last if side is Side.BUY else self.bid - self.last


def quote(last: Decimal, spread_bps: Decimal) -> Quote:
    if spread_bps <= 0:
        return Quote(last, last, last)
    half = max(CENT, last * spread_bps / _BPS / 2)
    bid = (last - half).quantize(CENT, rounding=ROUND_FLOOR)
    ask = (last + half).quantize(CENT, rounding=ROUND_CEILING)
    return Quote(max(bid, CENT), ask, last)

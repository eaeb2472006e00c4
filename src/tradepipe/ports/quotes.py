"""The latest quote (Alpaca's market-data API): what the executor re-sizes a collared entry against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class QuoteView:
    bid: Decimal
    ask: Decimal
    at: datetime


class Quotes(Protocol):
    def latest_quote(self, symbol: str) -> QuoteView | None:
        """The symbol's latest NBBO quote; None when the feed has none (or a side is empty). Market data:
        its own rate limit, not the trading API's request budget."""
        ...

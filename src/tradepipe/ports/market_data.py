"""Daily bars (Alpaca's market-data API): the risk stage's ATR and latest price."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class DailyBar:
    t: datetime
    o: Decimal
    h: Decimal
    l: Decimal  # noqa: E741 - OHLC's conventional name
    c: Decimal
    v: Decimal


class MarketData(Protocol):
    def daily_bars(self, symbol: str, limit: int) -> Sequence[DailyBar]:
        """The most recent `limit` daily bars, oldest first (Alpaca's market-data API)."""
        ...

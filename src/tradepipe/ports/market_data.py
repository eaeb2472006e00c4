"""Bars (Alpaca's market-data API): the risk stage's ATR and latest price, on the alert's timeframe."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class DailyBar:
    """One OHLCV bar: a day's, or (from `MarketData.bars`) one of the alert's timeframe."""

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

    def bars(self, symbol: str, timeframe: str, limit: int) -> Sequence[DailyBar]:
        """The most recent `limit` bars of TradingView's `timeframe` (`5`, `60`, `1H`, `D`...), oldest first:
        minute bars up to 59 minutes, hour bars up to 23 hours, else daily (Alpaca's data API). Cached per
        symbol and timeframe for one bar's length, so repeated alerts cost little of the request budget."""
        ...

"""The market's calendar: which days trade and when their regular session opens and closes (Alpaca
`GET /v2/calendar`), for rules that count *market* time (the silent-pipeline check)."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from tradepipe.domain.silence import MarketSession


class MarketCalendar(Protocol):
    def sessions(self, start: date, end: date) -> list[MarketSession]:
        """The regular sessions of the trading days from `start` to `end` inclusive (early closes as such,
        holidays absent), as aware datetimes, oldest first."""
        ...

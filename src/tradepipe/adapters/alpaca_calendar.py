"""The market calendar from Alpaca's Trading API through alpaca-py (`TradingClient.get_calendar`).

Alpaca answers each trading day's regular session as New York wall-clock times (`{"date": "2024-07-03",
"open": "09:30", "close": "13:00", ...}`), "taking into account early closures" (alpaca-py,
`TradingClient.get_calendar`'s docstring); alpaca-py's `Calendar` model turns them into naive datetimes on
that date (`alpaca/trading/models.py`, `Calendar.__init__`: `strptime(date + " " + open, "%Y-%m-%d %H:%M")`),
which `sessions_from_calendar` localizes. Early closes and holidays come from Alpaca, not from a table of
ours. The local paper broker
serves the same route from its NYSE calendar (local/paper_broker/market_clock.py).

A day's sessions never change: one request per range, kept for the process (the silence check asks every
minute for the same week until the date moves).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from zoneinfo import ZoneInfo

import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.models import Calendar
from alpaca.trading.requests import GetCalendarRequest

from tradepipe.adapters.http import TimeoutSession
from tradepipe.domain.silence import MarketSession, sessions_from_calendar
from tradepipe.ports.broker import BrokerUnavailable

NEW_YORK = ZoneInfo("America/New_York")  # the zone Alpaca's calendar times are in


class AlpacaCalendar:
    def __init__(
        self, api_key: str, secret_key: str, *, paper: bool = True, url_override: str | None = None,
        timeout_s: float = 5.0, before_request: Callable[[], None] | None = None,
    ) -> None:  # fmt: skip
        self._client = TradingClient(api_key, secret_key, paper=paper, url_override=url_override)
        self._client._retry = 0  # a missed minute is retried by the next one, not by sleeping here
        # The calendar is a trading-API call: it takes from the account's request budget like every other.
        self._client._session = TimeoutSession(timeout_s, before_request)
        self._lock = threading.Lock()
        self._cached: tuple[date, date, list[MarketSession]] | None = None

    def sessions(self, start: date, end: date) -> list[MarketSession]:
        with self._lock:
            if self._cached is not None and self._cached[:2] == (start, end):
                return list(self._cached[2])
        try:
            days = self._client.get_calendar(GetCalendarRequest(start=start, end=end))
        except (APIError, requests.RequestException) as exc:
            # Whatever the answer (429, 5xx, no answer, bad keys), the check waits for the next minute.
            raise BrokerUnavailable(f"calendar: {type(exc).__name__}") from None
        if not isinstance(days, list):
            raise TypeError(f"unexpected alpaca-py result {type(days).__name__}")
        sessions = sessions_from_calendar(
            ((day.open, day.close) for day in days if isinstance(day, Calendar)), NEW_YORK
        )
        sessions.sort(key=lambda s: s.open)
        with self._lock:
            self._cached = (start, end, sessions)
        return list(sessions)

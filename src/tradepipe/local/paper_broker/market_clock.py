"""The answers to `GET /v2/clock` and `GET /v2/calendar`: NYSE regular hours, or a market that never closes.

Regular hours are weekdays 09:30-16:00 New York time. Exchange holidays and early closes are not modelled:
local runs need "is it open" to be predictable, not a holiday table to maintain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
OPEN_TIME = time(9, 30)
CLOSE_TIME = time(16, 0)


def utc_now() -> datetime:
    return datetime.now(UTC)


def is_trading_day(day: date) -> bool:
    return day.weekday() < 5


@dataclass(frozen=True)
class MarketClock:
    """`always_open` (the local default) answers "open" at any hour, so a demo at night still fills;
    otherwise the regular-hours rule decides."""

    always_open: bool = True
    now: Callable[[], datetime] = field(default=utc_now)

    def is_open(self, moment: datetime | None = None) -> bool:
        if self.always_open:
            return True
        local = (moment or self.now()).astimezone(NEW_YORK)
        return is_trading_day(local.date()) and OPEN_TIME <= local.time() < CLOSE_TIME

    def next_open(self, moment: datetime) -> datetime:
        """The first regular-session open strictly after `moment`."""
        local = moment.astimezone(NEW_YORK)
        day = local.date()
        while True:
            candidate = datetime.combine(day, OPEN_TIME, NEW_YORK)
            if is_trading_day(day) and candidate > local:
                return candidate
            day += timedelta(days=1)

    def next_close(self, moment: datetime) -> datetime:
        """The first regular-session close strictly after `moment`."""
        local = moment.astimezone(NEW_YORK)
        day = local.date()
        while True:
            candidate = datetime.combine(day, CLOSE_TIME, NEW_YORK)
            if is_trading_day(day) and candidate > local:
                return candidate
            day += timedelta(days=1)

    def snapshot(self) -> dict[str, Any]:
        moment = self.now()
        return {
            "timestamp": moment.astimezone(NEW_YORK).isoformat(),
            "is_open": self.is_open(moment),
            "next_open": self.next_open(moment).isoformat(),
            "next_close": self.next_close(moment).isoformat(),
        }

    def calendar(self, start: date | None, end: date | None) -> list[dict[str, str]]:
        """Trading days from start to end inclusive (default: today and the next 30 days)."""
        first = start or self.now().astimezone(NEW_YORK).date()
        last = end or first + timedelta(days=30)
        days: list[dict[str, str]] = []
        day = first
        while day <= last:
            if is_trading_day(day):
                days.append(
                    {
                        "date": day.isoformat(),
                        "open": OPEN_TIME.strftime("%H:%M"),
                        "close": CLOSE_TIME.strftime("%H:%M"),
                        "session_open": "0400",
                        "session_close": "2000",
                        "settlement_date": _settlement(day).isoformat(),
                    }
                )
            day += timedelta(days=1)
        return days


def _settlement(day: date) -> date:
    """T+1 on trading days."""
    settle = day + timedelta(days=1)
    while not is_trading_day(settle):
        settle += timedelta(days=1)
    return settle

"""The pipeline-silent rule: no alert for N *market* minutes.

Only minutes inside a regular session count, so a quiet night, weekend or holiday never looks like a broken
pipeline, and a half day counts only its shorter session. The calendar view comes from the broker: Alpaca's
`GET /v2/calendar` answers each trading day's `open` and `close` as New York wall-clock times ("09:30",
"16:00"; alpaca-py's `Calendar` model turns them into naive datetimes), so the caller localizes them with
`sessions_from_calendar` before asking.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo


@dataclass(frozen=True)
class MarketSession:
    """One regular session, as aware datetimes."""

    open: datetime
    close: datetime


@dataclass(frozen=True)
class Silence:
    """The pipeline is silent: `market_minutes` of open market since `since` (None: no alert in view)."""

    since: datetime | None
    market_minutes: int


def sessions_from_calendar(
    days: Iterable[tuple[datetime, datetime]], market_tz: tzinfo
) -> list[MarketSession]:
    """Sessions from the broker's calendar: (open, close) naive wall-clock times in the market's zone."""
    return [MarketSession(o.replace(tzinfo=market_tz), c.replace(tzinfo=market_tz)) for o, c in days]


def market_minutes_between(start: datetime, end: datetime, sessions: Sequence[MarketSession]) -> int:
    """Whole minutes in [start, end) during which the market was open."""
    seconds = 0.0
    for session in sessions:
        overlap = (min(end, session.close) - max(start, session.open)).total_seconds()
        if overlap > 0:
            seconds += overlap
    return int(seconds // 60)


def check_silence(
    last_alert_at: datetime | None,
    now: datetime,
    sessions: Sequence[MarketSession],
    threshold_minutes: int,
) -> Silence | None:
    """Silent when at least `threshold_minutes` market minutes passed since the last alert. With no alert
    at all, the count starts at the first session in view (the caller chooses how far back that is)."""
    if threshold_minutes <= 0:
        return None  # switched off
    if last_alert_at is None:
        if not sessions:
            return None
        start = min(s.open for s in sessions)
    else:
        start = last_alert_at
    minutes = market_minutes_between(start, now, sessions)
    return Silence(since=last_alert_at, market_minutes=minutes) if minutes >= threshold_minutes else None

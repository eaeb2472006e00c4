"""NYSE trading days and session times, computed offline (nothing is downloaded).

Holidays follow NYSE Rule 7.2's observance rules (a Saturday holiday is taken the Friday before, a Sunday
one the Monday after; New Year's Day on a Saturday is not made up). One-off closures (national days of
mourning, weather) are the bundled table `SPECIAL_CLOSURES`; early closes (13:00) are the day before
Independence Day and Christmas Eve when they fall Monday to Thursday, and the day after Thanksgiving.
Checked against NYSE's published calendars for 2024-2027 (tests/unit/test_nyse_calendar.py).
Regular session 09:30-16:00 New York time; extended hours 04:00-09:30 and 16:00-20:00 (17:00 after an
early close), as Alpaca trades them (docs "Orders at Alpaca", Extended Hours Trading).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
OPEN, CLOSE, EARLY_CLOSE = time(9, 30), time(16, 0), time(13, 0)
PRE_MARKET_OPEN, AFTER_HOURS_CLOSE, AFTER_HOURS_CLOSE_EARLY = time(4, 0), time(20, 0), time(17, 0)

SPECIAL_CLOSURES: frozenset[date] = frozenset(
    {
        date(2001, 9, 11),  # September 11
        date(2001, 9, 12),
        date(2001, 9, 13),
        date(2001, 9, 14),
        date(2004, 6, 11),  # President Reagan's funeral
        date(2007, 1, 2),  # President Ford's funeral
        date(2012, 10, 29),  # Hurricane Sandy
        date(2012, 10, 30),
        date(2018, 12, 5),  # President G. H. W. Bush's funeral
        date(2025, 1, 9),  # President Carter's funeral
    }
)


@dataclass(frozen=True)
class Session:
    day: date
    open: datetime
    close: datetime
    extended_open: datetime
    extended_close: datetime

    @property
    def early_close(self) -> bool:
        return self.close.time() == EARLY_CLOSE


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    last = (date(year, month + 1, 1) if month < 12 else date(year + 1, 1, 1)) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _observed(day: date) -> date:
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@lru_cache(maxsize=64)
def holidays(year: int) -> frozenset[date]:
    monday, thursday = 0, 3
    days = {
        _nth_weekday(year, 1, monday, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, monday, 3),  # Washington's Birthday
        _easter(year) - timedelta(days=2),  # Good Friday
        _last_weekday(year, 5, monday),  # Memorial Day
        _observed(date(year, 7, 4)),
        _nth_weekday(year, 9, monday, 1),  # Labor Day
        _nth_weekday(year, 11, thursday, 4),  # Thanksgiving
        _observed(date(year, 12, 25)),
    }
    new_year = date(year, 1, 1)
    if new_year.weekday() != 5:  # Rule 7.2: a Saturday New Year's Day is not observed on the Friday
        days.add(_observed(new_year))
    if year >= 2022:
        days.add(_observed(date(year, 6, 19)))  # Juneteenth
    return frozenset(days | {d for d in SPECIAL_CLOSURES if d.year == year})


def is_trading_day(day: date) -> bool:
    return day.weekday() < 5 and day not in holidays(day.year)


def is_early_close(day: date) -> bool:
    if not is_trading_day(day):
        return False
    thanksgiving = _nth_weekday(day.year, 11, 3, 4)
    if day == thanksgiving + timedelta(days=1):
        return True
    return day.weekday() <= 3 and (day.month, day.day) in ((7, 3), (12, 24))


def session(day: date) -> Session | None:
    if not is_trading_day(day):
        return None
    early = is_early_close(day)
    return Session(
        day=day,
        open=datetime.combine(day, OPEN, NEW_YORK),
        close=datetime.combine(day, EARLY_CLOSE if early else CLOSE, NEW_YORK),
        extended_open=datetime.combine(day, PRE_MARKET_OPEN, NEW_YORK),
        extended_close=datetime.combine(
            day, AFTER_HOURS_CLOSE_EARLY if early else AFTER_HOURS_CLOSE, NEW_YORK
        ),
    )


def sessions_from(day: date) -> list[Session]:
    """The sessions of `day` and the ten calendar days after: enough to find any next open or close."""
    found = (session(day + timedelta(days=n)) for n in range(11))
    return [s for s in found if s is not None]


def trading_days_ending(day: date, count: int) -> list[date]:
    """The last `count` trading days up to and including `day` (or before it, when it is not one)."""
    out: list[date] = []
    cursor = day
    while len(out) < count:
        if is_trading_day(cursor):
            out.append(cursor)
        cursor -= timedelta(days=1)
    return out


def next_trading_day(day: date) -> date:
    cursor = day + timedelta(days=1)
    while not is_trading_day(cursor):
        cursor += timedelta(days=1)
    return cursor

"""The bundled NYSE calendar against NYSE's published holidays and early closes (2024-2027).

The rules also matched exchange_calendars 4.13.2 (XNYS) on every day from 2006-12-04 to 2027-12-03 when
this module was written; that library is not a dependency, so the published dates are pinned here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tradepipe.local.paper_broker import nyse_calendar as cal
from tradepipe.local.paper_broker.market_clock import MarketClock

PUBLISHED_HOLIDAYS = {
    2024: ["01-01", "01-15", "02-19", "03-29", "05-27", "06-19", "07-04", "09-02", "11-28", "12-25"],
    2025: ["01-01", "01-09", "01-20", "02-17", "04-18", "05-26", "06-19", "07-04", "09-01", "11-27", "12-25"],
    2026: ["01-01", "01-19", "02-16", "04-03", "05-25", "06-19", "07-03", "09-07", "11-26", "12-25"],
    2027: ["01-01", "01-18", "02-15", "03-26", "05-31", "06-18", "07-05", "09-06", "11-25", "12-24"],
}
PUBLISHED_EARLY_CLOSES = {
    2024: ["07-03", "11-29", "12-24"],
    2025: ["07-03", "11-28", "12-24"],
    2026: ["11-27", "12-24"],
    2027: ["11-26"],
}


@pytest.mark.parametrize("year", sorted(PUBLISHED_HOLIDAYS))
def test_weekday_closures_are_the_published_holidays(year: int) -> None:
    closed = sorted(d for d in cal.holidays(year) if d.weekday() < 5)

    assert [d.strftime("%m-%d") for d in closed] == PUBLISHED_HOLIDAYS[year]


@pytest.mark.parametrize("year", sorted(PUBLISHED_EARLY_CLOSES))
def test_early_closes_are_the_published_ones(year: int) -> None:
    days = [date(year, m, d) for m in range(1, 13) for d in range(1, 32) if _valid(year, m, d)]

    early = [d.strftime("%m-%d") for d in days if cal.is_early_close(d)]

    assert early == PUBLISHED_EARLY_CLOSES[year]


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def test_saturday_new_years_day_is_not_made_up_on_the_friday() -> None:
    assert cal.is_trading_day(date(2027, 12, 31))
    assert not cal.is_trading_day(date(2028, 1, 1))


def test_clock_on_an_early_close_then_closed_at_13_new_york() -> None:
    clock = MarketClock(now=lambda: datetime(2026, 11, 27, 17, 59, tzinfo=UTC))  # 12:59 New York

    assert clock.is_open()
    assert not clock.is_open(datetime(2026, 11, 27, 18, 0, tzinfo=UTC))
    assert clock.next_close(datetime(2026, 11, 27, 17, 0, tzinfo=UTC)) == datetime(
        2026, 11, 27, 18, 0, tzinfo=UTC
    )


def test_clock_on_good_friday_then_closed_and_next_open_monday() -> None:
    good_friday = datetime(2026, 4, 3, 15, 0, tzinfo=UTC)
    clock = MarketClock(now=lambda: good_friday)

    assert not clock.is_open()
    assert clock.next_open(good_friday) == datetime(2026, 4, 6, 13, 30, tzinfo=UTC)


def test_extended_hours_then_open_from_4_to_20_new_york() -> None:
    clock = MarketClock()
    pre = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # 04:00 New York

    assert clock.is_extended_open(pre)
    assert not clock.is_open(pre)
    assert not clock.is_extended_open(datetime(2026, 12, 3, 1, 0, tzinfo=UTC))  # 20:00 New York

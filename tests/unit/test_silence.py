"""The pipeline-silent rule counts market minutes only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tradepipe.domain.silence import MarketSession, Silence, check_silence, sessions_from_calendar

ET = timezone(timedelta(hours=-5))  # January: EST. The rule itself only compares aware times.


def _day(day: int, close: tuple[int, int] = (16, 0)) -> MarketSession:
    return MarketSession(datetime(2024, 1, day, 9, 30, tzinfo=ET), datetime(2024, 1, day, *close, tzinfo=ET))


# Thu 4, Fri 5, (weekend), Mon 8 January 2024; Friday the 5th a half day for the test's sake.
WEEK = [_day(4), _day(5, close=(13, 0)), _day(8)]


@pytest.mark.parametrize(
    ("last_alert", "now", "expected_minutes"),
    [
        pytest.param(
            datetime(2024, 1, 4, 10, 0, tzinfo=ET),
            datetime(2024, 1, 4, 10, 59, tzinfo=ET),
            59,
            id="same-session",
        ),
        pytest.param(
            datetime(2024, 1, 4, 15, 30, tzinfo=ET),
            datetime(2024, 1, 5, 10, 0, tzinfo=ET),
            60,
            id="overnight-not-counted",
        ),
        pytest.param(
            datetime(2024, 1, 5, 12, 30, tzinfo=ET),
            datetime(2024, 1, 8, 10, 0, tzinfo=ET),
            60,
            id="half-day-and-weekend",
        ),
        pytest.param(
            datetime(2024, 1, 4, 7, 0, tzinfo=ET),
            datetime(2024, 1, 4, 9, 45, tzinfo=ET),
            15,
            id="pre-market-alert",
        ),
    ],
)
def test_check_silence_counts_only_market_minutes(
    last_alert: datetime, now: datetime, expected_minutes: int
) -> None:
    assert check_silence(last_alert, now, WEEK, threshold_minutes=1) == Silence(last_alert, expected_minutes)


def test_check_silence_when_below_threshold_then_not_silent() -> None:
    last = datetime(2024, 1, 5, 12, 30, tzinfo=ET)

    assert check_silence(last, datetime(2024, 1, 8, 9, 59, tzinfo=ET), WEEK, threshold_minutes=60) is None
    assert check_silence(last, datetime(2024, 1, 8, 10, 0, tzinfo=ET), WEEK, threshold_minutes=60) is not None


def test_check_silence_over_a_weekend_night_is_never_silent() -> None:
    last = datetime(2024, 1, 5, 12, 59, tzinfo=ET)

    assert check_silence(last, datetime(2024, 1, 8, 9, 29, tzinfo=ET), WEEK, threshold_minutes=2) is None


def test_check_silence_without_any_alert_counts_from_the_first_session_in_view() -> None:
    now = datetime(2024, 1, 4, 11, 0, tzinfo=ET)

    assert check_silence(None, now, WEEK, threshold_minutes=90) == Silence(None, 90)
    assert check_silence(None, now, [], threshold_minutes=90) is None


def test_check_silence_with_threshold_zero_is_off() -> None:
    assert check_silence(None, datetime(2024, 1, 8, 15, tzinfo=ET), WEEK, threshold_minutes=0) is None


def test_sessions_from_calendar_localizes_wall_clock_times() -> None:
    # As alpaca-py's Calendar model holds them: naive wall-clock times.
    wall = [(datetime(2024, 1, 4, 9, 30), datetime(2024, 1, 4, 16, 0))]  # noqa: DTZ001

    sessions = sessions_from_calendar(wall, ET)

    assert sessions[0].open.astimezone(UTC) == datetime(2024, 1, 4, 14, 30, tzinfo=UTC)

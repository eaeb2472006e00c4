"""ATR on bars of the alert's timeframe: the stop rules measured on hand-made bars whose ATR is known, the
timeframe mapped to the bars Alpaca serves, the paper broker's synthetic intraday bars, and the fetch cache.

The issue's case: AAPL, a 1.3-point stop on a 1h alert against a daily ATR of 11.8 was STOP_TOO_TIGHT."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tests.unit.test_pipeline_use_cases import NOW, _recorded, risk_deps
from tradepipe.adapters.market_data import AlpacaMarketData
from tradepipe.adapters.memory import MemoryBroker, MemoryQueue, MemorySignalStore
from tradepipe.adapters.memory_risk import MemoryMarketData
from tradepipe.analytics.indicators import average_true_range
from tradepipe.app.assess import assess_signal
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Rejected, RejectReason
from tradepipe.domain.risk.bars import data_timeframe
from tradepipe.local.paper_broker.market_data import DailyBar as BrokerDay
from tradepipe.local.paper_broker.synthetic_bars import intraday_bars, minutes_of
from tradepipe.ports.market_data import DailyBar

D = Decimal


def _bars(true_range: str, step: timedelta, count: int = 45, close: str = "150.25") -> list[DailyBar]:
    """Flat bars of one true range around `close`: ATR(14) of them is exactly `true_range`."""
    half = D(true_range) / 2
    c = D(close)
    start = NOW - step * count
    return [DailyBar(t=start + step * i, o=c, h=c + half, l=c - half, c=c, v=D(1000)) for i in range(count)]


DAILY = _bars("11.8", timedelta(days=1))
HOURLY = _bars("1.0", timedelta(hours=1))
FIVE_MINUTE = _bars("0.40", timedelta(minutes=5))


def _assess(timeframe: str, stop: str | None) -> OrderIntent | Rejected:
    store, queue = MemorySignalStore(), MemoryQueue()
    deps = risk_deps(store, queue, MemoryBroker())
    deps = deps.__class__(
        **{
            **deps.__dict__,
            "market_data": MemoryMarketData(
                {"AAPL": DAILY}, intraday={("AAPL", "60"): HOURLY, ("AAPL", "5"): FIVE_MINUTE}
            ),
            "atr": average_true_range,
        }
    )
    outcome = assess_signal(_recorded(store, stop=stop, timeframe=timeframe), deps)
    assert isinstance(outcome, OrderIntent | Rejected)
    return outcome


@pytest.mark.parametrize(
    ("timeframe", "expected"),
    [
        pytest.param("5", (5, "Min"), id="tradingview-5-minutes"),
        pytest.param("5m", (5, "Min"), id="our-template-5m"),
        pytest.param("60", (1, "Hour"), id="60-minutes-is-an-hour"),
        pytest.param("1H", (1, "Hour"), id="1H"),
        pytest.param("240", (4, "Hour"), id="4-hours"),
        pytest.param("90", (1, "Hour"), id="90-minutes-falls-back-to-hours"),
        pytest.param("D", (1, "Day"), id="daily"),
        pytest.param("1W", (1, "Day"), id="weekly-measured-on-daily"),
        pytest.param("unknown", (1, "Day"), id="unknown-is-daily"),
    ],
)
def test_data_timeframe_then_the_bars_alpaca_serves(timeframe: str, expected: tuple[int, str]) -> None:
    assert data_timeframe(timeframe) == expected


def test_hourly_alert_with_a_1_3_point_stop_then_judged_on_hourly_atr_and_sent() -> None:
    outcome = _assess("60", stop="148.95")  # 1.30 below 150.25; hourly ATR 1.0 -> 1.3 ATR

    assert isinstance(outcome, OrderIntent)
    assert outcome.stop_loss == D("148.95")


def test_daily_alert_with_the_same_stop_then_too_tight_against_daily_atr() -> None:
    outcome = _assess("D", stop="148.95")

    assert isinstance(outcome, Rejected)
    assert outcome.reason is RejectReason.STOP_TOO_TIGHT
    assert "< min_atr 0.5 x ATR 11.8000" in outcome.detail


def test_hourly_alert_with_a_stop_wider_than_5_hourly_atr_then_too_wide() -> None:
    outcome = _assess("60", stop="144.00")  # 6.25 > 5 x 1.0

    assert isinstance(outcome, Rejected)
    assert outcome.reason is RejectReason.STOP_TOO_WIDE


def test_five_minute_alert_without_stop_then_stop_derived_from_five_minute_atr() -> None:
    outcome = _assess("5", stop=None)

    assert isinstance(outcome, OrderIntent)
    assert outcome.stop_loss == D("149.45")  # 150.25 - 2 x 0.40


def test_alert_timeframe_without_bars_then_no_atr_and_a_missing_stop_is_required() -> None:
    outcome = _assess("15", stop=None)  # no 15-minute bars: never the daily ones passed off

    assert isinstance(outcome, Rejected)
    assert outcome.reason is RejectReason.STOP_REQUIRED


# --- the paper broker's synthetic intraday bars ----------------------------------------------------------

DAY = BrokerDay(date(2013, 2, 28), D("200.00"), D("203.50"), D("198.20"), D("201.10"), 3_900_000)


@pytest.mark.parametrize("minutes", [1, 5, 60, 7])
def test_intraday_bars_then_seeded_inside_the_day_from_its_open_to_its_close(minutes: int) -> None:
    bars = intraday_bars("IBM", DAY, minutes)

    assert bars == intraday_bars("IBM", DAY, minutes)  # seeded: the same request, the same bars
    assert len(bars) == -(-390 // minutes)
    assert (bars[0].open, bars[-1].close) == (DAY.open, DAY.close)
    assert all(
        DAY.low <= b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high <= DAY.high for b in bars
    )
    assert bars[0].t == datetime(2013, 2, 28, 14, 30, tzinfo=UTC)  # 09:30 New York
    assert intraday_bars("AAPL", DAY, minutes) != bars  # each symbol its own path


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("5Min", 5), ("1Hour", 60), ("15T", 15), ("2H", 120), ("1Day", None), ("60Min", None), ("24Hour", None)],
)
def test_minutes_of_then_alpacas_intraday_range_only(text: str, minutes: int | None) -> None:
    assert minutes_of(text) == minutes


# --- the fetch cache -----------------------------------------------------------------------------------


class _CountingData(AlpacaMarketData):
    """The adapter with its HTTP fetch replaced by a counter (the cache above it is what is under test)."""

    def __init__(self) -> None:
        super().__init__("key", "secret", url_override="http://127.0.0.1:9")
        self.fetches: list[str] = []

    def _fetch(self, symbol: str, timeframe: object, limit: int) -> list[DailyBar]:
        self.fetches.append(f"{symbol}/{timeframe}")
        return HOURLY[-limit:]


def test_bars_fetched_once_per_ticker_and_timeframe_while_the_bar_lasts() -> None:
    data = _CountingData()

    for _ in range(3):
        data.bars("AAPL", "60", 42)
    data.bars("AAPL", "5", 42)
    data.bars("MSFT", "60", 42)

    assert data.fetches == ["AAPL/1Hour", "AAPL/5Min", "MSFT/1Hour"]

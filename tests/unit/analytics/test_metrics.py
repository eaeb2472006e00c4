"""Metrics against an independent reference (empyrical-reloaded) on real daily returns from the bundled bars,
to 1e-9 (relative to the value's size, absolute below 1); and the metrics empyrical lacks, by hand."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import empyrical
import numpy as np
import pytest

from tradepipe.analytics import metrics
from tradepipe.analytics.backtest.bars import bundled_bars
from tradepipe.analytics.metrics import FloatArray
from tradepipe.analytics.trades import Trade
from tradepipe.domain.model import Side

TOLERANCE = 1e-9


def close_to_close(ticker: str, start: date, end: date) -> FloatArray:
    close = bundled_bars(ticker, start, end).close
    return np.asarray(close[1:] / close[:-1] - 1.0, dtype=np.float64)


SERIES = {
    "AAPL-2003-2013": (close_to_close, ("AAPL", date(2003, 3, 1), date(2013, 3, 1))),
    "IBM-2000-2013": (close_to_close, ("IBM", date(2000, 3, 1), date(2013, 3, 1))),
    "MSFT-2007-2009-crisis": (close_to_close, ("MSFT", date(2007, 1, 1), date(2009, 12, 31))),
    "GOOG-2004-2013": (close_to_close, ("GOOG", date(2004, 8, 19), date(2013, 3, 1))),
}


@pytest.fixture(scope="module", params=sorted(SERIES))
def returns(request: pytest.FixtureRequest) -> FloatArray:
    build, args = SERIES[request.param]
    values = build(*args)
    assert len(values) > 500  # a real series, not a stub
    return values


def assert_same(ours: float, reference: float) -> None:
    assert math.isfinite(reference)
    assert abs(ours - reference) <= TOLERANCE * max(1.0, abs(reference)), (ours, reference)


@pytest.mark.parametrize("risk_free", [0.0, 0.04 / 252])
def test_sharpe_when_real_returns_then_equals_empyrical(returns: FloatArray, risk_free: float) -> None:
    assert_same(
        metrics.sharpe_ratio(returns, risk_free), empyrical.sharpe_ratio(returns, risk_free=risk_free)
    )


@pytest.mark.parametrize("required", [0.0, 0.0001])
def test_sortino_and_downside_risk_when_real_returns_then_equal_empyrical(
    returns: FloatArray, required: float
) -> None:
    assert_same(
        metrics.sortino_ratio(returns, required), empyrical.sortino_ratio(returns, required_return=required)
    )
    assert_same(
        metrics.downside_risk(returns, required), empyrical.downside_risk(returns, required_return=required)
    )


def test_drawdown_cagr_volatility_calmar_when_real_returns_then_equal_empyrical(returns: FloatArray) -> None:
    assert_same(metrics.max_drawdown(returns), empyrical.max_drawdown(returns))
    assert_same(metrics.annual_return(returns), empyrical.annual_return(returns))
    assert_same(metrics.annual_volatility(returns), empyrical.annual_volatility(returns))
    assert_same(metrics.calmar_ratio(returns), empyrical.calmar_ratio(returns))
    assert_same(metrics.total_return(returns), empyrical.cum_returns_final(returns))


def test_weekly_annualization_when_periods_per_year_52_then_equals_empyrical(returns: FloatArray) -> None:
    weekly = returns[: len(returns) // 5 * 5].reshape(-1, 5)
    compounded = np.prod(1.0 + weekly, axis=1) - 1.0

    assert_same(
        metrics.sharpe_ratio(compounded, 0.0, 52), empyrical.sharpe_ratio(compounded, period="weekly")
    )
    assert_same(metrics.annual_return(compounded, 52), empyrical.annual_return(compounded, period="weekly"))


def test_max_drawdown_when_first_return_is_a_loss_then_counted_from_the_start() -> None:
    assert metrics.max_drawdown([-0.1, 0.05]) == pytest.approx(-0.1)


def test_drawdown_duration_when_recovered_then_peak_to_recovery_in_periods() -> None:
    # wealth: 1.1, 0.99, 1.089, 1.2 (recovers 1.1 at index 3), 1.08, 1.2 (recovers at 5)
    spell = metrics.max_drawdown_duration([0.1, -0.1, 0.1, 0.1019, -0.1, 0.1111112])

    assert (spell.peak_index, spell.recovery_index, spell.periods) == (0, 3, 3)


def test_drawdown_duration_when_never_recovered_then_runs_to_the_end() -> None:
    spell = metrics.max_drawdown_duration([0.01, -0.05, 0.01, 0.01])

    assert (spell.peak_index, spell.recovery_index, spell.periods) == (0, None, 3)


def test_ratios_when_undefined_then_nan_not_an_error() -> None:
    assert math.isnan(metrics.sharpe_ratio([0.01]))
    assert math.isnan(metrics.sharpe_ratio([0.01, 0.01, 0.01]))  # no dispersion
    assert math.isnan(metrics.calmar_ratio([0.01, 0.02]))  # never fell
    assert math.isinf(metrics.sortino_ratio([0.01, 0.02]))  # no shortfall at all


def test_exposure_when_half_the_closes_invested_then_one_half() -> None:
    assert metrics.exposure_time([True, False, True, False]) == 0.5


def _trade(pnl: str, r_stop: str | None = None) -> Trade:
    at = datetime(2024, 1, 2, tzinfo=UTC)
    return Trade(
        mode="paper",
        strategy="s",
        ticker="AAPL",
        direction=Side.BUY,
        qty=Decimal(1),
        entry_at=at,
        exit_at=at + timedelta(days=1),
        entry_price=Decimal(100),
        exit_price=Decimal(100) + Decimal(pnl),
        fees=Decimal(0),
        gross_pnl=Decimal(pnl),
        entry_order_id="a",
        exit_order_id="b",
        stop=None if r_stop is None else Decimal(r_stop),
    )


def test_trade_stats_when_wins_and_losses_then_win_rate_profit_factor_expectancy_average_r() -> None:
    trades = [_trade("30", "98"), _trade("-10", "98"), _trade("-20", "98"), _trade("0")]

    stats = metrics.trade_stats(trades)

    assert (stats.trades, stats.wins, stats.losses) == (4, 1, 2)
    assert stats.win_rate == 0.25  # a flat trade is neither a win nor a loss
    assert stats.profit_factor == 1.0  # 30 / |-30|
    assert stats.expectancy == Decimal(0)
    assert stats.average_r == pytest.approx((15 - 5 - 10) / 3)  # the flat trade has no stop: not averaged


def test_trade_stats_when_no_losses_then_profit_factor_infinite() -> None:
    assert math.isinf(metrics.trade_stats([_trade("5")]).profit_factor)
    assert math.isnan(metrics.trade_stats([]).win_rate)

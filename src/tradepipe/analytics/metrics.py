"""Performance metrics: return-series ratios (numpy, float) and trade statistics (Decimal in, float out).

Conventions, shared by every function below and chosen to match empyrical (the reference the tests
compare against to 1e-9):
- `returns` are simple, non-cumulative returns per period (daily: equity_t / equity_{t-1} - 1), oldest
  first, as a 1-d float array without NaN.
- Annualization: `periods_per_year` (252 trading days by default). Means scale by it, standard deviations
  by its square root.
- Risk-free rate: a return *per period* (not per year), subtracted from every period's return; 0 by
  default. Pass the daily rate (e.g. 0.04 / 252 for 4% a year).
- Dispersion: the *sample* standard deviation (ddof = 1) for volatility and Sharpe; downside risk is the
  root-mean-square of the shortfalls below the required return over *all* periods (the population form
  Sortino used), which is also empyrical's.
- Drawdowns are measured on the compounded curve that starts at 1 before the first return, so a first-day
  loss is a drawdown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from tradepipe.analytics.trades import Trade

TRADING_DAYS_PER_YEAR = 252
FloatArray = npt.NDArray[np.float64]


def _array(returns: Sequence[float] | FloatArray) -> FloatArray:
    values = np.asarray(returns, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError("returns must be one-dimensional")
    if np.isnan(values).any():
        raise ValueError("returns must not contain NaN")
    return values


def total_return(returns: Sequence[float] | FloatArray) -> float:
    """Compounded return over the whole series: prod(1 + r) - 1 (0 for an empty series)."""
    values = _array(returns)
    return float(np.prod(1.0 + values) - 1.0) if values.size else 0.0


def annual_return(
    returns: Sequence[float] | FloatArray, periods_per_year: int = TRADING_DAYS_PER_YEAR
) -> float:
    """CAGR: (1 + total return) ** (periods_per_year / n) - 1, n the number of returns. NaN when empty."""
    values = _array(returns)
    if values.size == 0:
        return math.nan
    years = values.size / periods_per_year
    return float((1.0 + total_return(values)) ** (1.0 / years) - 1.0)


def annual_volatility(
    returns: Sequence[float] | FloatArray, periods_per_year: int = TRADING_DAYS_PER_YEAR
) -> float:
    """Sample standard deviation of the returns (ddof = 1) x sqrt(periods_per_year). NaN below 2 returns."""
    values = _array(returns)
    if values.size < 2:
        return math.nan
    return float(np.std(values, ddof=1) * math.sqrt(periods_per_year))


def sharpe_ratio(
    returns: Sequence[float] | FloatArray,
    risk_free: float = 0.0,
    periods_per_year: int = TRADING_DAYS_PER_YEAR,
) -> float:
    """mean(r - rf) / std(r - rf, ddof = 1) x sqrt(periods_per_year); rf per period. NaN below 2 returns
    or when the excess returns do not vary (a ratio over zero dispersion means nothing)."""
    excess = _array(returns) - risk_free
    if excess.size < 2:
        return math.nan
    std = float(np.std(excess, ddof=1))
    if std == 0.0:
        return math.nan
    return float(np.mean(excess) / std * math.sqrt(periods_per_year))


def downside_risk(
    returns: Sequence[float] | FloatArray,
    required_return: float = 0.0,
    periods_per_year: int = TRADING_DAYS_PER_YEAR,
) -> float:
    """sqrt(mean(min(r - required, 0) ** 2)) x sqrt(periods_per_year): the mean runs over every period,
    gains counting as zero shortfall. NaN when empty."""
    values = _array(returns)
    if values.size == 0:
        return math.nan
    shortfall = np.minimum(values - required_return, 0.0)
    return float(math.sqrt(float(np.mean(shortfall * shortfall))) * math.sqrt(periods_per_year))


def sortino_ratio(
    returns: Sequence[float] | FloatArray,
    required_return: float = 0.0,
    periods_per_year: int = TRADING_DAYS_PER_YEAR,
) -> float:
    """mean(r - required) x periods_per_year / downside_risk(r, required). NaN below 2 returns; +inf when
    there is no shortfall at all."""
    values = _array(returns)
    if values.size < 2:
        return math.nan
    risk = downside_risk(values, required_return, periods_per_year)
    mean = float(np.mean(values - required_return)) * periods_per_year
    if risk == 0.0:
        return math.inf if mean > 0 else math.nan
    return mean / risk


def drawdown_series(returns: Sequence[float] | FloatArray) -> FloatArray:
    """Drawdown at each period: wealth / running peak - 1 (<= 0), the peak including the starting 1."""
    values = _array(returns)
    wealth = np.concatenate(([1.0], np.cumprod(1.0 + values)))
    peak = np.maximum.accumulate(wealth)
    return (wealth / peak - 1.0)[1:]


def max_drawdown(returns: Sequence[float] | FloatArray) -> float:
    """The deepest drawdown, as a negative fraction (0 when the curve never fell). NaN when empty."""
    values = _array(returns)
    if values.size == 0:
        return math.nan
    return float(np.min(drawdown_series(values), initial=0.0))


@dataclass(frozen=True)
class DrawdownSpell:
    """The longest time under water: from the last peak (period index, -1 = the start) to the period the
    curve got back to that peak (None: not yet recovered, measured to the last period)."""

    peak_index: int
    recovery_index: int | None
    periods: int


def max_drawdown_duration(returns: Sequence[float] | FloatArray) -> DrawdownSpell:
    """Longest spell below a previous peak, in periods (peak to recovery; open spells run to the end)."""
    drawdowns = drawdown_series(returns)
    best = DrawdownSpell(-1, -1, 0)
    start: int | None = None  # index of the peak the current spell fell from
    for i, value in enumerate(drawdowns):
        if value < 0 and start is None:
            start = i - 1
        elif value >= 0 and start is not None:
            if i - start > best.periods:
                best = DrawdownSpell(start, i, i - start)
            start = None
    if start is not None and len(drawdowns) - 1 - start > best.periods:
        best = DrawdownSpell(start, None, len(drawdowns) - 1 - start)
    return best


def calmar_ratio(
    returns: Sequence[float] | FloatArray, periods_per_year: int = TRADING_DAYS_PER_YEAR
) -> float:
    """annual_return / |max_drawdown|. NaN when the curve never fell (no drawdown to divide by)."""
    values = _array(returns)
    if values.size == 0:
        return math.nan
    worst = max_drawdown(values)
    if worst >= 0:
        return math.nan
    ratio = annual_return(values, periods_per_year) / abs(worst)
    return math.nan if math.isinf(ratio) else ratio


def exposure_time(invested: Sequence[bool] | npt.NDArray[np.bool_]) -> float:
    """Share of periods with a position open at the period's end (any ticker, either side), 0..1."""
    flags = np.asarray(invested, dtype=bool)
    return float(flags.mean()) if flags.size else math.nan


@dataclass(frozen=True)
class TradeStats:
    """Statistics over closed trades, net of fees. Ratios are NaN when undefined (no trades; no losses for
    the profit factor, which is then +inf if there were gains)."""

    trades: int
    wins: int
    losses: int
    win_rate: float  # wins / trades; a trade at exactly 0 is neither a win nor a loss
    gross_profit: Decimal
    gross_loss: Decimal  # <= 0
    profit_factor: float  # gross profit / |gross loss|
    expectancy: Decimal  # mean net P&L per trade, in money
    average_r: float  # mean R multiple over the trades that have a stop (NaN when none has)
    average_win: Decimal
    average_loss: Decimal
    realized_pnl: Decimal


def trade_stats(trades: Sequence[Trade]) -> TradeStats:
    pnls = [t.pnl for t in trades]
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    gross_profit = sum(wins, Decimal(0))
    gross_loss = sum(losses, Decimal(0))
    if gross_loss < 0:
        profit_factor = float(gross_profit / -gross_loss)
    else:
        profit_factor = math.inf if gross_profit > 0 else math.nan
    r_values = [float(r) for t in trades if (r := t.r_multiple) is not None]
    count = len(pnls)
    return TradeStats(
        trades=count,
        wins=len(wins),
        losses=len(losses),
        win_rate=len(wins) / count if count else math.nan,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        profit_factor=profit_factor,
        expectancy=sum(pnls, Decimal(0)) / count if count else Decimal(0),
        average_r=float(np.mean(r_values)) if r_values else math.nan,
        average_win=gross_profit / len(wins) if wins else Decimal(0),
        average_loss=gross_loss / len(losses) if losses else Decimal(0),
        realized_pnl=sum(pnls, Decimal(0)),
    )


@dataclass(frozen=True)
class ReturnStats:
    """The return-series ratios of one equity curve (see the module docstring for the conventions)."""

    periods: int
    total_return: float
    annual_return: float
    annual_volatility: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: float
    max_drawdown_periods: int
    exposure: float


def return_stats(
    returns: Sequence[float] | FloatArray,
    invested: Sequence[bool] | npt.NDArray[np.bool_],
    risk_free: float = 0.0,
    periods_per_year: int = TRADING_DAYS_PER_YEAR,
) -> ReturnStats:
    values = _array(returns)
    return ReturnStats(
        periods=int(values.size),
        total_return=total_return(values),
        annual_return=annual_return(values, periods_per_year),
        annual_volatility=annual_volatility(values, periods_per_year),
        sharpe=sharpe_ratio(values, risk_free, periods_per_year),
        sortino=sortino_ratio(values, risk_free, periods_per_year),
        calmar=calmar_ratio(values, periods_per_year),
        max_drawdown=max_drawdown(values),
        max_drawdown_periods=max_drawdown_duration(values).periods,
        exposure=exposure_time(invested),
    )

"""One performance view over fills, signals and an equity curve: what the report, the CLI's metrics table
and the daily snapshots all read. Pure: values in, values out."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from tradepipe.analytics.equity import EquityPoint, daily_returns
from tradepipe.analytics.fills import ZERO, Fill
from tradepipe.analytics.metrics import (
    TRADING_DAYS_PER_YEAR,
    ReturnStats,
    TradeStats,
    return_stats,
    trade_stats,
)
from tradepipe.analytics.trades import TradeBook, match_trades
from tradepipe.contracts.items import SignalItem
from tradepipe.domain.model import SignalStatus


@dataclass(frozen=True)
class Performance:
    book: TradeBook
    trades: TradeStats
    returns: ReturnStats
    unrealized_pnl: Decimal
    pnl_by_strategy: dict[str, Decimal]  # realized, net of fees
    pnl_by_ticker: dict[str, Decimal]
    rejected_by_reason: dict[str, int]
    signals: int
    accepted: int
    initial_equity: Decimal
    final_equity: Decimal | None
    risk_free: float
    periods_per_year: int


def last_fill_prices(fills: Sequence[Fill]) -> dict[str, Decimal]:
    """The latest fill price per ticker: the mark for open lots when no bar is known."""
    marks: dict[str, Decimal] = {}
    for fill in sorted(fills, key=lambda f: f.at):
        marks[fill.ticker] = fill.price
    return marks


def analyze(
    fills: Sequence[Fill],
    signals: Sequence[SignalItem],
    equity: Sequence[EquityPoint],
    initial_equity: Decimal,
    marks: Mapping[str, Decimal] | None = None,
    risk_free: float = 0.0,
    periods_per_year: int = TRADING_DAYS_PER_YEAR,
) -> Performance:
    """`marks` (ticker -> price) value the open lots; the last fill price stands in for a missing mark."""
    book = match_trades(fills)
    prices = {**last_fill_prices(fills), **(marks or {})}
    by_strategy: dict[str, Decimal] = {}
    by_ticker: dict[str, Decimal] = {}
    for trade in book.trades:
        by_strategy[trade.strategy] = by_strategy.get(trade.strategy, ZERO) + trade.pnl
        by_ticker[trade.ticker] = by_ticker.get(trade.ticker, ZERO) + trade.pnl
    rejected = Counter(s.reject_reason or "UNKNOWN" for s in signals if s.status is SignalStatus.REJECTED)
    accepted = sum(1 for s in signals if any(h.status is SignalStatus.SIZED for h in s.history))
    returns = daily_returns(equity, initial_equity)
    return Performance(
        book=book,
        trades=trade_stats(book.trades),
        returns=return_stats(returns, [p.invested for p in equity], risk_free, periods_per_year),
        unrealized_pnl=book.unrealized(prices),
        pnl_by_strategy=dict(sorted(by_strategy.items())),
        pnl_by_ticker=dict(sorted(by_ticker.items())),
        rejected_by_reason=dict(sorted(rejected.items())),
        signals=len(signals),
        accepted=accepted,
        initial_equity=initial_equity,
        final_equity=equity[-1].equity if equity else None,
        risk_free=risk_free,
        periods_per_year=periods_per_year,
    )


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value * 100:.2f}%"


def _num(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return "inf" if math.isinf(value) else f"{value:.3f}"


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def metrics_rows(p: Performance) -> list[tuple[str, str]]:
    """The metrics table: (name, value) rows in reading order, for the CLI and the HTML report."""
    t, r = p.trades, p.returns
    return [
        ("Realized P&L (net of fees)", _money(t.realized_pnl)),
        ("Unrealized P&L", _money(p.unrealized_pnl)),
        ("Final equity", "n/a" if p.final_equity is None else _money(p.final_equity)),
        ("Total return", _pct(r.total_return)),
        ("Annual return (CAGR)", _pct(r.annual_return)),
        ("Annual volatility", _pct(r.annual_volatility)),
        ("Sharpe (rf per period, ddof=1)", _num(r.sharpe)),
        ("Sortino", _num(r.sortino)),
        ("Calmar", _num(r.calmar)),
        ("Max drawdown", _pct(r.max_drawdown)),
        ("Max drawdown duration (sessions)", str(r.max_drawdown_periods)),
        ("Exposure time", _pct(r.exposure)),
        ("Trades", str(t.trades)),
        ("Win rate", _pct(t.win_rate)),
        ("Profit factor", _num(t.profit_factor)),
        ("Expectancy per trade", _money(t.expectancy)),
        ("Average R", _num(t.average_r)),
        ("Average win / loss", f"{_money(t.average_win)} / {_money(t.average_loss)}"),
        (
            "Signals / accepted / rejected",
            f"{p.signals} / {p.accepted} / {sum(p.rejected_by_reason.values())}",
        ),
        ("Sessions", str(r.periods)),
    ]


def metrics_table(p: Performance) -> str:
    rows = metrics_rows(p)
    width = max(len(name) for name, _ in rows)
    lines = [f"  {name:<{width}}  {value:>18}" for name, value in rows]
    if p.rejected_by_reason:
        lines.append("  rejected by reason:")
        lines += [f"    {reason:<{width - 2}}  {count:>18}" for reason, count in p.rejected_by_reason.items()]
    return "\n".join(lines)

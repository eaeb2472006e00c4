"""Daily performance snapshots for the Dashboards: one document per session for the account (ALL) and one
per strategy, each the state at that session's close. Written through the SearchIndex port.

Per day: realized P&L and trade statistics over the trades closed up to that day; unrealized P&L of the
lots open at the close, marked at the day's close when bars are known, else at the last fill price; for
ALL also equity, the day's return and the drawdown from the running equity peak.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal

from tradepipe import resources
from tradepipe.analytics.equity import EquityPoint, session_day
from tradepipe.analytics.fills import ZERO, Fill
from tradepipe.analytics.metrics import trade_stats
from tradepipe.analytics.trades import Trade, TradeBook, match_trades
from tradepipe.contracts.performance import (
    ALL_STRATEGIES,
    PORTFOLIO,
    PerformanceSnapshotDocument,
)
from tradepipe.ports.search import IndexAction, SearchIndex

Closes = Mapping[str, Mapping[date, Decimal]]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _marks(
    book: TradeBook, day: date, closes: Closes | None, last_fill: dict[str, Decimal]
) -> dict[str, Decimal]:
    tickers = {b[2] for b in book.open_lots}
    return {t: (closes or {}).get(t, {}).get(day, last_fill[t]) for t in tickers}


def build_snapshots(
    source: str,
    fills: Sequence[Fill],
    equity: Sequence[EquityPoint],
    initial_equity: Decimal,
    closes: Closes | None = None,
) -> list[PerformanceSnapshotDocument]:
    """Snapshots for every day of `equity`: ALL plus each strategy that has fills, for each mode."""
    ordered = sorted(fills, key=lambda f: f.at)
    fill_days = [session_day(f.at) for f in ordered]
    modes = sorted({f.mode for f in ordered}) or ["paper"]
    strategies = sorted({f.strategy for f in ordered})
    out: list[PerformanceSnapshotDocument] = []
    peak = initial_equity
    previous = initial_equity
    cached: tuple[int, TradeBook] | None = None
    for point in equity:
        upto = bisect_right(fill_days, point.day)
        if cached is None or cached[0] != upto:
            cached = (upto, match_trades(ordered[:upto]))
        book = cached[1]
        last_fill = {f.ticker: f.price for f in ordered[:upto]}
        marks = _marks(book, point.day, closes, last_fill)
        peak = max(peak, point.equity)
        for mode in modes:
            for strategy in (ALL_STRATEGIES, *strategies):
                doc = _snapshot(source, mode, strategy, point, book, marks, previous, peak)
                if doc is not None:
                    out.append(doc)
        previous = point.equity
    return out


def _snapshot(
    source: str,
    mode: str,
    strategy: str,
    point: EquityPoint,
    book: TradeBook,
    marks: Mapping[str, Decimal],
    previous_equity: Decimal,
    peak: Decimal,
) -> PerformanceSnapshotDocument | None:
    everything = strategy == ALL_STRATEGIES

    def mine(mode_: str, strategy_: str) -> bool:
        return mode_ == mode and (everything or strategy_ == strategy)

    trades: list[Trade] = [t for t in book.trades if mine(t.mode, t.strategy)]
    lots = [lot for key, lots in book.open_lots.items() if mine(key[0], key[1]) for lot in lots]
    if not everything and not trades and not lots:
        return None
    stats = trade_stats(trades)
    today = [t for t in trades if session_day(t.exit_at) == point.day]
    unrealized = sum((lot.unrealized(marks[lot.fill.ticker]) for lot in lots), ZERO)
    day = datetime.combine(point.day, time(), UTC)
    return PerformanceSnapshotDocument(
        snapshot_id=f"{source}|{mode}|{strategy}|{point.day.isoformat()}",
        source=source,
        mode=mode,
        strategy=strategy,
        ticker=PORTFOLIO,
        sector=PORTFOLIO,
        day=day,
        equity=float(point.equity) if everything else None,
        daily_return=float(point.equity / previous_equity - 1) if everything and previous_equity else None,
        drawdown=float(point.equity / peak - 1) if everything and peak else None,
        realized_pnl=float(stats.realized_pnl),
        realized_pnl_day=float(sum((t.pnl for t in today), ZERO)),
        unrealized_pnl=float(unrealized),
        trades_closed=stats.trades,
        trades_closed_day=len(today),
        wins=stats.wins,
        win_rate=_finite(stats.win_rate),
        profit_factor=_finite(stats.profit_factor),
        expectancy=float(stats.expectancy) if stats.trades else None,
        average_r=_finite(stats.average_r),
        open_positions=len({lot.fill.ticker for lot in lots}),
    )


def publish_snapshots(
    index: SearchIndex, snapshots: Sequence[PerformanceSnapshotDocument], batch: int = 500
) -> list[str]:
    """Index the snapshots (id = snapshot_id: a rerun overwrites); returns the ids that failed."""
    failed: list[str] = []
    for start in range(0, len(snapshots), batch):
        actions = [
            IndexAction(resources.PERFORMANCE_INDEX.alias, s.snapshot_id, s.model_dump(mode="json"))
            for s in snapshots[start : start + batch]
        ]
        failed += index.bulk(actions)
    return failed

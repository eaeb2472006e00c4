"""Daily snapshots add up: for the account, realized + unrealized P&L is equity minus the starting cash on
every day, and each strategy's numbers sum to the account's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tradepipe.adapters.memory import MemorySearchIndex
from tradepipe.analytics.backtest.bars import bundled_bars
from tradepipe.analytics.backtest.runner import run_backtest
from tradepipe.analytics.backtest.strategy import SmaCross
from tradepipe.analytics.snapshots import build_snapshots, publish_snapshots
from tradepipe.config import load_bundled_risk_config
from tradepipe.contracts.performance import ALL_STRATEGIES, PerformanceSnapshotDocument
from tradepipe.resources import PERFORMANCE_INDEX


@pytest.fixture(scope="module")
def snapshots() -> list[PerformanceSnapshotDocument]:
    series = [bundled_bars(t, date(2007, 1, 1), date(2009, 12, 31)) for t in ("AAPL", "MSFT")]
    result = run_backtest(series, SmaCross(), load_bundled_risk_config())
    closes = {
        s.ticker: {d: Decimal(f"{c:.4f}") for d, c in zip(s.dates, s.close, strict=True)} for s in series
    }
    return build_snapshots("backtest:t", result.fills, result.equity, Decimal(100_000), closes)


def test_account_snapshot_when_any_day_then_realized_plus_unrealized_is_equity_change(
    snapshots: list[PerformanceSnapshotDocument],
) -> None:
    account = [s for s in snapshots if s.strategy == ALL_STRATEGIES]

    assert len(account) > 700
    assert any(s.open_positions for s in account)
    assert account[-1].trades_closed > 10
    for s in account:
        assert s.equity is not None
        assert s.realized_pnl + s.unrealized_pnl == pytest.approx(s.equity - 100_000, abs=1e-6)
        assert s.drawdown is not None
        assert s.drawdown <= 0


def test_strategy_snapshots_when_one_strategy_then_equal_the_account_and_carry_no_equity(
    snapshots: list[PerformanceSnapshotDocument],
) -> None:
    account = {s.day: s for s in snapshots if s.strategy == ALL_STRATEGIES}
    strategy = [s for s in snapshots if s.strategy == "sma_cross"]

    assert strategy
    for s in strategy:
        assert s.equity is None
        assert (s.realized_pnl, s.trades_closed) == (
            account[s.day].realized_pnl,
            account[s.day].trades_closed,
        )


def test_publish_when_indexed_then_one_document_per_snapshot_id_in_performance_daily(
    snapshots: list[PerformanceSnapshotDocument],
) -> None:
    index = MemorySearchIndex()

    failed = publish_snapshots(index, snapshots)
    failed += publish_snapshots(index, snapshots)  # a rerun overwrites, never duplicates

    assert failed == []
    assert len(index.documents) == len(snapshots)
    assert {i for i, _ in index.documents} == {PERFORMANCE_INDEX.alias}

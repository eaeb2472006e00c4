"""The daily performance snapshot: one OpenSearch document per day, source, mode and strategy, for the
Dashboards (equity, drawdown, P&L and trade statistics over time). Built by `analytics/snapshots.py`."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict

from tradepipe.contracts.documents import Dimensions

ALL_STRATEGIES = "ALL"  # the account as a whole: the only scope with an equity curve
PORTFOLIO = (
    "*"  # ticker and sector of a per-strategy or account snapshot (as on other account-level documents)
)


class PerformanceSnapshotDocument(Dimensions):
    """`_id` = snapshot_id (`<source>|<mode>|<strategy>|<YYYY-MM-DD>`), so a rerun overwrites its own
    documents instead of adding copies. Ratios that are undefined (no trades yet, no losses) are null."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    snapshot_id: str
    source: str  # records, or backtest:<run id>
    # Dimensions: mode; strategy is a strategy or ALL; ticker and sector are PORTFOLIO ("*").
    day: datetime  # the session's date at 00:00 UTC
    equity: float | None  # ALL only: strategies share one account
    daily_return: float | None
    drawdown: float | None  # equity / running peak - 1 (ALL only)
    realized_pnl: float  # cumulative, net of fees
    realized_pnl_day: float
    unrealized_pnl: float
    trades_closed: int  # cumulative
    trades_closed_day: int
    wins: int  # cumulative
    win_rate: float | None
    profit_factor: float | None
    expectancy: float | None
    average_r: float | None
    open_positions: int

"""The risk-state table, one port per aggregate: the account's trading state, per-symbol history, the order
rate, what strategies report they hold, entries queued for the open, equity samples, and the notices a
schedule has already announced. The DynamoDB
adapter implements them all on one table (adapters/risk_state.py); each use case takes only those it uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from tradepipe.contracts.items import EquitySnapshotItem


@dataclass(frozen=True)
class StoredTradingState:
    state: str  # TradingState value
    high_water_mark: Decimal
    losing_streak: int
    changed_at: datetime | None
    rule: str | None  # what set it: manual, daily_loss_limit, max_drawdown, losing_streak
    detail: str | None


class TradingStateStore(Protocol):
    """Per account (= mode): the trading state, the equity high-water mark and the losing streak."""

    def trading_state(self, account: str) -> StoredTradingState: ...

    def set_trading_state(
        self, account: str, state: str, rule: str, detail: str, at: datetime
    ) -> StoredTradingState:
        """Record a switch (and keep the previous state in the item's history)."""
        ...

    def reset_losing_streak(self, account: str) -> None:
        """A manual resume: the operator has seen the streak."""
        ...

    def raise_high_water_mark(self, account: str, equity: Decimal) -> Decimal:
        """max(stored, equity), stored; returns the mark."""
        ...


class SymbolHistoryStore(Protocol):
    """Per account#ticker#strategy: the last exit, stop-out and entry bar (cooldowns, one entry per bar).
    An exit also moves the account's losing streak: one write, so a redelivered exit counts once."""

    def record_exit(
        self, account: str, ticker: str, strategy: str, at: datetime, stop_out: bool, pnl: Decimal | None
    ) -> int:
        """Remember the exit for cooldowns; a losing pnl extends the account's losing streak, a winning one
        resets it. Returns the streak."""
        ...

    def record_entry(self, account: str, ticker: str, strategy: str, bar_time: datetime) -> None: ...

    def symbol_history(
        self, account: str, ticker: str, strategy: str
    ) -> tuple[datetime | None, datetime | None, datetime | None]:
        """(last_exit_at, last_stop_out_at, last_entry_bar)."""
        ...


class OrderRateStore(Protocol):
    """Per account: orders sent in the last minute (Alpaca allows 200 requests a minute)."""

    def count_order(self, account: str, at: datetime) -> int:
        """Count one order in the account's current minute; returns the count for the last 60 s window."""
        ...

    def orders_last_minute(self, account: str, at: datetime) -> int: ...


class PositionReports(Protocol):
    """Per account#ticker: what the strategy says it holds ({{strategy.position_size}})."""

    def report_position(self, account: str, ticker: str, qty: Decimal, at: datetime) -> None:
        """Kept for the reconciler's divergence check against the broker."""
        ...

    def reported_positions(self, account: str) -> dict[str, tuple[Decimal, datetime]]: ...


class QueuedEntries(Protocol):
    """Per account#ticker: the one entry waiting for the open."""

    def queue_entry(self, account: str, ticker: str, signal_id: str, at: datetime) -> str | None:
        """Store this one, return the signal_id it replaced."""
        ...

    def take_queued(self, account: str) -> list[tuple[str, str]]:
        """Remove and return every queued (ticker, signal_id) for the account (at the open)."""
        ...


class EquitySnapshotStore(Protocol):
    def record_equity_snapshot(self, item: EquitySnapshotItem) -> None:
        """Store one sample of the account's equity and positions (overwrites the same minute's)."""
        ...


class NoticeLedger(Protocol):
    """Notices whose cause a schedule sees again every minute while it lasts (a silent pipeline): noted here
    so each is announced once, whichever container or process runs the schedule next."""

    def first_notice(self, key: str, at: datetime, keep_for: timedelta) -> bool:
        """Note `key` at `at`. True when it was not already noted within its `keep_for` (announce it); False
        when it was (a repeat). Two schedules racing on the same key: exactly one gets True."""
        ...

"""The risk-state table, one port per aggregate: the account's trading state, per-symbol history, the order
rate, what strategies report they hold, entries queued for the open, and equity samples. The DynamoDB
adapter implements them all on one table (adapters/risk_state.py); each use case takes only those it uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from tradepipe.contracts.items import EquitySnapshotItem
from tradepipe.domain.model import Rejected
from tradepipe.domain.risk.reservations import Book, Granted


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


class EntryReservations(Protocol):
    """Per account: the entries approved and not yet in the broker's figures (domain/risk/reservations.py).
    Each method is atomic on the account's one record: DynamoDB a conditional write on the item, SQLite one
    `BEGIN IMMEDIATE` transaction, memory a lock."""

    def reserve(self, account: str, decide: Callable[[Book], Granted | Rejected]) -> Granted | Rejected:
        """Read the account's book, let `decide` (the domain's `fit`) judge the entry against it, and store
        the book it grants, all as one atomic step: two concurrent reservations never both see the same
        room. Raises RiskStateConflict when it keeps losing the race (a retry of the message fixes it)."""
        ...

    def release(self, account: str, reservation_id: str) -> bool:
        """Drop a reservation (its order ended or filled); False when it was not there (already released,
        expired, or never made). Its order-rate slot stays counted for its minute."""
        ...

    def hold_at_broker(self, account: str, reservation_id: str, until: datetime) -> bool:
        """The order reached the broker: the lease moves to `until` (it may rest there) and the broker's
        buying power counts it from now on. False when the reservation is gone."""
        ...

    def book(self, account: str) -> Book:
        """The account's stored book, expired leases included (callers take `.live(now)`)."""
        ...


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

"""The risk-state table, one port per aggregate: the account's trading state, per-symbol history, the order
rate, what strategies report they hold, entries and closes queued for the open, equity samples, the notices
a schedule has already announced, and the per-ticker leases that keep the executor and the reconciler from
working on one position at once. The DynamoDB
adapter implements them all on one table (adapters/risk_state.py); each use case takes only those it uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
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

    def release(self, account: str, reservation_id: str, at: datetime) -> bool:
        """Its order ended or filled at `at`: the reservation is kept for `SETTLE`, counted only for broker
        figures read before `at` (`Book.released`); False when it was not there (already released, expired,
        or never made). Its order-rate slot stays counted for its minute."""
        ...

    def hold_at_broker(self, account: str, reservation_id: str, until: datetime, at: datetime) -> bool:
        """The order reached the broker at `at`: the lease moves to `until` (it may rest there) and buying
        power read after `at` counts it. False when the reservation is gone."""
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

    def drop_queued_entry(self, account: str, ticker: str) -> str | None:
        """Remove the ticker's queued entry (an exit cancels it); returns its signal_id, None if none."""
        ...


class QueuedCloses(Protocol):
    """Per account#ticker: the exit that arrived while the market was closed, waiting for the open (the
    position keeps its stop legs until then). One per ticker: a later exit finds the first already queued."""

    def queue_close(self, account: str, ticker: str, signal_id: str, at: datetime) -> str:
        """Queue it unless a close is already queued for the ticker; returns the signal_id queued (this
        one, or the earlier one that will close the position)."""
        ...

    def queued_closes(self, account: str) -> dict[str, str]:
        """ticker -> signal_id of every close waiting for the open."""
        ...

    def drop_queued_close(self, account: str, ticker: str, signal_id: str) -> None:
        """Done: remove it, if it is still this signal's."""
        ...


class TickerLeases(Protocol):
    """Per account#ticker: who works on the position now. The executor holds it while it changes the
    ticker's orders; the reconciler takes it before it repairs protection, so the two never race. A lease
    expires on its own (`ttl_s`): a holder that died frees the ticker by then."""

    def acquire_lease(self, account: str, ticker: str, holder: str, now: datetime, ttl_s: float) -> bool:
        """Take the lease if it is free, expired or already this holder's (then it is extended)."""
        ...

    def release_lease(self, account: str, ticker: str, holder: str) -> None:
        """Give it back, if it is still this holder's."""
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


class RiskState(
    TradingStateStore,
    SymbolHistoryStore,
    OrderRateStore,
    EntryReservations,
    PositionReports,
    QueuedEntries,
    QueuedCloses,
    TickerLeases,
    EquitySnapshotStore,
    NoticeLedger,
    Protocol,
):
    """Every aggregate of the risk-state table: what one adapter per backend serves (backends/views.py)."""

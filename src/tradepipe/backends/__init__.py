"""Where a deployment keeps its records, queues, events and secrets.

A backend builds the store, queue, event and secret adapters for one kind of deployment; the composition
root (`tradepipe.composition`) asks it for them and wires them into the use cases. `aws.py` is the AWS
one (DynamoDB, SQS FIFO, EventBridge, Secrets Manager; moto in the embedded default). Another runtime
(SQLite on one machine) is one more module with the same shape and one more branch in
`composition._backend()`. The broker, market data and search index do not depend on the backend.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

# Type-only: a function imports the ports its adapters need when it builds them, not all of them here.
if TYPE_CHECKING:
    from tradepipe.ports.admission import SignalAdmission
    from tradepipe.ports.fill_cursor import FillCursorStore
    from tradepipe.ports.lots import LotStore
    from tradepipe.ports.messaging import EventPublisher, IntentQueue, SignalQueue
    from tradepipe.ports.request_budget import RequestBudget
    from tradepipe.ports.risk_state import (
        EntryReservations,
        EquitySnapshotStore,
        NoticeLedger,
        OrderRateStore,
        PositionReports,
        QueuedCloses,
        QueuedEntries,
        SymbolHistoryStore,
        TickerLeases,
        TradingStateStore,
    )
    from tradepipe.ports.secrets import SecretSource
    from tradepipe.ports.stores import FillStore, OrderStore, SignalFeed, SignalLookup, SignalStore


class Backend(Protocol):
    """Each adapter is built on first use and then reused: one client per process."""

    @property
    def signal_store(self) -> SignalStore: ...
    @property
    def signal_feed(self) -> SignalFeed: ...
    @property
    def signal_lookup(self) -> SignalLookup: ...
    @property
    def order_store(self) -> OrderStore: ...
    @property
    def fill_store(self) -> FillStore: ...
    @property
    def trading_state(self) -> TradingStateStore: ...
    @property
    def symbol_history(self) -> SymbolHistoryStore: ...
    @property
    def order_rate(self) -> OrderRateStore: ...
    @property
    def reservations(self) -> EntryReservations: ...
    @property
    def position_reports(self) -> PositionReports: ...
    @property
    def queued_entries(self) -> QueuedEntries: ...
    @property
    def queued_closes(self) -> QueuedCloses: ...
    @property
    def ticker_leases(self) -> TickerLeases: ...
    @property
    def lots(self) -> LotStore: ...
    @property
    def equity_snapshots(self) -> EquitySnapshotStore: ...
    @property
    def request_budget(self) -> RequestBudget: ...
    @property
    def notice_ledger(self) -> NoticeLedger: ...
    @property
    def fill_cursor(self) -> FillCursorStore: ...
    @property
    def signal_queue(self) -> SignalQueue: ...
    def in_one_transaction(self, signals: SignalStore) -> SignalStore:
        """`signals` (with what it writes through, e.g. the events of its notices) committing each write as
        one, where the backend can; else `signals` itself."""
        ...

    def unit_of_work(self) -> AbstractContextManager[object]:
        """Every write of every store inside it as one, where the backend can (the stores' own writes become
        parts of it); else nothing (each write its own)."""
        ...

    # The intake's record + enqueue as one write where the backend can; None: three steps.
    @property
    def signal_admission(self) -> SignalAdmission | None: ...
    @property
    def intent_queue(self) -> IntentQueue: ...
    @property
    def events(self) -> EventPublisher: ...
    @property
    def secrets(self) -> SecretSource: ...

"""A signal store whose every write is one SQLite transaction, whatever it writes through.

The stages write signals through `app.notices.AnnouncedRejections`, which moves a signal to REJECTED and
then publishes its `SignalRejected` on the event log. On SQLite both live in one file, so they commit
together: a crash between them no longer loses the notice, and the intake's group commit queues behind one
turn on the writer lock instead of two (the change and its notice; under a burst of refusals at a cap, a
turn per refused alert). The wrapped store's own transactions become savepoints inside it."""

from __future__ import annotations

from tradepipe.adapters.sqlite.database import Database
from tradepipe.contracts.items import SignalItem, StatusUpdate
from tradepipe.ports.stores import SignalStore


class OneTransactionSignalStore:
    def __init__(self, db: Database, store: SignalStore) -> None:
        self._db, self._store = db, store

    def record_new(self, item: SignalItem) -> bool:
        with self._db.transaction():
            return self._store.record_new(item)

    def get(self, signal_id: str) -> SignalItem | None:
        return self._store.get(signal_id)

    def advance(self, signal_id: str, update: StatusUpdate) -> bool:
        with self._db.transaction():
            return self._store.advance(signal_id, update)

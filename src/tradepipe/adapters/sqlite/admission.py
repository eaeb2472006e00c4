"""An accepted alert admitted in one write: its record, already ENQUEUED, and its queue message, in one
transaction (a savepoint within the intake's group commit).

What it leaves is what record, send and advance leave (the item's status ENQUEUED, its trail RECEIVED then
ENQUEUED, `updated_at` the ENQUEUED time; the message on the signals queue); the item is encoded and written
once instead of written, read back and rewritten, and the change feed carries one INSERT instead of an INSERT
and a MODIFY (the indexer coalesced those into one document anyway)."""

from __future__ import annotations

from tradepipe.adapters.sqlite.database import Database
from tradepipe.adapters.sqlite.queues import SqliteSignalQueue
from tradepipe.adapters.sqlite.records import SqliteSignalStore
from tradepipe.contracts.items import SignalItem, StatusEntry
from tradepipe.contracts.messages import SignalAccepted
from tradepipe.domain.lifecycle import allowed_from
from tradepipe.domain.model import SignalStatus
from tradepipe.ports.clock import Clock


def as_enqueued(item: SignalItem, clock: Clock) -> SignalItem:
    """`item` (RECEIVED) as admission leaves it: ENQUEUED now, its trail RECEIVED then ENQUEUED."""
    if item.status not in allowed_from(SignalStatus.ENQUEUED):
        raise ValueError(f"a {item.status} signal cannot be enqueued")
    entry = StatusEntry(status=SignalStatus.ENQUEUED, at=clock.now())
    return item.model_copy(
        update={"status": entry.status, "updated_at": entry.at, "history": [*item.history, entry]}
    )


class SqliteSignalAdmission:
    def __init__(self, db: Database, signals: SqliteSignalStore, queue: SqliteSignalQueue) -> None:
        self._db, self._signals, self._queue = db, signals, queue

    def admit(self, item: SignalItem, message: SignalAccepted, clock: Clock) -> bool:
        enqueued = as_enqueued(item, clock)
        with self._db.transaction():
            if not self._signals.record_new(enqueued):
                return False
            self._queue.send(message)
        return True

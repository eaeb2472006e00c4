"""The intake's own database: what the webhook writes before it answers, in a file no other process writes.

Why a second file: SQLite has one writer per database file. When the intake's group commit shared
`tradepipe.db` with the workers, it waited for whichever worker held the writer lock (the risk pollers held
it ~45% of a burst), and that wait was most of the webhook's p99 (a lock trace: the intake's wait p99
~11 ms; the intake alone on the machine, with the same CPU burnt beside it, p99 ~15 ms against ~25 ms).
Here the intake is the only writer of `inbox.db`, so its commit waits for nobody; the workers' relay
(`adapters/sqlite/inbox_relay.py`) moves each row into `tradepipe.db` with the stores' own SQL, in order and
exactly once (its cursor commits with the rows it moved), and the intake deletes what the relay has moved.

What a row is: one write of a port, already encoded as the stores encode it: a signal's record (`signal`),
a message for the signals queue (`message`), an event (`event`), the request counters (`metrics`). The
ports below are what the single-machine intake is composed with (`composition.local_intake_deps`); their
answers are the stores' answers, given here: a signal is new unless its id is waiting in the inbox or
recorded in `tradepipe.db` (read without a lock; only the intake records alert ids, so nothing can record
one between this check and the relay's insert).

Durability is the promise's: `synchronous=FULL`, and a row is on disk before its alert is answered. The
relay commits its moves at the workers' `NORMAL` (an OS crash may take the last ones back) and, every
`SYNC_EVERY_S` while it moves, commits its cursor as `SYNCED_KEY` at `FULL`: that commit's fsync of the WAL
puts every move before it on disk. The intake deletes only rows up to that synced cursor, so a move an OS
crash could take back still has its rows here, and the relay moves them again (its cursor went back with
them). A crash of the workers leaves rows waiting here; the relay moves them when it starts again. One
`FULL` commit per run of moves was the relay's largest cost (~0.2 ms of CPU an alert at 50 alerts/s)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from tradepipe.adapters.sqlite.admission import as_enqueued
from tradepipe.adapters.sqlite.database import Database, Durability
from tradepipe.adapters.sqlite.metrics import utc_day
from tradepipe.adapters.sqlite.queues import signal_message
from tradepipe.adapters.sqlite.records import signal_recorded, signal_row
from tradepipe.contracts.items import SignalItem, StatusUpdate
from tradepipe.contracts.messages import SignalAccepted
from tradepipe.ports.clock import Clock

INBOX_FILE = "inbox.db"
CURSOR_KEY = "inbox_seq"  # in tradepipe.db's meta table: the last inbox row the relay moved
SYNCED_KEY = "inbox_seq_synced"  # the last inbox row whose move is on disk: the intake deletes up to it
# Small and often: deleting a second's rows at once (~1,400 at 10 senders) held one group commit for
# milliseconds, a p99 of its own (intake p99 ~24 -> ~19 ms at 20 ms). The relay's sync moves the deletable
# rows on in steps (every SYNC_EVERY_S), so each prune also takes at most PRUNE_MAX_ROWS, the oldest: 3,200
# rows a second, above the intake's most.
PRUNE_EVERY_S = 0.02
PRUNE_MAX_ROWS = 64
# The relay checkpoints the inbox's WAL (`InboxRelay.checkpoint`), off the intake's commit path; the intake
# does only when the WAL has grown this far (pages; SQLite's default is 1,000), the relay being away.
INTAKE_AUTOCHECKPOINT_PAGES = 10_000

SIGNAL, MESSAGE, EVENT, METRICS = "signal", "message", "event", "metrics"

# AUTOINCREMENT: a sequence number is never reused after its row is deleted, so the relay's cursor (the last
# number moved) can never skip a row written later.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    signal_id TEXT,
    payload TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_by_signal ON inbox (signal_id) WHERE signal_id IS NOT NULL;
"""


def open_inbox(state_dir: Path) -> Database:
    path = state_dir / INBOX_FILE
    fresh = not path.exists()
    db = Database(path, Durability.PROMISE)
    conn = db.connection()
    if fresh:
        os.chmod(path, 0o600)
    conn.executescript(_SCHEMA)
    return db


def moved_up_to(main: Database) -> int:
    return _cursor(main, CURSOR_KEY)


def synced_up_to(main: Database) -> int:
    return _cursor(main, SYNCED_KEY)


def _cursor(main: Database, key: str) -> int:
    row = main.connection().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row else 0


class Inbox:
    """The writing side, in the intake process: every method joins the caller's transaction (the group
    commit's savepoint for its request)."""

    def __init__(
        self, db: Database, main: Database, clock: Any = time.monotonic, wall: Any = time.time
    ) -> None:
        self.db, self._main, self._clock, self._wall = db, main, clock, wall
        self._pruned_at = float("-inf")
        self._started = False

    def _start(self) -> None:
        """Once, before the first write: checkpoints left to the relay; and numbering that continues after
        the relay's cursor. A new or restored `inbox.db` would otherwise number its rows from 1 again, below a
        cursor that has passed them: the relay would skip them and this side prune them, unmoved."""
        conn = self.db.connection()
        conn.execute(f"PRAGMA wal_autocheckpoint={INTAKE_AUTOCHECKPOINT_PAGES}")
        with self.db.transaction():
            after = moved_up_to(self._main)
            conn.execute(
                "INSERT INTO sqlite_sequence (name, seq) SELECT 'inbox', 0 WHERE NOT EXISTS "
                "(SELECT 1 FROM sqlite_sequence WHERE name = 'inbox')"
            )
            conn.execute(
                "UPDATE sqlite_sequence SET seq = ? WHERE name = 'inbox' AND seq < ?", (after, after)
            )
        self._started = True

    def append(self, kind: str, payload: Any, signal_id: str | None = None) -> None:
        if not self._started:  # one writer thread: the group commit's
            self._start()
        with self.db.transaction() as conn:
            if self._clock() - self._pruned_at >= PRUNE_EVERY_S:
                # What the relay has moved and synced, deleted in a commit the intake makes anyway (no fsync
                # of its own).
                self._pruned_at = self._clock()
                conn.execute(
                    "DELETE FROM inbox WHERE seq IN "
                    "(SELECT seq FROM inbox WHERE seq <= ? ORDER BY seq LIMIT ?)",
                    (synced_up_to(self._main), PRUNE_MAX_ROWS),
                )
            conn.execute(
                "INSERT INTO inbox (kind, signal_id, payload, at) VALUES (?, ?, ?, ?)",
                (kind, signal_id, json.dumps(payload, separators=(",", ":")), self._wall()),
            )

    def waiting_item(self, signal_id: str) -> str | None:
        row = (
            self.db.connection()
            .execute(
                "SELECT payload FROM inbox WHERE signal_id = ? AND kind = ? ORDER BY seq DESC LIMIT 1",
                (signal_id, SIGNAL),
            )
            .fetchone()
        )
        return None if row is None else str(json.loads(row[0])[-1])

    def recorded(self, signal_id: str) -> bool:
        """Waiting here, or already in `tradepipe.db` (checked in that order: the intake's own pruning is
        the only thing that takes a row from here, and it runs on this same thread)."""
        if self.waiting_item(signal_id) is not None:
            return True
        return signal_recorded(self._main.connection(), signal_id)

    def record(self, item: SignalItem) -> bool:
        if self.recorded(item.signal_id):
            return False
        self.append(SIGNAL, signal_row(item), item.signal_id)
        return True


class InboxSignalStore:
    """SignalStore for the intake: records go to the inbox; reads see the inbox, then `tradepipe.db`."""

    def __init__(self, inbox: Inbox, main: Any) -> None:
        self._inbox, self._main = inbox, main  # main: the SqliteSignalStore of tradepipe.db, for reads

    def record_new(self, item: SignalItem) -> bool:
        return self._inbox.record(item)

    def get(self, signal_id: str) -> SignalItem | None:
        # tradepipe.db first: once moved, the signal goes on from there and the inbox's copy is stale.
        found: SignalItem | None = self._main.get(signal_id)
        if found is not None:
            return found
        waiting = self._inbox.waiting_item(signal_id)
        return None if waiting is None else SignalItem.model_validate_json(waiting)

    def advance(self, signal_id: str, update: StatusUpdate) -> bool:
        # The intake admits in one write (InboxAdmission) and never moves a signal; the stages that do write
        # tradepipe.db directly.
        raise NotImplementedError("the intake's inbox records and enqueues; it moves no signal")


class InboxSignalQueue:
    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox

    def send(self, message: SignalAccepted) -> None:
        self._inbox.append(MESSAGE, signal_message(message))


class InboxAdmission:
    """The record (already ENQUEUED) and its message, as `SqliteSignalAdmission` writes them, in the inbox."""

    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox

    def admit(self, item: SignalItem, message: SignalAccepted, clock: Clock) -> bool:
        enqueued = as_enqueued(item, clock)
        with self._inbox.db.transaction():
            if not self._inbox.record(enqueued):
                return False
            self._inbox.append(MESSAGE, signal_message(message))
        return True


class InboxEvents:
    def __init__(self, inbox: Inbox, clock: Any = time.time) -> None:
        self._inbox, self._clock = inbox, clock

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        encoded = json.loads(json.dumps(detail, default=str))  # as the outbox encodes it
        self._inbox.append(EVENT, [detail_type, encoded, self._clock()])


class InboxMetrics:
    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox

    def add(self, counts: Mapping[str, int], at: datetime | None = None) -> None:
        if any(counts.values()):
            self._inbox.append(METRICS, [utc_day(at), dict(counts)])

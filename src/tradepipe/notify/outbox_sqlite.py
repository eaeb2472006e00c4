"""The outbox in SQLite: messages survive a restart of `tradepipe local`.

Its own file under the state dir, WAL journal. `synchronous=FULL`: in WAL mode NORMAL already survives a
crash of the process, but a power cut or kernel panic may roll back the last commits; a HALT or an
unprotected position announced just before the machine went down is exactly what must still go out after
it comes back. FULL costs one fsync of the WAL per enqueue (`make bench`: see benchmarks/bench_notify.py),
and enqueues are a few a minute, not the trading path's thousands.

One connection shared by the enqueuing thread and the channel lanes, behind a lock: writes are tiny and
SQLite serializes writers anyway.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from tradepipe.notify.outbox import Pending, State
from tradepipe.notify.render import Message

FILE_NAME = "notify-outbox.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    text TEXT NOT NULL,
    subject TEXT NOT NULL,
    event_keys TEXT NOT NULL,
    events TEXT NOT NULL,
    enqueued_at REAL NOT NULL,
    not_before REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS messages_by_channel ON messages (channel_id, state, id);
CREATE INDEX IF NOT EXISTS messages_finished ON messages (finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS accepted (
    channel_id TEXT NOT NULL,
    event_key TEXT NOT NULL,
    message_id INTEGER NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (channel_id, event_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS accepted_by_message ON accepted (message_id);
"""


def _ts(value: datetime) -> float:
    return value.timestamp()


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


class SqliteOutbox:
    def __init__(self, state_dir: str | Path, synchronous: Literal["FULL", "NORMAL"] = "FULL") -> None:
        directory = Path(state_dir)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = directory / FILE_NAME
        self._lock = threading.Lock()
        # Autocommit mode: each write below opens its own IMMEDIATE transaction.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def known(self, channel_id: str, event_keys: Iterable[str]) -> set[str]:
        with self._lock:
            return {k for k in event_keys if self._accepted(channel_id, k)}

    def enqueue(self, entries: Sequence[tuple[str, Message]], now: datetime) -> int:
        added = 0
        at = _ts(now)
        with self._lock, self._transaction():
            for channel_id, message in entries:
                fresh = [k for k in message.event_keys if not self._accepted(channel_id, k)]
                if message.event_keys and not fresh:
                    continue
                cursor = self._db.execute(
                    "INSERT INTO messages (channel_id, text, subject, event_keys, events, enqueued_at,"
                    " not_before) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        channel_id,
                        message.text,
                        message.subject,
                        json.dumps(list(message.event_keys)),
                        json.dumps(list(message.events), separators=(",", ":")),
                        at,
                        at,
                    ),
                )
                self._db.executemany(
                    "INSERT OR IGNORE INTO accepted (channel_id, event_key, message_id, at)"
                    " VALUES (?, ?, ?, ?)",
                    [(channel_id, k, cursor.lastrowid, at) for k in fresh],
                )
                added += 1
        return added

    def head(self, channel_id: str) -> Pending | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, channel_id, state, text, subject, event_keys, events, enqueued_at, not_before,"
                " attempts, last_error FROM messages WHERE channel_id = ? AND state = 'pending'"
                " ORDER BY id LIMIT 1",
                (channel_id,),
            ).fetchone()
            return self._pending(row) if row else None

    def get(self, message_id: int) -> Pending:
        with self._lock:
            row = self._db.execute(
                "SELECT id, channel_id, state, text, subject, event_keys, events, enqueued_at, not_before,"
                " attempts, last_error FROM messages WHERE id = ?",
                (message_id,),
            ).fetchone()
            return self._pending(row)

    def delivered(self, message_id: int, now: datetime) -> None:
        self._finish(message_id, "delivered", now, "")

    def retry(self, message_id: int, not_before: datetime, error: str) -> None:
        with self._lock, self._transaction():
            self._db.execute(
                "UPDATE messages SET attempts = attempts + 1, not_before = ?, last_error = ? WHERE id = ?",
                (_ts(not_before), error[:500], message_id),
            )

    def drop(self, message_id: int, now: datetime, reason: str) -> None:
        self._finish(message_id, "dropped", now, reason)

    def pending_keys(self, event_keys: Iterable[str]) -> set[str]:
        with self._lock:
            return {
                k
                for k in event_keys
                if self._db.execute(
                    "SELECT 1 FROM accepted a JOIN messages m ON m.id = a.message_id"
                    " WHERE a.event_key = ? AND m.state = 'pending' LIMIT 1",
                    (k,),
                ).fetchone()
            }

    def pending_count(self, channel_id: str | None = None) -> int:
        with self._lock:
            if channel_id is None:
                row = self._db.execute("SELECT COUNT(*) FROM messages WHERE state = 'pending'").fetchone()
            else:
                row = self._db.execute(
                    "SELECT COUNT(*) FROM messages WHERE state = 'pending' AND channel_id = ?", (channel_id,)
                ).fetchone()
            return int(row[0])

    def prune(self, before: datetime) -> int:
        cutoff = _ts(before)
        with self._lock, self._transaction():
            self._db.execute("DELETE FROM accepted WHERE at < ?", (cutoff,))
            cursor = self._db.execute(
                "DELETE FROM messages WHERE finished_at IS NOT NULL AND finished_at < ?", (cutoff,)
            )
            return cursor.rowcount

    def _finish(self, message_id: int, state: State, now: datetime, reason: str) -> None:
        with self._lock, self._transaction():
            self._db.execute(
                "UPDATE messages SET state = ?, attempts = attempts + 1, last_error = ?, finished_at = ?"
                " WHERE id = ?",
                (state, reason[:500], _ts(now), message_id),
            )

    def _accepted(self, channel_id: str, event_key: str) -> bool:
        return (
            self._db.execute(
                "SELECT 1 FROM accepted WHERE channel_id = ? AND event_key = ?", (channel_id, event_key)
            ).fetchone()
            is not None
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    @staticmethod
    def _pending(row: Any) -> Pending:
        (id_, channel_id, state, text, subject, keys, events, enqueued, not_before, attempts, error) = row
        message = Message(text, subject, tuple(json.loads(keys)), tuple(json.loads(events)))
        return Pending(id_, channel_id, message, _dt(enqueued), attempts, _dt(not_before), state, error)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")

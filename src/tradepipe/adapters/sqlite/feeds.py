"""Readers of the database's two append-only logs, each with a durable checkpoint per consumer:

- `changes` (written by triggers on the item tables): the local DynamoDB streams. The indexer reads it in
  batches and, like Lambda's stream mapping with ReportBatchItemFailures, resumes at the lowest failed record.
- `events` (written by `SqliteEventOutbox` in the same transaction as the change it reports): the local event
  bus. Each consumer (notifier, alarms) reads every event once, in order, as an EventBridge rule's target
  would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradepipe.adapters.sqlite.database import Database

# How long an applied change stays readable (a DynamoDB stream keeps 24 hours).
RETENTION_S = 24 * 3600.0
CHANGES_PREFIX = "changes:"
EVENTS_PREFIX = "events:"


@dataclass(frozen=True)
class Change:
    seq: int
    table_name: str  # the DynamoDB table's base name: signals, orders, fills, risk-state
    event_name: str  # INSERT | MODIFY | REMOVE
    old_image: dict[str, Any] | None
    new_image: dict[str, Any] | None
    at: float


@dataclass(frozen=True)
class Event:
    seq: int
    detail_type: str
    detail: dict[str, Any]
    at: float


def _image(raw: str | None) -> dict[str, Any] | None:
    # Numbers come back as Decimal, as boto3 gives them from a stream image.
    return None if raw is None else json.loads(raw, parse_float=Decimal, parse_int=Decimal)


class Checkpoints:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, consumer: str) -> int:
        row = (
            self._db.connection()
            .execute("SELECT seq FROM checkpoints WHERE consumer = ?", (consumer,))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def set(self, consumer: str, seq: int) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO checkpoints (consumer, seq) VALUES (?, ?) "
                "ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq",
                (consumer, seq),
            )


class ChangeFeed:
    def __init__(self, db: Database, consumer: str) -> None:
        self._db = db
        self.consumer = CHANGES_PREFIX + consumer
        self._checkpoints = Checkpoints(db)

    def pending(self, limit: int = 100) -> list[Change]:
        after = self._checkpoints.get(self.consumer)
        rows = self._db.connection().execute(
            "SELECT seq, table_name, event_name, old_item, new_item, at FROM changes WHERE seq > ? "
            "ORDER BY seq LIMIT ?",
            (after, limit),
        )
        return [
            Change(seq, table, event, _image(old), _image(new), at)
            for seq, table, event, old, new, at in rows
        ]

    def applied(self, batch: list[Change], failed_seqs: set[int]) -> None:
        """Move the checkpoint past the batch, or to just before its lowest failure (retried next read)."""
        if not batch:
            return
        upto = (min(failed_seqs) - 1) if failed_seqs else batch[-1].seq
        self._checkpoints.set(self.consumer, upto)

    def rewind(self) -> None:
        """Read everything still retained again (rebuilding a search index that was lost)."""
        self._checkpoints.set(self.consumer, 0)

    def lag(self) -> int:
        row = self._db.connection().execute("SELECT MAX(seq) FROM changes").fetchone()
        return max(0, int(row[0] or 0) - self._checkpoints.get(self.consumer))


class EventLog:
    """Read side of the outbox for one consumer."""

    def __init__(self, db: Database, consumer: str) -> None:
        self._db = db
        self.consumer = EVENTS_PREFIX + consumer
        self._checkpoints = Checkpoints(db)

    def pending(self, limit: int = 100) -> list[Event]:
        after = self._checkpoints.get(self.consumer)
        rows = self._db.connection().execute(
            "SELECT seq, detail_type, detail, at FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        )
        return [Event(seq, kind, json.loads(detail), at) for seq, kind, detail, at in rows]

    def done(self, upto_seq: int) -> None:
        self._checkpoints.set(self.consumer, upto_seq)


class SqliteEventOutbox:
    """EventPublisher over the outbox table: joins the caller's transaction when there is one, so an event is
    recorded if and only if the change it reports is."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        with self._db.transaction() as conn:
            append_event(conn, detail_type, detail, self._clock())


def append_event(conn: Any, detail_type: str, detail: Mapping[str, Any], at: float) -> None:
    """One event on the local bus, inside the caller's transaction."""
    conn.execute(
        "INSERT INTO events (detail_type, detail, at) VALUES (?, ?, ?)",
        (detail_type, json.dumps(detail, default=str, sort_keys=True), at),
    )


def trim(db: Database, now: float | None = None) -> int:
    """Drop changes and events older than the retention that every consumer has read."""
    cutoff = (now if now is not None else time.time()) - RETENTION_S
    removed = 0
    with db.transaction() as conn:
        for table, prefix in (("changes", CHANGES_PREFIX), ("events", EVENTS_PREFIX)):
            row = conn.execute(
                "SELECT MIN(seq) FROM checkpoints WHERE consumer LIKE ?", (prefix + "%",)
            ).fetchone()
            lowest = int(row[0]) if row and row[0] is not None else 0
            sql = f"DELETE FROM {table} WHERE at < ? AND seq <= ?"  # noqa: S608 - our own table names
            removed += conn.execute(sql, (cutoff, lowest)).rowcount
    return removed

"""The per-channel retry queue (the outbox): a small port, an in-memory adapter here, SQLite in
`outbox_sqlite.py`.

Each channel has its own ordered queue: a channel that fails holds back only its own messages. The outbox
also remembers which event keys each channel has accepted, so a redelivered event is not sent twice, and
records how each message ended (delivered, or dropped with a reason) until `prune` forgets it. It stores
channel ids and rendered text only, never a channel URL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, Protocol

from tradepipe.notify.render import Message

State = Literal["pending", "delivered", "dropped"]


@dataclass(frozen=True)
class Pending:
    id: int
    channel_id: str
    message: Message
    enqueued_at: datetime
    attempts: int
    not_before: datetime
    state: State = "pending"
    last_error: str = ""


class Outbox(Protocol):
    def known(self, channel_id: str, event_keys: Iterable[str]) -> set[str]:
        """The keys this channel already accepted (pending, delivered or dropped)."""
        ...

    def enqueue(self, entries: Sequence[tuple[str, Message]], now: datetime) -> int:
        """Add (channel id, message) entries in one write; a message whose keys the channel already
        accepted is skipped. Returns how many were added."""
        ...

    def head(self, channel_id: str) -> Pending | None:
        """The channel's oldest pending message, due or not."""
        ...

    def delivered(self, message_id: int, now: datetime) -> None: ...

    def retry(self, message_id: int, not_before: datetime, error: str) -> None: ...

    def drop(self, message_id: int, now: datetime, reason: str) -> None: ...

    def pending_keys(self, event_keys: Iterable[str]) -> set[str]:
        """Those of `event_keys` still waiting in some channel's queue."""
        ...

    def pending_count(self, channel_id: str | None = None) -> int: ...

    def prune(self, before: datetime) -> int:
        """Forget finished messages and accepted keys older than `before`; returns messages forgotten."""
        ...


class MemoryOutbox:
    """For tests and for Lambda, where the SQS queue in front is the durable store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[int, Pending] = {}
        self._finished_at: dict[int, datetime] = {}
        self._seen: dict[tuple[str, str], tuple[int, datetime]] = {}
        self._next_id = 1

    def known(self, channel_id: str, event_keys: Iterable[str]) -> set[str]:
        with self._lock:
            return {k for k in event_keys if (channel_id, k) in self._seen}

    def enqueue(self, entries: Sequence[tuple[str, Message]], now: datetime) -> int:
        added = 0
        with self._lock:
            for channel_id, message in entries:
                fresh = [k for k in message.event_keys if (channel_id, k) not in self._seen]
                if message.event_keys and not fresh:
                    continue
                row = Pending(self._next_id, channel_id, message, now, 0, now)
                self._rows[row.id] = row
                for key in fresh:
                    self._seen[(channel_id, key)] = (row.id, now)
                self._next_id += 1
                added += 1
        return added

    def head(self, channel_id: str) -> Pending | None:
        with self._lock:
            return next(
                (r for r in self._rows.values() if r.channel_id == channel_id and r.state == "pending"), None
            )

    def delivered(self, message_id: int, now: datetime) -> None:
        self._finish(message_id, "delivered", now, "")

    def retry(self, message_id: int, not_before: datetime, error: str) -> None:
        with self._lock:
            row = self._rows[message_id]
            self._rows[message_id] = replace(
                row, attempts=row.attempts + 1, not_before=not_before, last_error=error
            )

    def drop(self, message_id: int, now: datetime, reason: str) -> None:
        self._finish(message_id, "dropped", now, reason)

    def pending_keys(self, event_keys: Iterable[str]) -> set[str]:
        wanted = set(event_keys)
        with self._lock:
            return {
                key
                for row in self._rows.values()
                if row.state == "pending"
                for key in row.message.event_keys
                if key in wanted
            }

    def pending_count(self, channel_id: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self._rows.values()
                if r.state == "pending" and (channel_id is None or r.channel_id == channel_id)
            )

    def state_of(self, message_id: int) -> Pending:
        with self._lock:
            return self._rows[message_id]

    def prune(self, before: datetime) -> int:
        with self._lock:
            old = [i for i, at in self._finished_at.items() if at < before]
            for message_id in old:
                del self._rows[message_id]
                del self._finished_at[message_id]
            for seen, (_, at) in list(self._seen.items()):
                if at < before:
                    del self._seen[seen]
            return len(old)

    def _finish(self, message_id: int, state: State, now: datetime, reason: str) -> None:
        with self._lock:
            row = self._rows[message_id]
            attempts = row.attempts + 1
            self._rows[message_id] = replace(row, state=state, attempts=attempts, last_error=reason)
            self._finished_at[message_id] = now

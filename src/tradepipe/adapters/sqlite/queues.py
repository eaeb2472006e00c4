"""SQS FIFO semantics on SQLite, the ones the pipeline relies on (AWS SQS Developer Guide, "FIFO queue logic"
and "Using dead-letter queues"):

- message groups: messages of one group are delivered in the order sent, and while any message of a group is
  in flight (received, not deleted, visibility not expired) no other message of that group is delivered;
  other groups proceed;
- deduplication: a message whose dedup id was sent in the last 5 minutes is accepted and dropped;
- visibility timeout: a received message is invisible until deleted or until the timeout passes, then it is
  delivered again with its receive count raised;
- redrive: a message received `max_receive_count` times and still not deleted goes to the dead-letter table
  on its next receive instead of being delivered.

One difference, on purpose: a consumer that fails a message may make it visible again after a short backoff
(`retry_after`) instead of waiting out the whole timeout (SQS's ChangeMessageVisibility); the runtime knows
when a local handler has failed, so it need not wait as a Lambda poller must.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from tradepipe.adapters.sqlite.database import Database
from tradepipe.adapters.sqlite.feeds import append_event
from tradepipe.adapters.sqs import group_id
from tradepipe.contracts.messages import OrderIntent, SignalAccepted

DEDUP_WINDOW_S = 300.0  # SQS FIFO's deduplication interval


@dataclass(frozen=True)
class QueueMessage:
    seq: int
    group_id: str
    dedup_id: str
    body: str
    sent_at: float
    receive_count: int  # including this delivery
    receipt: str


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    queue: str
    group_id: str
    body: str
    receive_count: int
    dead_at: float


# Visible messages of groups with nothing in flight, oldest first (?1 the queue, ?2 now). INDEXED BY the
# (queue, seq) index: the queue's own messages are walked in seq order and the walk stops at the LIMIT.
# Through the visible_at index the planner gathered every visible message and sorted them by seq to keep the
# first ten: with a backlog of thousands (a bar-close burst) each receive cost milliseconds, inside the write
# transaction that claims them, while the intake's group commit waited for that lock. Walked in the table's
# order (NOT INDEXED), a claim also stepped past the other queue's messages.
_CLAIMABLE = (
    "SELECT seq, group_id, dedup_id, body, sent_at, receive_count FROM queue_messages "
    "INDEXED BY queue_messages_by_seq "
    "WHERE queue = ?1 AND visible_at <= ?2 AND group_id NOT IN "
    "(SELECT group_id FROM queue_messages WHERE queue = ?1 AND visible_at > ?2) ORDER BY seq"
)


class SqliteFifoQueue:
    def __init__(
        self,
        db: Database,
        name: str,
        *,
        visibility_timeout_s: float,
        max_receive_count: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self.name = name
        self._visibility = visibility_timeout_s
        self._max_receives = max_receive_count
        self._clock = clock

    def send(self, body: str, group_id: str, dedup_id: str) -> bool:
        """False when the dedup id was seen within the window (SQS answers success and drops it)."""
        now = self._clock()
        with self._db.transaction() as conn:
            # One statement checks and claims the dedup id: it changes no row while the id is in its window.
            claimed = conn.execute(
                "INSERT INTO queue_dedup (queue, dedup_id, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (queue, dedup_id) DO UPDATE SET expires_at = excluded.expires_at "
                "WHERE queue_dedup.expires_at <= ?",
                (self.name, dedup_id, now + DEDUP_WINDOW_S, now),
            ).rowcount
            if claimed == 0:
                return False
            conn.execute(
                "INSERT INTO queue_messages (queue, group_id, dedup_id, body, sent_at, visible_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (self.name, group_id, dedup_id, body, now, now),
            )
        return True

    def receive(self, max_messages: int = 10) -> list[QueueMessage]:
        """Up to `max_messages` from groups with nothing in flight, each group's in order. Messages past their
        receive count go to the dead-letter table instead."""
        now = self._clock()
        delivered: list[QueueMessage] = []
        if not self._db.in_transaction and not self._any_claimable(now):
            # An idle poll, or one that finds only groups in flight at other pollers, takes no write lock.
            return delivered
        with self._db.transaction() as conn:
            rows = conn.execute(_CLAIMABLE + " LIMIT ?3", (self.name, now, max_messages)).fetchall()
            dead_groups: set[str] = set()
            for seq, group_id, dedup_id, body, sent_at, receive_count in rows:
                if group_id in dead_groups:
                    continue  # a group's order must hold: what follows a dead letter waits for the next poll
                if receive_count >= self._max_receives:
                    self._to_dead_letters(conn, seq, group_id, dedup_id, body, sent_at, receive_count, now)
                    dead_groups.add(group_id)
                    continue
                receipt = uuid.uuid4().hex
                conn.execute(
                    "UPDATE queue_messages SET receive_count = receive_count + 1, receipt = ?, "
                    "visible_at = ?, first_received_at = COALESCE(first_received_at, ?) WHERE seq = ?",
                    (receipt, now + self._visibility, now, seq),
                )
                delivered.append(
                    QueueMessage(seq, group_id, dedup_id, body, sent_at, receive_count + 1, receipt)
                )
        return delivered

    def _any_claimable(self, now: float) -> bool:
        """Read-only, so it holds no lock: with one group's backlog in flight at another poller, the scan
        past that backlog happens here rather than inside a write transaction the intake would wait for.
        An idle poll is one probe of the (queue, seq) index."""
        return self._db.connection().execute(_CLAIMABLE + " LIMIT 1", (self.name, now)).fetchone() is not None

    def _to_dead_letters(
        self,
        conn: object,
        seq: int,
        group_id: str,
        dedup_id: str,
        body: str,
        sent_at: float,
        receive_count: int,
        now: float,
    ) -> None:
        execute = conn.execute  # type: ignore[attr-defined]
        execute(
            "INSERT INTO dead_letters (queue, group_id, dedup_id, body, sent_at, receive_count, dead_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.name, group_id, dedup_id, body, sent_at, receive_count, now),
        )
        execute("DELETE FROM queue_messages WHERE seq = ?", (seq,))
        # What the DLQ's alarm rule publishes on AWS, here in the same transaction as the move itself.
        from tradepipe.contracts.events import MessageDeadLettered  # a dead letter is rare: built then

        dead = MessageDeadLettered(at=datetime.fromtimestamp(now, UTC), queue=self.name, count=1)
        append_event(conn, dead.detail_type, dead.as_detail(), now)

    def delete(self, message: QueueMessage) -> bool:
        """Delete a delivered message; False if its delivery expired and it was delivered again since."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM queue_messages WHERE seq = ? AND receipt = ?", (message.seq, message.receipt)
            )
        return cur.rowcount == 1

    def retry_after(self, message: QueueMessage, delay_s: float) -> None:
        """Make a failed message visible again after `delay_s` (ChangeMessageVisibility)."""
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE queue_messages SET visible_at = ? WHERE seq = ? AND receipt = ?",
                (self._clock() + delay_s, message.seq, message.receipt),
            )

    def recover_in_flight(self) -> int:
        """At start, when no consumer of the previous process can still be running: what it had in flight is
        visible again at once (its receive count stays raised, so a message that kills the worker every time
        still ends in the dead-letter table)."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE queue_messages SET visible_at = ? WHERE queue = ? AND visible_at > ?",
                (self._clock(), self.name, self._clock()),
            )
        return cur.rowcount

    def first_in_flight(self, group_id: str) -> str | None:
        """The dedup id of the group's oldest message if it is in flight at a poller or waiting out a
        retry's backoff (None: the group is empty, or its oldest message is there to be claimed), through
        its index."""
        row = (
            self._db.connection()
            .execute(
                "SELECT dedup_id, visible_at FROM queue_messages WHERE queue = ? AND group_id = ? "
                "ORDER BY seq LIMIT 1",
                (self.name, group_id),
            )
            .fetchone()
        )
        return None if row is None or row[1] <= self._clock() else str(row[0])

    def depth(self) -> tuple[int, int]:
        """(visible, in flight), as ApproximateNumberOfMessages / ...NotVisible."""
        now = self._clock()
        row = (
            self._db.connection()
            .execute(
                "SELECT SUM(visible_at <= ?), SUM(visible_at > ?) FROM queue_messages WHERE queue = ?",
                (now, now, self.name),
            )
            .fetchone()
        )
        return int(row[0] or 0), int(row[1] or 0)

    def dead_letters(self) -> list[DeadLetter]:
        rows = self._db.connection().execute(
            "SELECT seq, queue, group_id, body, receive_count, dead_at FROM dead_letters WHERE queue = ? "
            "ORDER BY seq",
            (self.name,),
        )
        return [DeadLetter(*row) for row in rows]

    def purge_expired_dedup(self) -> int:
        with self._db.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM queue_dedup WHERE queue = ? AND expires_at <= ?", (self.name, self._clock())
            )
        return cur.rowcount


def signal_message(message: SignalAccepted) -> tuple[str, str, str]:
    """What the signals queue is sent for `message`: its body, its FIFO group, its dedup id."""
    signal = message.signal
    return (
        message.model_dump_json(),
        group_id(signal.mode.value, signal.ticker),
        signal.signal_id + ("-released" if message.released else ""),
    )


class SqliteSignalQueue:
    """The SignalQueue port over the local signals queue: group and dedup ids as the SQS adapter sets them."""

    def __init__(self, queue: SqliteFifoQueue) -> None:
        self.queue = queue

    def send(self, message: SignalAccepted) -> None:
        self.queue.send(*signal_message(message))


def intent_keys(intent: OrderIntent) -> tuple[str, str]:
    """The intents queue's FIFO group and dedup id for `intent`."""
    return group_id(intent.mode.value, intent.symbol), intent.intent_id


class SqliteIntentQueue:
    def __init__(self, queue: SqliteFifoQueue) -> None:
        self.queue = queue

    def send(self, intent: OrderIntent) -> None:
        self.queue.send(intent.model_dump_json(), *intent_keys(intent))

"""The intake on SQLite admits an accepted alert in one write (adapters/sqlite/admission.py): the record,
already ENQUEUED, and its queue message commit together, and leave what the three steps AWS takes leave."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tradepipe.adapters.memory import StaticPassphrases
from tradepipe.adapters.sqlite.database import Database
from tradepipe.adapters.sqlite.feeds import ChangeFeed
from tradepipe.adapters.sqlite.queues import DEDUP_WINDOW_S, SqliteFifoQueue
from tradepipe.app.intake import Accepted, AlertRequest, IntakeDeps, RecordThenEnqueue, accept_alert
from tradepipe.backends.sqlite import SqliteBackend
from tradepipe.domain.model import SignalStatus
from tradepipe.settings import Settings

NOW = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)


class TickingClock:
    """Each reading a millisecond after the last: the ENQUEUED time is a reading of its own."""

    def __init__(self) -> None:
        self.current = NOW

    def now(self) -> datetime:
        self.current += timedelta(milliseconds=1)
        return self.current


def _backend(path: Path) -> SqliteBackend:
    return SqliteBackend(Settings.explicit(backend="sqlite", state_dir=str(path)))


def _deps(backend: SqliteBackend, *, one_write: bool) -> IntakeDeps:
    return IntakeDeps(
        secrets=StaticPassphrases(default="p"),
        store=backend.signal_store,
        queue=backend.signal_queue,
        clock=TickingClock(),
        dedupe_ttl_s=3600,
        admission=backend.signal_admission
        if one_write
        else RecordThenEnqueue(backend.signal_store, backend.signal_queue),
    )


def _alert() -> bytes:
    body = {"passphrase": "p", "ticker": "AAPL", "action": "buy", "quantity": 1, "signalPrice": 100}
    return json.dumps({**body, "time": NOW.isoformat()}).encode()


def test_accepted_alert_then_one_change_already_enqueued_and_its_message_queued(tmp_path: Path) -> None:
    backend = _backend(tmp_path)

    result = accept_alert(AlertRequest(_alert()), _deps(backend, one_write=True))

    assert isinstance(result, Accepted)
    changes = [c for c in ChangeFeed(backend.db, "test").pending() if c.table_name == "signals"]
    assert [c.event_name for c in changes] == ["INSERT"]  # the three steps wrote INSERT, then MODIFY
    image = changes[0].new_image
    assert image is not None
    assert image["status"] == "ENQUEUED"
    assert [entry["status"] for entry in image["history"]] == ["RECEIVED", "ENQUEUED"]
    assert backend.signal_fifo.depth() == (1, 0)


def test_one_write_then_the_same_record_and_message_as_the_three_steps(tmp_path: Path) -> None:
    one, three = _backend(tmp_path / "one"), _backend(tmp_path / "three")

    first = accept_alert(AlertRequest(_alert()), _deps(one, one_write=True))
    second = accept_alert(AlertRequest(_alert()), _deps(three, one_write=False))

    assert isinstance(first, Accepted)
    assert isinstance(second, Accepted)
    assert first.signal_id == second.signal_id
    recorded = one.signal_store.get(first.signal_id)
    assert recorded is not None
    assert recorded.status is SignalStatus.ENQUEUED
    assert recorded == three.signal_store.get(second.signal_id)
    assert recorded.updated_at == recorded.history[-1].at > recorded.received_at
    [message] = one.signal_fifo.receive()
    [expected] = three.signal_fifo.receive()
    assert (message.body, message.group_id, message.dedup_id) == (
        expected.body,
        expected.group_id,
        expected.dedup_id,
    )


def test_when_the_enqueue_fails_then_no_record_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = _backend(tmp_path)
    deps = _deps(backend, one_write=True)

    def down(*_: object) -> bool:
        raise OSError("disk full")

    monkeypatch.setattr(backend.signal_fifo, "send", down)
    with pytest.raises(OSError, match="disk full"):
        accept_alert(AlertRequest(_alert()), deps)

    assert backend.signal_store.count() == 0  # the record went with the message: a repeat is new


def test_queue_dedup_id_within_its_window_then_dropped_and_after_it_sent_again(tmp_path: Path) -> None:
    # SQS FIFO's deduplication interval, which the queue checks and claims in one statement.
    at = [1_704_207_600.0]
    fifo = SqliteFifoQueue(
        Database.open(tmp_path), "signals", visibility_timeout_s=60, max_receive_count=3, clock=lambda: at[0]
    )

    sent = [fifo.send("a", "paper#AAPL", "d1")]
    at[0] += DEDUP_WINDOW_S - 1
    sent.append(fifo.send("b", "paper#AAPL", "d1"))
    at[0] += 1
    sent.append(fifo.send("c", "paper#AAPL", "d1"))
    at[0] += 1
    sent.append(fifo.send("d", "paper#AAPL", "d1"))

    assert sent == [True, False, True, False]
    assert [m.body for m in fifo.receive()] == ["a", "c"]

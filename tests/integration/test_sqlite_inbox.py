"""The intake's inbox (adapters/sqlite/inbox.py) and its relay (adapters/sqlite/inbox_relay.py): what the
single-machine intake writes goes to a file only it writes, and the workers move it into tradepipe.db.

Moved, it is what the intake would have written there itself; each row is moved once, whatever fails or
runs twice; and a repeat of an alert is a duplicate whether its first copy waits in the inbox or was moved."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.clocks import ManualClock
from tradepipe.adapters.memory import FixedClock, StaticPassphrases
from tradepipe.adapters.sqlite.database import Database
from tradepipe.adapters.sqlite.inbox import (
    CURSOR_KEY,
    Inbox,
    InboxAdmission,
    InboxEvents,
    InboxMetrics,
    InboxSignalQueue,
    InboxSignalStore,
    moved_up_to,
    open_inbox,
)
from tradepipe.adapters.sqlite.inbox_relay import InboxRelay
from tradepipe.adapters.sqlite.one_transaction import OneTransactionSignalStore
from tradepipe.app.intake import (
    Accepted,
    AlertRequest,
    Batch,
    Duplicate,
    IntakeDeps,
    Invalid,
    accept_alert,
    metric_counts,
)
from tradepipe.app.notices import AnnouncedRejections
from tradepipe.backends.sqlite import SqliteBackend
from tradepipe.contracts.items import StatusUpdate
from tradepipe.domain.model import SignalStatus
from tradepipe.local.runtime.alarms import LocalAlarms
from tradepipe.settings import Settings

NOW = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)


_OPENED: list[Database] = []


@pytest.fixture(autouse=True)
def _close_databases() -> Iterator[None]:
    # Closed here, not left to the collector: a test's traceback (pytest.raises) keeps its databases, and
    # their writer-lock files, open (tests/integration/test_sqlite_writers.py counts them).
    yield
    while _OPENED:
        _OPENED.pop().close()


def _backend(path: Path) -> SqliteBackend:
    path.mkdir(exist_ok=True)
    backend = SqliteBackend(Settings.explicit(backend="sqlite", state_dir=str(path)))
    _OPENED.append(backend.db)
    return backend


def _inbox_db(state_dir: Path) -> Database:
    db = open_inbox(state_dir)
    _OPENED.append(db)
    return db


def _direct(backend: SqliteBackend) -> IntakeDeps:
    """The intake as it wrote before the inbox: straight into tradepipe.db."""
    events = backend.events
    return IntakeDeps(
        secrets=StaticPassphrases(default="p"),
        store=OneTransactionSignalStore(backend.db, AnnouncedRejections(backend.signal_store, events)),
        queue=backend.signal_queue,
        clock=FixedClock(NOW),
        dedupe_ttl_s=3600,
        events=events,
        admission=backend.signal_admission,
    )


def _through_inbox(backend: SqliteBackend, inbox: Inbox) -> IntakeDeps:
    """As `composition.local_intake_deps` composes them."""
    events = InboxEvents(inbox, clock=lambda: 1_700_000_000.0)
    store = InboxSignalStore(inbox, backend.signal_store)
    return replace(
        _direct(backend),
        store=OneTransactionSignalStore(inbox.db, AnnouncedRejections(store, events)),
        queue=InboxSignalQueue(inbox),
        events=events,
        admission=InboxAdmission(inbox),
    )


def _alert(ticker: str = "AAPL", at: datetime = NOW, **extra: Any) -> bytes:
    body = {"passphrase": "p", "ticker": ticker, "action": "buy", "quantity": 1, "signalPrice": 100}
    return json.dumps({**body, "time": at.isoformat(), **extra}).encode()


REQUESTS = [
    _alert("AAPL"),
    _alert("AAPL"),  # a duplicate of the first
    _alert("MSFT", at=NOW - timedelta(hours=1)),  # stale: refused and recorded
    b'{"passphrase": "p", "ticker": "IBM"}',  # invalid: recorded
    json.dumps({"passphrase": "p", "alerts": [json.loads(_alert(t)) for t in ("GOOG", "IBM")]}).encode(),
]


def _state(backend: SqliteBackend) -> dict[str, Any]:
    conn = backend.db.connection()
    return {
        "signals": conn.execute(
            "SELECT signal_id, status, received_day, received_at, expires_at, item FROM signals ORDER BY 1"
        ).fetchall(),
        "messages": conn.execute(
            "SELECT queue, group_id, dedup_id, body FROM queue_messages ORDER BY seq"
        ).fetchall(),
        "events": [
            (t, {k: v for k, v in json.loads(d).items() if k != "at"})
            for t, d in conn.execute("SELECT detail_type, detail FROM events ORDER BY seq")
        ],
        "metrics": conn.execute("SELECT day, name, count FROM metrics ORDER BY 1, 2").fetchall(),
        "changes": conn.execute("SELECT table_name, event_name FROM changes ORDER BY seq").fetchall(),
    }


def _accept_all(deps: IntakeDeps, metrics: Any) -> list[Any]:
    results = [accept_alert(AlertRequest(body), deps) for body in REQUESTS]
    for result in results:
        metrics.add(metric_counts(result), NOW)
    return results


def test_moved_inbox_leaves_tradepipe_db_as_the_intake_writing_it_directly_would(tmp_path: Path) -> None:
    direct = _backend(tmp_path / "direct")
    expected = _accept_all(_direct(direct), direct.metrics)

    relayed = _backend(tmp_path / "relayed")
    inbox = Inbox(_inbox_db(relayed.state_dir), relayed.db)
    got = _accept_all(_through_inbox(relayed, inbox), InboxMetrics(inbox))
    assert _state(relayed)["signals"] == []  # nothing reached tradepipe.db before the relay
    InboxRelay(_inbox_db(relayed.state_dir), relayed.db, relayed.signal_fifo).move()

    assert [type(r) for r in got] == [Accepted, Duplicate, Invalid, Invalid, Batch]
    assert got == expected
    state, want = _state(relayed), _state(direct)
    assert state["signals"] == want["signals"]
    assert state["messages"] == want["messages"]
    assert state["events"] == want["events"]
    assert state["events"]
    assert state["metrics"] == want["metrics"]
    assert state["changes"] == want["changes"]


def test_each_row_is_moved_once_however_many_relays_run(tmp_path: Path) -> None:
    backend = _backend(tmp_path)
    inbox = Inbox(_inbox_db(backend.state_dir), backend.db)
    metrics = InboxMetrics(inbox)
    for _ in range(300):
        metrics.add({"AlertsAccepted": 1}, NOW)  # a row moved twice would count twice
    relays = [InboxRelay(_inbox_db(backend.state_dir), backend.db, backend.signal_fifo) for _ in range(4)]
    start = threading.Barrier(len(relays))
    moved: list[int] = []

    def run(relay: InboxRelay) -> None:
        start.wait()
        while n := relay.move(limit=7):
            moved.append(n)

    threads = [threading.Thread(target=run, args=(r,)) for r in relays]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert sum(moved) == 300
    assert backend.metrics.on_day(NOW.date().isoformat())["AlertsAccepted"] == 300
    assert relays[0].move() == 0
    assert relays[0].oldest_waiting_s(time.time() + 1) == 0  # none waits


def test_a_failed_move_moves_nothing_and_the_next_moves_it_all(tmp_path: Path) -> None:
    backend = _backend(tmp_path)
    inbox = Inbox(_inbox_db(backend.state_dir), backend.db)
    deps = _through_inbox(backend, inbox)
    for ticker in ("AAPL", "MSFT", "IBM"):
        assert isinstance(accept_alert(AlertRequest(_alert(ticker)), deps), Accepted)
    relay = InboxRelay(_inbox_db(backend.state_dir), backend.db, backend.signal_fifo)
    sends = 0
    real_send = backend.signal_fifo.send

    def failing_send(*args: Any) -> bool:  # the disk fills after the second message
        nonlocal sends
        sends += 1
        if sends == 3:
            raise OSError("disk full")
        return real_send(*args)

    backend.signal_fifo.send = failing_send  # type: ignore[method-assign,assignment]
    with pytest.raises(OSError, match="disk full"):
        relay.move()
    assert moved_up_to(backend.db) == 0
    assert relay.signals_moved == 0  # the burst gauge counts only what a commit moved
    assert _state(backend)["signals"] == []
    assert backend.signal_fifo.depth()[0] == 0

    assert relay.move() == 6  # three records, three messages
    assert len(_state(backend)["signals"]) == 3
    assert relay.signals_moved == 3
    assert backend.signal_fifo.depth()[0] == 3


def test_the_relay_counts_the_alerts_it_moved_not_its_rows(tmp_path: Path) -> None:
    backend = _backend(tmp_path)
    inbox = Inbox(_inbox_db(backend.state_dir), backend.db)
    _accept_all(_through_inbox(backend, inbox), InboxMetrics(inbox))
    relay = InboxRelay(_inbox_db(backend.state_dir), backend.db, backend.signal_fifo)
    rows = relay.move()
    recorded = len(_state(backend)["signals"])  # accepted, refused and invalid alerts alike
    assert recorded == 5
    assert relay.signals_moved == recorded < rows
    assert relay.move() == 0
    assert relay.signals_moved == recorded


def test_a_repeat_is_a_duplicate_while_its_first_waits_and_after_it_was_moved_and_pruned(
    tmp_path: Path,
) -> None:
    backend = _backend(tmp_path)
    moment = ManualClock()  # the inbox prunes at most every 20 ms
    inbox = Inbox(_inbox_db(backend.state_dir), backend.db, clock=moment)
    deps = _through_inbox(backend, inbox)
    first = accept_alert(AlertRequest(_alert()), deps)
    assert isinstance(first, Accepted)
    assert isinstance(accept_alert(AlertRequest(_alert()), deps), Duplicate)  # waiting in the inbox
    assert deps.store.get(first.signal_id) is not None

    relay = InboxRelay(_inbox_db(backend.state_dir), backend.db, backend.signal_fifo)
    relay.move()
    relay.sync()
    moment.at += 2  # the next write prunes what was moved and synced
    assert isinstance(accept_alert(AlertRequest(_alert("MSFT")), deps), Accepted)
    assert inbox.waiting_item(first.signal_id) is None
    rows = inbox.db.connection().execute("SELECT min(seq) FROM inbox").fetchone()[0]
    assert rows > int(
        backend.db.connection().execute("SELECT value FROM meta WHERE key = ?", (CURSOR_KEY,)).fetchone()[0]
    )
    assert isinstance(accept_alert(AlertRequest(_alert()), deps), Duplicate)  # recorded in tradepipe.db
    assert deps.store.get(first.signal_id) is not None

    relay.move()
    assert backend.signal_fifo.depth()[0] == 2  # AAPL once, MSFT once


def test_a_row_of_an_unknown_kind_stops_the_relay_instead_of_being_skipped(tmp_path: Path) -> None:
    backend = _backend(tmp_path)
    inbox = Inbox(_inbox_db(backend.state_dir), backend.db)
    with inbox.db.transaction():
        inbox.append("from-a-newer-intake", {})
    relay = InboxRelay(_inbox_db(backend.state_dir), backend.db, backend.signal_fifo)
    with pytest.raises(ValueError, match="unknown inbox row"):
        relay.move()
    assert moved_up_to(backend.db) == 0
    assert relay.oldest_waiting_s(time.time() + 1) > 0  # it still waits


def test_the_intake_leaves_the_checkpoints_of_its_wal_to_the_relay(tmp_path: Path) -> None:
    # A checkpoint in the intake's commit holds a whole group of answers for its copy and fsync.
    backend = _backend(tmp_path)
    inbox = Inbox(_inbox_db(backend.state_dir), backend.db)
    metrics = InboxMetrics(inbox)
    for _ in range(1200):  # ~1,200 commits of a few pages each: past SQLite's default of 1,000 pages
        metrics.add({"AlertsAccepted": 1}, NOW)
    file_pages = (tmp_path / "inbox.db").stat().st_size // 4096
    assert file_pages < 10  # nothing copied from the WAL into the file yet: no commit checkpointed

    relay = InboxRelay(_inbox_db(backend.state_dir), backend.db, backend.signal_fifo)
    relay.move(limit=2000)
    relay.checkpoint()
    assert (tmp_path / "inbox.db").stat().st_size // 4096 > file_pages
    busy, frames, copied = inbox.db.connection().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert (busy, copied) == (0, frames)


def test_the_intake_deletes_only_rows_whose_move_a_full_commit_put_on_disk(tmp_path: Path) -> None:
    # A move commits at the workers' NORMAL: an OS crash could take it back, so its rows stay in the inbox
    # until the relay's sync (one FULL commit, whose fsync of the WAL carries every move before it).
    backend = _backend(tmp_path)
    assert backend.db.connection().execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    moment = ManualClock()  # the inbox prunes at most every 20 ms
    inbox = Inbox(_inbox_db(backend.state_dir), backend.db, clock=moment)
    deps = _through_inbox(backend, inbox)
    first = accept_alert(AlertRequest(_alert()), deps)
    assert isinstance(first, Accepted)
    relay = InboxRelay(_inbox_db(backend.state_dir), backend.db, backend.signal_fifo)
    synchronous: list[int] = []
    real_transaction = backend.db.transaction

    def watched() -> Any:
        synchronous.append(backend.db.connection().execute("PRAGMA synchronous").fetchone()[0])
        return real_transaction()

    backend.db.transaction = watched  # type: ignore[method-assign]
    relay.move()
    assert set(synchronous) == {1}  # the move (and the queue's savepoint in it): NORMAL
    synchronous.clear()
    moment.at += 1
    assert isinstance(accept_alert(AlertRequest(_alert("MSFT")), deps), Accepted)  # a write that prunes
    assert inbox.waiting_item(first.signal_id) is not None  # moved, not on disk yet: kept

    assert relay.sync()
    assert synchronous == [2]  # FULL
    assert backend.db.connection().execute("PRAGMA synchronous").fetchone()[0] == 1  # back to NORMAL
    assert not relay.sync()  # nothing moved since
    moment.at += 1
    assert isinstance(accept_alert(AlertRequest(_alert("IBM")), deps), Accepted)
    assert inbox.waiting_item(first.signal_id) is None  # on disk in tradepipe.db: deleted here
    relay.move()
    assert backend.signal_fifo.depth()[0] == 3  # each moved once


def test_a_new_inbox_numbers_its_rows_after_the_relays_cursor(tmp_path: Path) -> None:
    # inbox.db deleted or restored from an older copy: rows numbered from 1 again would sit below the
    # cursor, skipped by the relay and pruned by the intake, never moved.
    backend = _backend(tmp_path)
    inbox = Inbox(_inbox_db(backend.state_dir), backend.db)
    deps = _through_inbox(backend, inbox)
    for ticker in ("AAPL", "MSFT", "IBM"):
        accept_alert(AlertRequest(_alert(ticker)), deps)
    InboxRelay(_inbox_db(backend.state_dir), backend.db, backend.signal_fifo).move()
    inbox.db.close()
    for name in ("inbox.db", "inbox.db-wal", "inbox.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)

    moment = ManualClock()  # the inbox prunes at most every 20 ms
    inbox = Inbox(_inbox_db(backend.state_dir), backend.db, clock=moment)
    deps = _through_inbox(backend, inbox)
    for ticker in ("GOOG", "FB", "TSLA"):
        moment.at += 1  # each write may prune
        assert isinstance(accept_alert(AlertRequest(_alert(ticker)), deps), Accepted)
    InboxRelay(_inbox_db(backend.state_dir), backend.db, backend.signal_fifo).move()

    assert backend.signal_fifo.depth()[0] == 6


def test_a_signal_read_through_the_intake_is_the_one_moved_on_not_the_inbox_copy(tmp_path: Path) -> None:
    backend = _backend(tmp_path)
    inbox = Inbox(_inbox_db(backend.state_dir), backend.db)
    deps = _through_inbox(backend, inbox)
    accepted = accept_alert(AlertRequest(_alert()), deps)
    assert isinstance(accepted, Accepted)
    InboxRelay(_inbox_db(backend.state_dir), backend.db, backend.signal_fifo).move()
    moved_on = StatusUpdate.to(SignalStatus.REJECTED, NOW + timedelta(seconds=1))
    assert backend.signal_store.advance(accepted.signal_id, moved_on)

    item = deps.store.get(accepted.signal_id)  # the inbox's ENQUEUED copy is not pruned yet
    assert item is not None
    assert item.status is SignalStatus.REJECTED


def test_an_alert_waiting_in_the_inbox_for_a_minute_raises_the_inbox_stalled_alarm(tmp_path: Path) -> None:
    backend = _backend(tmp_path)
    written = 1_000.0
    inbox = Inbox(_inbox_db(backend.state_dir), backend.db, wall=lambda: written)
    accept_alert(AlertRequest(_alert()), _through_inbox(backend, inbox))
    relay = InboxRelay(_inbox_db(backend.state_dir), backend.db, backend.signal_fifo)
    backend.__dict__["inbox_relay"] = relay  # what the alarm reads

    assert relay.oldest_waiting_s(written + 61) == pytest.approx(61)
    local_alarms = LocalAlarms(backend, clock=lambda: written + 61)
    assert local_alarms.evaluate()["InboxStalled"] is True
    relay.move()
    assert local_alarms.evaluate()["InboxStalled"] is False  # recovered


def test_a_prune_deletes_at_most_its_share_of_the_synced_rows_the_oldest_first(tmp_path: Path) -> None:
    # The relay's sync makes half a second of rows deletable at once (~700 at 10 senders): deleted in one
    # group commit they would hold its answers, so each prune takes a bounded share.
    from tradepipe.adapters.sqlite.inbox import PRUNE_MAX_ROWS

    backend = _backend(tmp_path)
    moment = ManualClock()
    inbox = Inbox(_inbox_db(backend.state_dir), backend.db, clock=moment)
    metrics = InboxMetrics(inbox)
    for _ in range(3 * PRUNE_MAX_ROWS):
        metrics.add({"AlertsAccepted": 1}, NOW)
    relay = InboxRelay(_inbox_db(backend.state_dir), backend.db, backend.signal_fifo)
    relay.move()
    relay.sync()

    def rows() -> tuple[int, int]:
        count, oldest = inbox.db.connection().execute("SELECT count(*), min(seq) FROM inbox").fetchone()
        return int(count), int(oldest)

    before, first = rows()
    moment.at += 1
    metrics.add({"AlertsAccepted": 1}, NOW)  # a write that prunes
    after, oldest = rows()
    assert before + 1 - after == PRUNE_MAX_ROWS
    assert oldest == first + PRUNE_MAX_ROWS

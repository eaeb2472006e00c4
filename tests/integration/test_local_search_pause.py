"""The runtime's indexer waits while a burst of alerts arrives, and indexes again once it has passed
(`local/runtime/burst.py`): the relay counts the alerts it moves, the indexer asks before each batch."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradepipe.adapters.memory import FixedClock, StaticPassphrases
from tradepipe.adapters.sqlite.inbox import (
    Inbox,
    InboxAdmission,
    InboxSignalQueue,
    InboxSignalStore,
    open_inbox,
)
from tradepipe.adapters.sqlite.one_transaction import OneTransactionSignalStore
from tradepipe.app.intake import Accepted, AlertRequest, IntakeDeps, accept_alert
from tradepipe.backends.sqlite import SqliteBackend
from tradepipe.local.runtime.burst import BURST_ALERTS_PER_S, ArrivalRate, BurstPause
from tradepipe.local.runtime.wakeup import CHANGES, Doorbell
from tradepipe.local.runtime.workers import Indexer, Workers
from tradepipe.settings import Settings

NOW = datetime.now(UTC).replace(microsecond=0)


class SwitchedPause(BurstPause):
    def __init__(self) -> None:
        super().__init__(ArrivalRate())
        self.burst = threading.Event()

    def hold(self) -> bool:
        return self.burst.is_set()


class CountingIndexer(Indexer):
    """The loop under test; the batch itself is the indexer's other tests' subject."""

    def __init__(self, backend: SqliteBackend, doorbell: Doorbell, pause: BurstPause) -> None:
        super().__init__(backend, doorbell, pause)
        self.batches = 0

    def index_once(self) -> int:
        self.batches += 1
        return 0


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[SqliteBackend]:
    backend = SqliteBackend(Settings.explicit(backend="sqlite", state_dir=str(tmp_path)))
    yield backend
    backend.db.close()


def _until(condition: object, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_the_indexer_reads_no_batch_during_a_burst_and_reads_again_after_it(
    backend: SqliteBackend, tmp_path: Path
) -> None:
    doorbell = Doorbell(tmp_path / "bell")
    pause = SwitchedPause()
    pause.burst.set()
    indexer = CountingIndexer(backend, doorbell, pause)
    indexer.start()
    try:
        for _ in range(5):
            doorbell.ring(CHANGES)
            time.sleep(0.1)
        assert indexer.batches == 0
        pause.burst.clear()
        doorbell.ring(CHANGES)
        assert _until(lambda: indexer.batches > 0)
    finally:
        indexer.stop()
        indexer.join(5)


def test_the_runtime_pauses_its_indexer_once_its_relay_has_moved_a_bursts_alerts(
    backend: SqliteBackend, tmp_path: Path
) -> None:
    workers = Workers(backend, Doorbell(tmp_path / "bell"))
    inbox = Inbox(open_inbox(backend.state_dir), backend.db)
    deps = IntakeDeps(
        secrets=StaticPassphrases(default="p"),
        store=OneTransactionSignalStore(inbox.db, InboxSignalStore(inbox, backend.signal_store)),
        queue=InboxSignalQueue(inbox),
        clock=FixedClock(NOW),
        dedupe_ttl_s=3600,
        admission=InboxAdmission(inbox),
    )

    def accept(count: int, first: int = 0) -> None:
        for n in range(first, first + count):
            body = {"passphrase": "p", "ticker": "AAPL", "action": "buy", "quantity": 1, "signalPrice": 100}
            body |= {"strategy": f"s{n}", "time": NOW.isoformat()}
            assert isinstance(accept_alert(AlertRequest(json.dumps(body).encode()), deps), Accepted)

    try:
        accept(BURST_ALERTS_PER_S - 1)
        workers.relay.move_once()
        assert not workers.indexer.pause.hold()  # a steady stream
        accept(1, first=BURST_ALERTS_PER_S)
        workers.relay.move_once()
        assert workers.indexer.pause.hold()
    finally:
        inbox.db.close()

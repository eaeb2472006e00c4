"""The runtime's intake writer (local/runtime/intake.py) with a batch: its elements are one request to the
group committer, so they commit together (one transaction, one fsync) and are answered together."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradepipe.adapters.memory import FixedClock, StaticPassphrases
from tradepipe.app.intake import AlertRequest, Batch, IntakeDeps
from tradepipe.backends.sqlite import SqliteBackend
from tradepipe.local.runtime.intake import GroupCommitter
from tradepipe.settings import Settings

NOW = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)


class CountingDatabase:
    """The backend's database, counting the transactions that commit (not the savepoints inside them)."""

    def __init__(self, db: Any) -> None:
        self._db = db
        self.commits = 0

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        outer = not self._db.in_transaction
        with self._db.transaction() as conn:
            yield conn
        self.commits += outer


class Metrics:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, counts: dict[str, int]) -> None:
        for name, n in counts.items():
            self.counts[name] = self.counts.get(name, 0) + n


def test_batch_then_one_commit_for_all_its_elements_and_each_element_counted(tmp_path: Path) -> None:
    backend = SqliteBackend(Settings.explicit(backend="sqlite", state_dir=str(tmp_path)))
    deps = IntakeDeps(
        secrets=StaticPassphrases(default="p"),
        store=backend.signal_store,
        queue=backend.signal_queue,
        clock=FixedClock(NOW),
        dedupe_ttl_s=3600,
    )
    alerts = [
        {"ticker": t, "action": "buy", "quantity": 1, "signalPrice": 100, "time": NOW.isoformat()}
        for t in ("AAPL", "MSFT", "IBM")
    ]
    db, metrics = CountingDatabase(backend.db), Metrics()
    committer = GroupCommitter(db, deps, None, metrics)  # type: ignore[arg-type]  # a counting stand-in
    committer.start()
    try:
        body = json.dumps({"passphrase": "p", "alerts": alerts}).encode()
        result = asyncio.run(committer.submit(AlertRequest(body)))
    finally:
        committer.stop()
        committer.join(5)

    assert isinstance(result, Batch)
    assert db.commits == 1
    assert all(backend.signal_store.get(r.signal_id) is not None for r in result.results)
    assert backend.signal_fifo.depth()[0] == 3
    assert metrics.counts == {"AlertBatches": 1, "AlertsAccepted": 3}


class WatchedClock(FixedClock):
    """Notes whether a write transaction was open on the database when the alert was stamped (decided)."""

    def __init__(self, at: datetime, db: Any) -> None:
        super().__init__(at)
        self._db = db
        self.stamped_in_transaction: list[bool] = []

    def now(self) -> datetime:
        self.stamped_in_transaction.append(self._db.in_transaction)
        return super().now()


def test_an_alert_is_decided_before_the_writer_opens_its_transaction(tmp_path: Path) -> None:
    # Parsing and checking hold no lock: the writer lock (shared with the workers) is held for the writes
    # only, so the intake's turn is short and a worker's wait behind it too.
    backend = SqliteBackend(Settings.explicit(backend="sqlite", state_dir=str(tmp_path)))
    clock = WatchedClock(NOW, backend.db)
    deps = IntakeDeps(
        secrets=StaticPassphrases(default="p"),
        store=backend.signal_store,
        queue=backend.signal_queue,
        clock=clock,
        dedupe_ttl_s=3600,
    )
    committer = GroupCommitter(backend.db, deps, None, Metrics())
    committer.start()
    try:
        alert = {"ticker": "AAPL", "action": "buy", "quantity": 1, "signalPrice": 100}
        body = json.dumps({"passphrase": "p", "time": NOW.isoformat(), **alert}).encode()
        result = asyncio.run(committer.submit(AlertRequest(body)))
    finally:
        committer.stop()
        committer.join(5)

    assert backend.signal_store.get(result.signal_id) is not None  # type: ignore[union-attr]
    assert clock.stamped_in_transaction[0] is False

"""The runtime's queue pollers delete what a batch handled in one write (SQS's DeleteMessageBatch): each write
is a turn on the database's one writer lock, which the intake's commits wait behind at a bar close."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tradepipe.adapters.sqlite.database import Database
from tradepipe.adapters.sqlite.queues import SqliteFifoQueue
from tradepipe.local.runtime.wakeup import Doorbell
from tradepipe.local.runtime.workers import QueueWorker


class CountingDatabase(Database):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes = 0

    def transaction(self):  # type: ignore[no-untyped-def]
        if not self.in_transaction:
            self.writes += 1
        return super().transaction()


def test_a_batch_of_handled_messages_is_deleted_in_one_write_and_a_failed_one_is_kept(tmp_path: Path) -> None:
    Database.open(tmp_path)  # creates the schema
    db = CountingDatabase(tmp_path / "tradepipe.db")
    fifo = SqliteFifoQueue(db, "signals", visibility_timeout_s=60, max_receive_count=3)
    for i in range(6):
        fifo.send(f"body-{i}", f"paper#T{i}", f"d{i}")
    messages = fifo.receive(10)

    def handle(body: str) -> str:
        if body == "body-3":
            raise RuntimeError("this one fails")
        return "Handled"

    counts: Counter[str] = Counter()
    worker = QueueWorker("risk-0", fifo, handle, Doorbell(tmp_path / "bell.sock"), counts.update)
    db.writes = 0
    worker._process(messages)

    assert counts == Counter({"Handled": 5, "Errors": 1})
    assert db.writes == 2  # the failed message's retry, then the five deletes together
    assert fifo.depth() == (0, 1)  # the failed one waits for its retry; the rest are gone

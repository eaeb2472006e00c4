"""A queue poller of the runtime survives a failure of the queue itself (a retry that raises: a full disk, a
database error): a dead poller thread would leave its queue unread until the next restart."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from tradepipe.adapters.sqlite.database import Database
from tradepipe.adapters.sqlite.queues import QueueMessage, SqliteFifoQueue
from tradepipe.local.runtime.wakeup import Doorbell
from tradepipe.local.runtime.workers import QueueWorker


def test_when_a_retry_fails_then_the_poller_goes_on_and_the_message_comes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_704_207_600.0]
    fifo = SqliteFifoQueue(
        Database.open(tmp_path), "signals", visibility_timeout_s=5, max_receive_count=5, clock=lambda: now[0]
    )
    real_retry = fifo.retry_after
    retries_failed: list[str] = []

    def retry_failing_once(message: QueueMessage, delay_s: float) -> None:
        if not retries_failed:
            retries_failed.append(message.body)
            raise OSError("disk full")
        real_retry(message, delay_s)

    monkeypatch.setattr(fifo, "retry_after", retry_failing_once)
    handled: list[str] = []

    def handle(body: str) -> str:
        handled.append(body)
        if len(handled) == 1:
            raise RuntimeError("the broker is down")
        return "Handled"

    worker = QueueWorker("risk-0", fifo, handle, Doorbell(tmp_path / "bell.sock"), Counter().update)
    fifo.send("first", "paper#AAPL", "d1")
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not retries_failed and time.monotonic() < deadline:
            time.sleep(0.01)
        now[0] += 6  # past the visibility timeout: the message the failed retry left in flight comes back
        fifo.send("second", "paper#MSFT", "d2")
        while len(handled) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        alive = worker.is_alive()
    finally:
        worker.stop()
        worker.join(5)

    assert alive
    assert sorted(handled) == ["first", "first", "second"]
    assert fifo.depth() == (0, 0)

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


def test_a_poller_that_took_a_full_batch_wakes_another_for_what_is_left(tmp_path: Path) -> None:
    # A ring for a queue wakes one poller; more messages than its batch, in other groups, must not wait for
    # the other pollers' idle wait (a second).
    import threading

    from tradepipe.local.runtime.wakeup import SIGNALS

    fifo = SqliteFifoQueue(Database.open(tmp_path), "signals", visibility_timeout_s=30, max_receive_count=5)
    bell = Doorbell(tmp_path / "bell.sock")
    release = threading.Event()
    threads: set[str] = set()

    def handle(body: str) -> str:
        threads.add(threading.current_thread().name)
        release.wait(5)  # a slow broker: the first poller holds its batch
        return "Handled"

    workers = [QueueWorker(f"risk-{i}", fifo, handle, bell, lambda _c: None, batch_size=2) for i in range(2)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.2)  # both pollers idle, waiting on the doorbell
        for i, ticker in enumerate(("AAPL", "MSFT", "IBM", "GE")):
            fifo.send(f"m{i}", f"paper#{ticker}", f"d{i}")
        bell.ring(SIGNALS)
        deadline = time.monotonic() + 0.6  # well inside the idle wait
        while len(threads) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        both = set(threads)
    finally:
        release.set()
        for worker in workers:
            worker.stop()
        bell.ring()
        for worker in workers:
            worker.join(5)
        bell.close()

    assert both == {"risk-0", "risk-1"}

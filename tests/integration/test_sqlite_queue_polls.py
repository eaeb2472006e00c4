"""Polls of the runtime's FIFO queues under a backlog: a poll never queues for the writer lock when there is
nothing it may take, and a claim never gathers and sorts the whole backlog (the intake's group commit waits
behind whoever holds that lock)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tradepipe.adapters.sqlite import queues
from tradepipe.adapters.sqlite.database import Database
from tradepipe.adapters.sqlite.queues import SqliteFifoQueue


def _fifo(db: Database) -> SqliteFifoQueue:
    return SqliteFifoQueue(db, "signals", visibility_timeout_s=30, max_receive_count=5)


def test_a_poll_that_finds_only_a_group_in_flight_returns_without_waiting_for_the_writer_lock(
    tmp_path: Path,
) -> None:
    fifo = _fifo(Database.open(tmp_path))
    fifo.send("first", "paper#MSFT", "d1")
    fifo.send("second", "paper#MSFT", "d2")
    assert [m.body for m in fifo.receive(1)] == ["first"]  # MSFT's group is now in flight at one poller
    holder_db, other_poller = Database.open(tmp_path), _fifo(Database.open(tmp_path))
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder_db.transaction():
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    try:
        started = time.monotonic()
        taken = other_poller.receive(10)
        waited = time.monotonic() - started
    finally:
        release.set()
        holder.join(10)

    assert taken == []
    assert waited < 2.0  # the holder keeps the lock for 10 s: a poll that queued for it would wait that long


def test_a_claim_walks_the_queue_in_order_and_stops_instead_of_sorting_the_backlog(tmp_path: Path) -> None:
    db = Database.open(tmp_path)
    fifo = _fifo(db)
    with db.transaction():
        for i in range(300):
            fifo.send(f"m{i}", f"paper#T{i % 30}", f"d{i}")
    plan = [
        row[3]
        for row in db.connection().execute(
            "EXPLAIN QUERY PLAN " + queues._CLAIMABLE + " LIMIT ?3", ("signals", time.time(), 10)
        )
    ]
    assert not any("TEMP B-TREE" in step for step in plan), plan

    assert [m.body for m in fifo.receive(10)] == [f"m{i}" for i in range(10)]  # oldest first
    # Those ten groups are in flight: the next poll takes the next ten groups' heads, still oldest first.
    assert [m.body for m in fifo.receive(10)] == [f"m{i}" for i in range(10, 20)]


def test_a_claim_walks_only_its_own_queue(tmp_path: Path) -> None:
    # One ticker's intents waiting behind its fills must not be stepped past by every signals claim.
    db = Database.open(tmp_path)
    signals = _fifo(db)
    intents = SqliteFifoQueue(db, "intents", visibility_timeout_s=30, max_receive_count=5)
    with db.transaction():
        for i in range(2000):
            intents.send(f"i{i}", "paper#MSFT", f"i{i}")
    signals.send("s0", "paper#IBM", "s0")
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    db.connection().set_progress_handler(count, 100)  # called every 100 virtual machine instructions
    try:
        assert [m.body for m in signals.receive(10)] == ["s0"]
    finally:
        db.connection().set_progress_handler(None, 100)
    assert steps < 20  # walking the intents: 2,000 rows, hundreds of calls

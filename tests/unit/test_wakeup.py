"""The workers' doorbell: a ring wakes the waiters of what it announces (and those waiting on anything)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradepipe.local.runtime.wakeup import ANY, CHANGES, INBOX, INTENTS, SCHEDULES, SIGNALS, Doorbell, Waker


@pytest.fixture
def doorbell(tmp_path: Path) -> Iterator[Doorbell]:
    bell = Doorbell(tmp_path / "wakeup.sock")
    yield bell
    bell.close()


def _generations(bell: Doorbell) -> dict[str, int]:
    return {topic: bell.generation(topic) for topic in (SIGNALS, INTENTS, CHANGES, SCHEDULES, ANY)}


def test_when_the_risk_stage_rings_for_intents_then_the_signal_pollers_sleep_on(doorbell: Doorbell) -> None:
    before = _generations(doorbell)

    doorbell.ring(INTENTS, CHANGES)

    after = _generations(doorbell)
    changed = {topic for topic in after if after[topic] != before[topic]}
    assert changed == {INTENTS, CHANGES, ANY}


def test_when_the_intake_wakes_the_workers_then_only_the_relay_wakes(
    doorbell: Doorbell, tmp_path: Path
) -> None:
    # The alerts wait in the intake's inbox: the relay moves them, then wakes the risk pollers and the
    # indexer itself (local/runtime/workers.py::Relay); woken now, they would find nothing yet.
    seen = doorbell.generation(INBOX)
    woke: list[int] = []
    waiter = threading.Thread(target=lambda: woke.append(doorbell.wait(seen, 10, INBOX)))
    waiter.start()
    before = _generations(doorbell)
    Waker(tmp_path / "wakeup.sock").wake()
    waiter.join(10)

    assert woke == [seen + 1]
    after = _generations(doorbell)
    assert all(after[topic] == before[topic] for topic in (SIGNALS, CHANGES, INTENTS))


def test_when_rung_without_a_topic_then_every_waiter_wakes(doorbell: Doorbell) -> None:
    for topic in (SIGNALS, INTENTS, CHANGES, SCHEDULES):
        doorbell.wait(doorbell.generation(topic), 0, topic)  # registers a waiter's topic
    before = _generations(doorbell)

    doorbell.ring()  # what stopping the workers does

    after = _generations(doorbell)
    assert all(after[topic] == before[topic] + 1 for topic in after)


@pytest.mark.parametrize("queue", [SIGNALS, INTENTS])
def test_a_ring_for_a_queue_wakes_one_of_its_pollers_and_stopping_wakes_them_all(
    doorbell: Doorbell, queue: str
) -> None:
    # Woken together, every poller but the first would find the queue empty: a query each for nothing.
    seen = doorbell.generation(queue)
    woke: list[threading.Thread] = []
    done = threading.Condition()

    def poller() -> None:
        doorbell.wait(seen, 10, queue)
        with done:
            woke.append(threading.current_thread())
            done.notify_all()

    pollers = [threading.Thread(target=poller, daemon=True) for _ in range(3)]
    for thread in pollers:
        thread.start()
    while len(doorbell._condition(queue)._waiters) < 3:  # type: ignore[attr-defined]
        threading.Event().wait(0.01)

    doorbell.ring(queue, CHANGES)
    with done:
        done.wait_for(lambda: len(woke) == 1, 5)
        assert not done.wait_for(lambda: len(woke) > 1, 0.3)  # the others sleep on

    doorbell.ring()  # what stopping the workers does
    for thread in pollers:
        thread.join(5)
    assert len(woke) == 3


def test_when_the_workers_do_not_read_their_doorbell_then_waking_them_never_blocks_the_intake(
    tmp_path: Path,
) -> None:
    # A bound socket nobody reads: the workers stopped or stalled. A Unix datagram socket's queue is short
    # (net.unix.max_dgram_qlen, 10 by default), and a blocking sender waits for room: the intake's writer
    # thread, which wakes after each commit, would stop answering alerts until the workers read again.
    import socket

    deaf = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    deaf.bind(str(tmp_path / "wakeup.sock"))
    waker = Waker(tmp_path / "wakeup.sock")
    rang = threading.Event()

    def ring_many() -> None:
        for _ in range(1000):
            waker.wake()
        rang.set()

    threading.Thread(target=ring_many, daemon=True).start()
    try:
        assert rang.wait(10), "a wake-up blocked on the workers' full doorbell"
    finally:
        deaf.close()  # lets a blocked sender fail and its thread end

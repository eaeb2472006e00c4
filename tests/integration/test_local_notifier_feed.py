"""The single-machine notifier's feed over a real runtime database: a message dead-lettered is announced in
the same transaction; the feed waits out the batching window so a burst is one batch, and moves its
checkpoint only past what it enqueued."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from tests.notify_samples import fill, webhook_url
from tests.support.clocks import ManualClock
from tests.unit.notify.fakes import ScriptedTransport, SleepClock
from tradepipe.adapters.sqlite.database import Database, Durability
from tradepipe.adapters.sqlite.feeds import EventLog, SqliteEventOutbox
from tradepipe.adapters.sqlite.queues import SqliteFifoQueue
from tradepipe.contracts.events import MessageDeadLettered, parse_event
from tradepipe.local.runtime.notifications import NotificationFeed
from tradepipe.notify.assemble import build_notifier
from tradepipe.notify.outbox import MemoryOutbox
from tradepipe.notify.sources import load_channels
from tradepipe.ports.messaging import publish_event
from tradepipe.settings import Settings

HOOK = webhook_url("http://127.0.0.1:9")


class Bell:
    def generation(self) -> int:
        return 0

    def wait(self, seen: int, timeout: float) -> None:
        return None


def test_message_past_its_receive_count_then_dead_lettered_and_announced(tmp_path: Path) -> None:
    db = Database.open(tmp_path, Durability.PROCESS)
    clock = ManualClock(1_704_207_600.0)  # 2024-01-02 15:00 UTC
    fifo = SqliteFifoQueue(db, "signals", visibility_timeout_s=1.0, max_receive_count=2, clock=clock)
    fifo.send("{}", group_id="paper#AAPL", dedup_id="d1")
    for _ in range(2):  # received and never deleted: a handler that fails every time
        assert fifo.receive()
        clock.at += 2.0

    assert fifo.receive() == []

    assert len(fifo.dead_letters()) == 1
    (entry,) = EventLog(db, "notifier").pending()
    event = parse_event(entry.detail_type, entry.detail)
    assert isinstance(event, MessageDeadLettered)
    assert (event.queue, event.count) == ("signals", 1)
    assert event.at == datetime(2024, 1, 2, 15, 0, 4, tzinfo=UTC)


def test_feed_waits_out_the_window_then_enqueues_the_burst_as_one_batch(tmp_path: Path) -> None:
    db = Database.open(tmp_path, Durability.PROCESS)
    wall = ManualClock(1_704_207_600.0)
    bus = SqliteEventOutbox(db, clock=wall)
    sleep_clock = SleepClock()
    notifier = build_notifier(
        Settings.explicit(),
        channels=load_channels([HOOK]),
        outbox=MemoryOutbox(),
        http=ScriptedTransport(sleep_clock),
        clock=sleep_clock,
        sleep=sleep_clock.sleep,
    )
    metrics: Counter[str] = Counter()
    feed = NotificationFeed(EventLog(db, "notifier"), notifier, Bell(), metrics.update, wall_clock=wall)  # type: ignore[arg-type]
    publish_event(bus, fill(0))

    first_look = feed.feed_once()
    for n in range(1, 40):  # the rest of the bar close, within the window
        publish_event(bus, fill(n))
    wall.at += 5.0
    second_look = feed.feed_once()

    assert first_look is not None  # waited: nothing enqueued yet
    assert first_look > 0
    assert second_look is None
    assert metrics["NotificationsEnqueued"] == 1  # 40 fills, one message for the generic webhook
    assert EventLog(db, "notifier").pending() == []  # checkpoint past the batch
    assert feed.feed_once() is not None  # nothing left: idle


def test_while_the_window_is_open_rings_do_not_make_the_feed_look_again_and_its_end_delivers(
    tmp_path: Path,
) -> None:
    """Every commit of an alert rings the workers' doorbell several times; the window's end is fixed by its
    oldest event, so the feed sleeps until then instead of querying the log at each ring."""
    import time

    from tradepipe.local.runtime.wakeup import Doorbell

    db = Database.open(tmp_path, Durability.PROCESS)
    bus = SqliteEventOutbox(db)
    log = EventLog(db, "notifier")
    looks = 0
    real_pending = log.pending

    def counted_pending(limit: int | None = None) -> list[object]:
        nonlocal looks
        looks += 1
        return real_pending(limit)  # type: ignore[arg-type]

    log.pending = counted_pending  # type: ignore[assignment,method-assign]
    notifier = build_notifier(
        Settings.explicit(),
        channels=load_channels([HOOK]),
        outbox=MemoryOutbox(),
        http=ScriptedTransport(SleepClock()),
    )
    doorbell = Doorbell(tmp_path / "bell")
    metrics: Counter[str] = Counter()
    feed = NotificationFeed(log, notifier, doorbell, metrics.update, window_s=1.5)
    publish_event(bus, fill(0))
    feed.start()
    try:
        time.sleep(0.2)
        before = looks
        for _ in range(50):  # fifty rings within the window, as ~a dozen alerts would
            doorbell.ring()
            time.sleep(0.01)
        assert looks - before <= 1
        deadline = time.monotonic() + 3.0
        while metrics["NotificationsEnqueued"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert metrics["NotificationsEnqueued"] == 1  # the window's end delivers, no ring needed
        publish_event(bus, fill(1))
        doorbell.ring()
        time.sleep(0.2)  # asleep in the next window
        stopping = time.monotonic()
        feed.stop()
        feed.join(5)
        assert not feed.is_alive()
        assert time.monotonic() - stopping < 1.0  # a stop ends the window's sleep
    finally:
        feed.stop()
        doorbell.close()


def test_an_event_stamped_after_now_is_delivered_rather_than_held_for_the_clocks_step(tmp_path: Path) -> None:
    db = Database.open(tmp_path, Durability.PROCESS)
    wall = ManualClock(1_704_207_600.0)
    bus = SqliteEventOutbox(db, clock=ManualClock(wall.at + 3_600.0))  # written before the clock stepped back
    metrics: Counter[str] = Counter()
    notifier = build_notifier(
        Settings.explicit(),
        channels=load_channels([HOOK]),
        outbox=MemoryOutbox(),
        http=ScriptedTransport(SleepClock()),
    )
    feed = NotificationFeed(EventLog(db, "notifier"), notifier, Bell(), metrics.update, wall_clock=wall)  # type: ignore[arg-type]
    publish_event(bus, fill(0))
    assert feed.feed_once() is None
    assert metrics["NotificationsEnqueued"] == 1

"""The workers' notifier: what the AWS rule -> SQS (batching window) -> notifier Lambda does, on one machine.

`NotificationFeed` reads the local event bus (the `events` log, consumer `notifier`) in order and hands each
batch to `notify_events`, which renders and writes the channels' outbox (SQLite, in the state directory)
without any network call; the delivery lanes (`DeliveryWorker.serve`: a thread per channel) send from that
outbox at each channel's pace. A channel that is down holds back only its own lane, and what waits in the
outbox survives a restart. The feed's checkpoint moves only after the outbox write, so an event read but not
yet enqueued when the process dies is read again (the outbox keeps which channel took which event key, so a
re-read is not sent twice).

Grouping: once an event is waiting, the feed waits until the oldest is `BATCH_WINDOW_S` old before reading,
as SQS's batching window does on AWS: a bar close's burst of fills lands in one batch, rendered as one or a
few messages per channel.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable

from pydantic import ValidationError

from tradepipe.adapters.sqlite.feeds import EventLog
from tradepipe.contracts.events import DomainEvent, UnknownEventType, parse_event
from tradepipe.local.runtime.wakeup import Doorbell
from tradepipe.notify.assemble import Notifier
from tradepipe.notify.use_cases import notify_events
from tradepipe.resources import NOTIFY_BATCH_WINDOW_S

log = logging.getLogger(__name__)

BATCH_WINDOW_S = float(NOTIFY_BATCH_WINDOW_S)
BATCH_SIZE = 100
IDLE_WAIT_S = 1.0


class NotificationFeed(threading.Thread):
    def __init__(
        self,
        events: EventLog,
        notifier: Notifier,
        doorbell: Doorbell,
        metrics: Callable[[Counter[str]], None],
        *,
        window_s: float = BATCH_WINDOW_S,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name="notifier", daemon=True)
        self.stopping = threading.Event()
        self.errors = 0
        self._events, self._notifier, self._doorbell = events, notifier, doorbell
        self._metrics, self._window_s, self._wall_clock = metrics, window_s, wall_clock
        self._lanes = threading.Thread(
            target=notifier.worker.serve, args=(self.stopping,), name="notify-lanes", daemon=True
        )

    def stop(self) -> None:
        self.stopping.set()
        self._notifier.worker.kick()

    def run(self) -> None:
        self._lanes.start()
        while not self.stopping.is_set():
            seen = self._doorbell.generation()
            try:
                wait = self.feed_once()
            except Exception:  # a locked or broken disk: the events stay in the log and are read again
                self.errors += 1
                log.exception("notifier failed; retrying")
                self.stopping.wait(2.0)
                continue
            if wait is None:
                continue
            if math.isinf(wait):  # nothing pending: the next event comes with a ring
                self._doorbell.wait(seen, IDLE_WAIT_S)
            else:
                # The batching window: it ends when its oldest event is old enough, whatever rings meanwhile.
                # Woken by every ring instead (several an alert), the feed looked again for nothing: ~0.4 ms
                # of the workers' CPU an alert at a steady 50 alerts/s.
                self.stopping.wait(wait)  # at most the window (`feed_once`)
        self._lanes.join(timeout=10.0)

    def feed_once(self) -> float | None:
        """Enqueue the next batch; the seconds to wait before trying again (infinite: until a ring), or None
        to go on at once."""
        first = self._events.pending(1)
        if not first:
            return math.inf
        young = first[0].at + self._window_s - self._wall_clock()
        if 0 < young <= self._window_s:
            return young  # the batching window: let the rest of a burst arrive
        # Past the window, or an event stamped in the future (the wall clock stepped back since it was
        # written): delivered now rather than held for however long the step was.
        batch = self._events.pending(BATCH_SIZE)
        parsed: list[DomainEvent] = []
        counts: Counter[str] = Counter()
        for entry in batch:
            try:
                parsed.append(parse_event(entry.detail_type, entry.detail))
            except UnknownEventType:
                continue  # not a notice (the bus carries other events too)
            except ValidationError as error:
                # A retry cannot fix it: counted and logged (by kind and field, never the detail), as on AWS.
                fields = sorted({".".join(map(str, e["loc"])) for e in error.errors(include_input=False)})
                log.error(
                    "invalid event on the local bus",
                    extra={"detail_type": entry.detail_type[:80], "fields": fields},
                )
                counts["NotificationEventsInvalid"] += 1
        report = notify_events(parsed, self._notifier.deps)
        self._events.done(batch[-1].seq)
        counts["NotificationsEnqueued"] += sum(report.enqueued.values())
        self._metrics(counts)
        return None

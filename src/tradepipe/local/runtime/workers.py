"""The workers process: what the risk, executor and indexer Lambdas and their schedules do on AWS, as threads
over the runtime's database. Broker and search calls wait on the network, so threads overlap them well; the
intake runs in its own process so the GIL never makes a webhook answer wait behind a risk decision.

- risk: pollers of the signals queue -> assess_signal (several, as Lambda scales with message groups: each
  group's messages stay in order because a group is never handed to two pollers at once);
- executor: pollers of the order-intents queue -> execute_intent;
- indexer: the change feed -> index_changes -> OpenSearch (templates applied at start; the indices
rebuilt from
  the store when they are missing or behind, e.g. after osmem, which keeps nothing, restarted);
- schedules: release queued entries at the open and sample TradingHalted (the risk function's minute
  schedule), the silent-pipeline check (the same schedule on AWS), the reconciler (the executor's), TTL
  expiry, feed trimming and the local alarms;
- notifier: the event log -> notify_events -> the channels' outbox, and a delivery lane per channel
  (local/runtime/notifications.py: the AWS rule -> queue -> notifier Lambda).

A failed message is retried after a backoff and, past the queue's receive count, lands in the dead-letter
table, which raises the DLQ alarm: the same outcomes as Lambda's SqsFifoPartialProcessor with
skip_group_on_error, where one failing ticker stops only its own group.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tradepipe import composition
from tradepipe.adapters.sqlite.feeds import ChangeFeed, EventLog, trim
from tradepipe.adapters.sqlite.inbox_relay import BATCH, InboxRelay
from tradepipe.adapters.sqlite.queues import QueueMessage, SqliteFifoQueue, intent_keys
from tradepipe.app.index import index_changes
from tradepipe.app.placement import NotYet
from tradepipe.backends.sqlite import SqliteBackend
from tradepipe.contracts.messages import OrderIntent, SignalAccepted
from tradepipe.domain.model import Mode, Rejected
from tradepipe.local.runtime.alarms import LocalAlarms
from tradepipe.local.runtime.burst import ArrivalRate, BurstPause
from tradepipe.local.runtime.notifications import NotificationFeed
from tradepipe.local.runtime.thread_names import show_name
from tradepipe.local.runtime.wakeup import CHANGES, INBOX, INTENTS, SCHEDULES, SIGNALS, Doorbell
from tradepipe.ports.stores import TableChange

log = logging.getLogger(__name__)
T = TypeVar("T")

IDLE_WAIT_S = 1.0  # a lost wake-up costs at most this
CHECKPOINT_EVERY_S = 0.5  # the intake's inbox WAL, while alerts arrive (~700 alerts' rows at 10 senders)
# How often the relay puts its moves on disk (one FULL commit) so the intake may delete their rows: rarely
# enough that its fsync is not paid per alert, often enough that the inbox holds only a fraction of a second.
SYNC_EVERY_S = 0.5
# How long the indexer lets changes gather after a wake-up. Each batch costs ~1 ms of the workers' CPU
# whatever its size (the feed's reads, the checkpoint's and the metrics' writes, one bulk request), so under
# a stream of alerts a longer linger is CPU saved per alert (0.2 s -> 1 s: the indexer's ~2.4 -> ~1.2 ms per
# alert at 50 alerts/s); it also lets an alert's writes, which span its fill wait, share a batch. A second
# is what OpenSearch itself waits before a document is searchable (its default refresh interval), and only
# dashboards read the index: the trader's path and the live page never wait on it.
INDEX_LINGER_S = 1.0
PAUSE_POLL_S = 0.1  # how soon after a burst has passed search is written again
MAX_RETRY_DELAY_S = 30.0


def needs_an_executor(intents: SqliteFifoQueue, intent: OrderIntent) -> bool:
    """Whether an executor poller must be woken for `intent` just sent: not when its group (its account and
    ticker) is held by an older message, in flight at a poller, which looks at the queue again when it is
    done and claims this one, or waiting out a retry's backoff, which the pollers' idle wait covers as it
    would after a wake-up. Woken then, a poller only found the group held, a scan of the queue each time
    (with one ticker's intents queued behind its fills, ~0.1 ms of CPU an alert). An older message there to
    be claimed (a close released at the open, a flatten) is rung for as this one is."""
    group, dedup_id = intent_keys(intent)
    first = intents.first_in_flight(group)
    return first is None or first == dedup_id


def retry_delay(receive_count: int) -> float:
    return float(min(MAX_RETRY_DELAY_S, 0.5 * 2 ** (receive_count - 1)))


class Worker(threading.Thread):
    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.stopping = threading.Event()
        self.errors = 0

    def stop(self) -> None:
        self.stopping.set()


class QueueWorker(Worker):
    def __init__(
        self,
        name: str,
        fifo: SqliteFifoQueue,
        handle: Callable[[str], str],
        doorbell: Doorbell,
        metrics: Callable[[Counter[str]], None],
        batch_size: int = 10,
        then: Callable[[], None] = lambda: None,
        topic: str = SIGNALS,
    ) -> None:
        super().__init__(name)
        self._fifo, self._handle, self._doorbell = fifo, handle, doorbell
        self._metrics, self._batch, self._then = metrics, batch_size, then
        self._topic = topic

    def run(self) -> None:
        while not self.stopping.is_set():
            seen = self._doorbell.generation(self._topic)
            try:
                messages = self._fifo.receive(self._batch)
            except Exception:
                log.exception("%s: receive failed", self.name)
                self.stopping.wait(1.0)
                continue
            if not messages:
                self._doorbell.wait(seen, IDLE_WAIT_S, self._topic)
                continue
            if len(messages) == self._batch:
                # More may wait, in other groups: a ring wakes one poller, so this one passes it on.
                self._doorbell.ring(self._topic)
            try:
                self._process(messages)
            except Exception:
                # A retry that failed after a message's handling or delete did (a full disk, a database
                # error): the poller lives on; what it held in flight comes back at its visibility timeout.
                self.errors += 1
                log.exception("%s: batch failed", self.name)
                self.stopping.wait(1.0)
                continue
            self._then()

    def _process(self, messages: list[QueueMessage]) -> None:
        counts: Counter[str] = Counter()
        failed_groups: set[str] = set()
        for message in messages:
            if message.group_id in failed_groups:
                # A group's order must hold: what follows a failure waits for it (skip_group_on_error).
                self._fifo.retry_after(message, retry_delay(message.receive_count))
                continue
            try:
                counts[self._handle(message.body)] += 1
                self._fifo.delete(message)
            except NotYet as wait:
                # Expected: the broker has not confirmed a cancel or a fill yet. Retried, not an error.
                counts["RetriedNotYet"] += 1
                failed_groups.add(message.group_id)
                log.info("%s: %s (receive %d)", self.name, wait, message.receive_count)
                self._fifo.retry_after(message, retry_delay(message.receive_count))
            except Exception:
                self.errors += 1
                counts["Errors"] += 1
                failed_groups.add(message.group_id)
                log.exception("%s: message failed (receive %d)", self.name, message.receive_count)
                self._fifo.retry_after(message, retry_delay(message.receive_count))
        self._metrics(counts)


class Relay(Worker):
    """Moves the intake's inbox into tradepipe.db (`adapters/sqlite/inbox_relay.py`) the moment the intake
    rings, then wakes the risk pollers and the indexer: the intake's commit no longer shares a writer lock
    with the workers, and this one turn per run of alerts takes the lock in its place. It counts the alerts
    it moves: the indexer waits while they arrive in a burst (`burst.py`)."""

    def __init__(self, relay: InboxRelay, doorbell: Doorbell, arrivals: ArrivalRate) -> None:
        super().__init__("relay")
        self._relay, self._doorbell, self.arrivals = relay, doorbell, arrivals
        self._checkpointed_at = self._synced_at = float("-inf")

    def move_once(self) -> int:
        """One move (how many rows it carried): its alerts counted for the burst gauge, the risk pollers and
        the indexer woken, the moves synced every `SYNC_EVERY_S` (and on the first turn after a quiet
        spell), the inbox's WAL checkpointed every `CHECKPOINT_EVERY_S` while rows move."""
        before = self._relay.signals_moved
        moved = self._relay.move()
        self.arrivals.arrived(self._relay.signals_moved - before)
        if moved:
            self._doorbell.ring(SIGNALS, CHANGES)
        if time.monotonic() - self._synced_at >= SYNC_EVERY_S:
            self._synced_at = time.monotonic()
            self._relay.sync()
        if moved and time.monotonic() - self._checkpointed_at >= CHECKPOINT_EVERY_S:
            self._checkpointed_at = time.monotonic()
            self._relay.checkpoint()
        return moved

    def run(self) -> None:
        while not self.stopping.is_set():
            seen = self._doorbell.generation(INBOX)
            try:
                moved = self.move_once()
            except Exception:  # alerts wait in the inbox meanwhile: the InboxStalled alarm says so
                self.errors += 1
                log.exception("relay failed; retrying")
                self.stopping.wait(1.0)
                continue
            if moved >= BATCH:
                continue  # a backlog: no waiting
            # A ring since `seen` (read before the move) returns at once: nothing committed after the move's
            # read waits for the next poll.
            self._doorbell.wait(seen, IDLE_WAIT_S, INBOX)


class Indexer(Worker):
    def __init__(
        self, backend: SqliteBackend, doorbell: Doorbell, pause: BurstPause, batch_size: int = 200
    ) -> None:
        super().__init__("indexer")
        self._backend, self._doorbell, self.pause, self._batch = backend, doorbell, pause, batch_size
        self.feed = ChangeFeed(backend.db, "indexer")

    def run(self) -> None:
        while not self.stopping.is_set():
            if self.pause.hold():  # a burst of alerts: the intake and the orders go first (`burst.py`)
                self.stopping.wait(PAUSE_POLL_S)
                continue
            seen = self._doorbell.generation(CHANGES)
            try:
                indexed = self.index_once()
            except Exception:
                self.errors += 1
                log.exception("indexer failed; retrying")
                self.stopping.wait(2.0)
                continue
            if indexed >= self._batch:
                continue  # a backlog: no waiting
            if not indexed and self._doorbell.wait(seen, IDLE_WAIT_S, CHANGES) == seen:
                continue  # nothing rang: poll again
            # Work arrived (or a partial batch was just indexed): linger, so the rest of an alert's writes
            # (its signal four or five times, its order, its fill) join one batch and each document is
            # written once (`app.index.coalesce`). Search is derived data; the trader's path never waits.
            self.stopping.wait(INDEX_LINGER_S)

    def index_once(self) -> int:
        """How many changes it read (0: none pending)."""
        batch = self.feed.pending(self._batch)
        if not batch:
            return 0
        changes = [
            TableChange(c.table_name, c.event_name, str(c.seq), c.new_image, c.old_image) for c in batch
        ]
        failed = index_changes(changes, composition.index_deps())
        self.feed.applied(batch, {int(seq) for seq in failed})
        self._backend.metrics.add(
            {"DocumentsIndexed": len(batch) - len(failed), "DocumentsFailed": len(failed)}
        )
        if failed:
            self.stopping.wait(1.0)
        return len(batch)


@dataclass
class Schedule:
    name: str
    interval_s: float
    run: Callable[[], None]
    next_at: float = 0.0
    runs: int = 0


class Scheduler(Worker):
    def __init__(
        self, schedules: list[Schedule], doorbell: Doorbell, metrics: Callable[[Counter[str]], None]
    ) -> None:
        super().__init__("schedules")
        self.schedules = schedules
        self._doorbell, self._metrics = doorbell, metrics
        now = time.monotonic()
        for schedule in schedules:
            schedule.next_at = now + schedule.interval_s

    def run_now(self, name: str) -> None:
        for schedule in self.schedules:
            if schedule.name == name:
                schedule.next_at = 0.0
        self._doorbell.ring(SCHEDULES)

    def run(self) -> None:
        while not self.stopping.is_set():
            seen = self._doorbell.generation(SCHEDULES)
            now = time.monotonic()
            for schedule in self.schedules:
                if now >= schedule.next_at:
                    schedule.next_at = now + schedule.interval_s
                    try:
                        schedule.run()
                    except Exception:
                        self.errors += 1
                        log.exception("schedule %s failed", schedule.name)
                    schedule.runs += 1
                    # Counted whether it failed or not: `run_schedule_now` waits on this.
                    self._metrics(Counter({f"ScheduleRuns.{schedule.name}": 1}))
            wait = max(0.05, min(s.next_at for s in self.schedules) - time.monotonic())
            self._doorbell.wait(seen, min(wait, IDLE_WAIT_S), SCHEDULES)


class Workers:
    """Builds and runs every worker of the process."""

    def __init__(
        self, backend: SqliteBackend, doorbell: Doorbell, *, pollers: int = 2, schedule_s: float = 60.0
    ):
        self.backend, self.doorbell = backend, doorbell
        self.alarms = LocalAlarms(backend)
        # Each poller's deps, built on its first message: built per message they cost ~55 us each (the store
        # wrappers, the clock), and nothing in them changes under a running process (the risk config and the
        # brokers are built once anyway; each store reads the database per call). Per thread: the signal
        # store's wrapper remembers the last signal it read.
        self._deps = threading.local()
        self.risk = [
            QueueWorker(f"risk-{i}", backend.signal_fifo, self._assess, doorbell, backend.metrics.add)
            for i in range(pollers)
        ]
        self.executors = [
            QueueWorker(
                f"executor-{i}",
                backend.intent_fifo,
                self._execute,
                doorbell,
                backend.metrics.add,
                then=lambda: doorbell.ring(CHANGES),  # the indexer: the order and the signal moved
                topic=INTENTS,
            )
            for i in range(pollers)
        ]
        arrivals = ArrivalRate()
        self.relay = Relay(backend.inbox_relay, doorbell, arrivals)
        self.indexer = Indexer(backend, doorbell, BurstPause(arrivals))
        # Channels and the outbox from the settings (the supervisor points them at the state directory); a
        # broken notification config fails the start, so a typo never silently mutes the trader's phone.
        self.notifier = NotificationFeed(
            EventLog(backend.db, "notifier"), composition.local_notifier(), doorbell, backend.metrics.add
        )
        self.scheduler = Scheduler(
            [
                Schedule("release", schedule_s, self._release),
                Schedule("silence", schedule_s, self._silence),
                Schedule("reconcile", schedule_s, self._reconcile),
                Schedule("housekeeping", 300.0, self._housekeeping),
                Schedule("alarms", min(schedule_s, 30.0), lambda: None if self.alarms.evaluate() else None),
            ],
            doorbell,
            backend.metrics.add,
        )

    def all(self) -> list[Worker | NotificationFeed]:
        return [self.relay, *self.risk, *self.executors, self.indexer, self.scheduler, self.notifier]

    def warm_up(self) -> None:
        """Import and build what the first message would (alpaca-py, TA-Lib, the risk config), so the first
        alert after a start is as fast as the rest."""
        composition.risk_deps()
        composition.executor_deps()
        composition.index_deps()
        composition.broker_factory().for_mode(Mode.PAPER)
        from tradepipe.app import assess, execute, minute_schedule, reconcile  # noqa: F401

    def start(self) -> None:
        for fifo in (self.backend.signal_fifo, self.backend.intent_fifo):
            recovered = fifo.recover_in_flight()
            if recovered:
                log.warning(
                    "%s: %d messages in flight at the last stop are visible again", fifo.name, recovered
                )
        for worker in self.all():
            worker.start()
            show_name(worker)

    def stop(self, timeout_s: float = 10.0) -> None:
        for worker in self.all():
            worker.stop()
        self.doorbell.ring()
        deadline = time.monotonic() + timeout_s
        for worker in self.all():
            worker.join(max(0.0, deadline - time.monotonic()))

    # --- what each worker does ------------------------------------------------------------------------------

    def _assess(self, body: str) -> str:
        from tradepipe.app.assess import assess_signal

        deps = self._kept("risk", composition.risk_deps)
        outcome = assess_signal(SignalAccepted.model_validate_json(body), deps)
        if isinstance(outcome, Rejected):
            return "SignalsRejected"
        if isinstance(outcome, OrderIntent):
            if needs_an_executor(self.backend.intent_fifo, outcome):
                self.doorbell.ring(INTENTS, CHANGES)  # an executor poller, the indexer
            else:
                self.doorbell.ring(CHANGES)
            return "SignalsSized"
        return "SignalsQueued" if outcome is not None else "SignalsRedelivered"

    def _kept(self, name: str, build: Callable[[], T]) -> T:
        """This thread's deps of `name`, built on its first use."""
        found: T | None = getattr(self._deps, name, None)
        if found is None:
            found = build()
            setattr(self._deps, name, found)
        return found

    def _execute(self, body: str) -> str:
        from tradepipe.app.execute import execute_intent

        deps = self._kept("executor", composition.executor_deps)
        result = execute_intent(OrderIntent.model_validate_json(body), deps)
        return "OrdersRejected" if result.rejected else "OrdersSubmitted"

    def _release(self) -> None:
        """The risk function's minute schedule: release entries queued for the open, sample the halt."""
        from tradepipe.app.minute_schedule import release_and_sample

        report = release_and_sample(composition.release_deps())
        self.backend.metrics.add({"QueuedEntriesReleased": report.released})
        self.alarms.halted = list(report.halted)
        if report.released:
            self.doorbell.ring(SIGNALS, CHANGES)
        if report.closes_released:
            self.doorbell.ring(INTENTS, CHANGES)

    def _silence(self) -> None:
        """No alert for N market minutes: announced once per silent stretch (app/silence.py)."""
        from tradepipe.app.silence import watch_silence

        if watch_silence(composition.silence_deps()) is not None:
            self.backend.metrics.add({"PipelineSilent": 1})

    def _reconcile(self) -> None:
        from tradepipe.app.reconcile import reconcile

        counts: Counter[str] = Counter()
        for mode in Mode:
            if composition.broker_factory().for_mode(mode) is None:
                continue
            report = reconcile(mode, composition.reconcile_deps())
            counts.update(report.metrics())
        self.backend.metrics.add(counts)

    def _housekeeping(self) -> None:
        b = self.backend
        b.risk_state.sweep_expired()
        b.signals.sweep_expired()
        trim(b.db)
        for fifo in (b.signal_fifo, b.intent_fifo):
            fifo.purge_expired_dedup()

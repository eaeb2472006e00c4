"""Sending: one lane per channel drains that channel's queue in order, at that channel's pace.

A lane sends its oldest pending message when it is due and the channel is not paused; a failure holds
back that channel only. `DeliveryWorker.step()` moves every lane once, so tests drive delivery step by step
with an injected clock and sleep; `drain(until)` runs steps until the queues are empty or the deadline
(the Lambda); `serve(stop)` runs a thread per lane until stopped (the local runtime), so one channel's
timeout never delays another.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from tradepipe.notify.channels import Channel, redact_channels
from tradepipe.notify.outbox import Outbox
from tradepipe.notify.senders import ChannelSender, Delivered, Refused, RetryLater
from tradepipe.ports.clock import Clock

log = logging.getLogger(__name__)
_T = TypeVar("_T")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff from `first_s`, capped at `max_s`; a message older than `max_age` is dropped
    (a day-old fill notice is history, and the trail holds it)."""

    first_s: float = 2.0
    max_s: float = 300.0
    max_age: timedelta = timedelta(hours=24)

    def backoff(self, attempt: int) -> float:
        return float(min(self.first_s * 2.0 ** max(0, attempt - 1), self.max_s))


class LaneStep(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    DROPPED = "dropped"
    EXPIRED = "expired"
    WAITING = "waiting"  # something is pending, not yet due
    IDLE = "idle"  # nothing pending


@dataclass(frozen=True)
class DrainReport:
    finished: bool  # every lane empty
    steps: Counter[LaneStep]


class ChannelLane:
    def __init__(
        self,
        channel: Channel,
        outbox: Outbox,
        sender: ChannelSender,
        clock: Clock,
        policy: RetryPolicy,
        all_channels: Sequence[Channel],
    ) -> None:
        self.channel = channel
        self._outbox = outbox
        self._sender = sender
        self._clock = clock
        self._policy = policy
        self._all = all_channels
        self.paused_until: datetime | None = None

    def next_attempt(self) -> datetime | None:
        """When this lane can next send, or None when nothing is pending."""
        head = self._outbox.head(self.channel.id)
        if head is None:
            return None
        if self.paused_until is not None and self.paused_until > head.not_before:
            return self.paused_until
        return head.not_before

    def step(self) -> LaneStep:
        now = self._clock.now()
        head = self._outbox.head(self.channel.id)
        if head is None:
            return LaneStep.IDLE
        if now - head.enqueued_at > self._policy.max_age:
            self._outbox.drop(head.id, now, "expired")
            log.warning("notification expired", extra={"channel": self.channel.id, "attempts": head.attempts})
            return LaneStep.EXPIRED
        if head.not_before > now or (self.paused_until is not None and self.paused_until > now):
            return LaneStep.WAITING
        outcome = self._sender.send(self.channel, head.message)
        done = self._clock.now()  # pace from the answer, not the request: a slow answer is no head start
        pace = timedelta(seconds=self.channel.min_interval_s)
        match outcome:
            case Delivered(pause_s=pause):
                self._outbox.delivered(head.id, done)
                self.paused_until = done + max(pace, timedelta(seconds=pause))
                return LaneStep.SENT
            case RetryLater(reason=reason, after_s=after):
                delay = timedelta(
                    seconds=after if after is not None else self._policy.backoff(head.attempts + 1)
                )
                reason = redact_channels(reason, self._all)
                self._outbox.retry(head.id, done + delay, reason)
                self.paused_until = done + max(pace, delay)
                log.info(
                    "notification will be retried",
                    extra={"channel": self.channel.id, "reason": reason, "in_s": delay.total_seconds()},
                )
                return LaneStep.RETRY
            case Refused(reason=reason):
                reason = redact_channels(reason, self._all)
                self._outbox.drop(head.id, done, reason)
                self.paused_until = done + pace
                log.warning(
                    "notification refused by channel", extra={"channel": self.channel.id, "reason": reason}
                )
                return LaneStep.DROPPED
        raise AssertionError(outcome)  # pragma: no cover


class DeliveryWorker:
    def __init__(
        self,
        outbox: Outbox,
        channels: Sequence[Channel],
        sender: ChannelSender,
        clock: Clock,
        sleep: Callable[[float], None],
        policy: RetryPolicy | None = None,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self._outbox = outbox
        self._clock = clock
        self._sleep = sleep
        self._retention = retention
        self.lanes = {
            c.id: ChannelLane(c, outbox, sender, clock, policy or RetryPolicy(), channels) for c in channels
        }
        self._wake = threading.Condition()

    def step(self) -> dict[str, LaneStep]:
        """Move each lane once: at most one send per channel."""
        return {channel_id: lane.step() for channel_id, lane in self.lanes.items()}

    def pending(self) -> int:
        return sum(self._outbox.pending_count(channel_id) for channel_id in self.lanes)

    def next_wake(self) -> datetime | None:
        times = [t for lane in self.lanes.values() if (t := lane.next_attempt()) is not None]
        return min(times) if times else None

    def drain(self, until: datetime) -> DrainReport:
        """Send until every lane is empty (finished) or the next attempt falls after `until`."""
        self.prune()
        counts: Counter[LaneStep] = Counter()
        while True:
            counts.update(self.step().values())
            wake = self.next_wake()
            if wake is None or wake > until:
                return DrainReport(finished=wake is None, steps=counts)
            delay = (wake - self._clock.now()).total_seconds()
            if delay > 0:
                self._sleep(delay)

    def prune(self) -> int:
        return self._outbox.prune(self._clock.now() - self._retention)

    def kick(self) -> None:
        """New messages were enqueued: wake the lanes now rather than at their next poll."""
        with self._wake:
            self._wake.notify_all()

    def serve(self, stop: threading.Event, poll_s: float = 1.0) -> None:
        """Run a thread per lane until `stop` is set; prune once an hour. Blocks."""
        threads = [
            threading.Thread(
                target=self._serve_lane, args=(lane, stop, poll_s), name=f"notify-{lane.channel.id}"
            )
            for lane in self.lanes.values()
        ]
        for thread in threads:
            thread.start()
        while not stop.wait(3600):
            self._guarded(self.prune)
        self.kick()
        for thread in threads:
            thread.join()

    def _serve_lane(self, lane: ChannelLane, stop: threading.Event, poll_s: float) -> None:
        while not stop.is_set():
            self._guarded(lane.step)
            wake = self._guarded(lane.next_attempt)
            wait = poll_s if wake is None else (wake - self._clock.now()).total_seconds()
            if wait > 0:
                with self._wake:
                    self._wake.wait(timeout=min(wait, poll_s))

    @staticmethod
    def _guarded(call: Callable[[], _T]) -> _T | None:
        try:
            return call()
        except Exception:  # a broken disk or a bug in one lane must not end delivery for the others
            log.exception("notification lane failed; retrying")
            return None

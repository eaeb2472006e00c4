"""The notifier's use cases: what the AWS notifier Lambda, the local runtime and `tradepipe notify test` call.

`notify_events` never sends: it filters, renders and enqueues in one local write, so a stage that
publishes an event is never slowed by a channel. The delivery worker sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from tradepipe.contracts.events import DomainEvent
from tradepipe.notify.channels import Channel, ChannelKind, redact_channels
from tradepipe.notify.outbox import Outbox
from tradepipe.notify.render import Message, render, render_test
from tradepipe.notify.senders import ChannelSender, Delivered, Refused, RetryLater
from tradepipe.notify.toggles import NotifyToggles
from tradepipe.ports.clock import Clock


@dataclass(frozen=True)
class NotifyDeps:
    channels: tuple[Channel, ...]
    outbox: Outbox
    sender: ChannelSender
    clock: Clock
    toggles: NotifyToggles = field(default_factory=NotifyToggles)
    public_base_url: str | None = None
    stage: str = "local"
    on_enqueued: Callable[[], None] | None = None  # the worker's kick


@dataclass(frozen=True)
class NotifyReport:
    received: int
    wanted: int  # after the per-event switches and duplicates within the batch
    enqueued: dict[str, int]  # channel id -> messages


@dataclass(frozen=True)
class ChannelCheck:
    channel_id: str
    kind: ChannelKind
    answered: bool
    detail: str  # scrubbed of channel secrets


def notify_events(events: Sequence[DomainEvent], deps: NotifyDeps) -> NotifyReport:
    wanted = _unique(e for e in events if deps.toggles.wants(e))
    entries: list[tuple[str, Message]] = []
    for channel in deps.channels:
        # A redelivered event (SQS, a replayed archive) that this channel already took is not sent again.
        known = deps.outbox.known(channel.id, (e.event_key() for e in wanted))
        fresh = [e for e in wanted if e.event_key() not in known]
        if fresh:
            messages = render(fresh, channel, base_url=deps.public_base_url, secrets=deps.channels)
            entries.extend((channel.id, m) for m in messages)
    if entries:
        deps.outbox.enqueue(entries, deps.clock.now())
        if deps.on_enqueued is not None:
            deps.on_enqueued()
    counts: dict[str, int] = {}
    for channel_id, _ in entries:
        counts[channel_id] = counts.get(channel_id, 0) + 1
    return NotifyReport(received=len(events), wanted=len(wanted), enqueued=counts)


def still_pending(events: Iterable[DomainEvent], deps: NotifyDeps) -> set[str]:
    """Keys of `events` that some channel has not received yet."""
    return deps.outbox.pending_keys(e.event_key() for e in events)


def send_test_message(deps: NotifyDeps) -> list[ChannelCheck]:
    """One direct attempt per channel, bypassing the queue: says which channels answered, and why not."""
    checks = []
    for channel in deps.channels:
        outcome = deps.sender.send(channel, render_test(channel, deps.stage))
        match outcome:
            case Delivered():
                answered, detail = True, "delivered"
            case RetryLater(reason=reason) | Refused(reason=reason):
                answered, detail = False, reason
        checks.append(
            ChannelCheck(channel.id, channel.kind, answered, redact_channels(detail, deps.channels))
        )
    return checks


def _unique(events: Iterable[DomainEvent]) -> list[DomainEvent]:
    seen: set[str] = set()
    kept = []
    for event in events:
        key = event.event_key()
        if key not in seen:
            seen.add(key)
            kept.append(event)
    return kept

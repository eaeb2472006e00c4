"""Delivery lanes, driven step by step on a clock that sleeping advances: pace, backoff, isolation."""

from __future__ import annotations

from datetime import timedelta

from tests.notify_samples import discord_url, fill, slack_url, telegram_url, webhook_url
from tests.unit.notify.fakes import ScriptedTransport, SleepClock
from tradepipe.notify.channels import Channel, parse_channel
from tradepipe.notify.delivery import DeliveryWorker, LaneStep, RetryPolicy
from tradepipe.notify.outbox import MemoryOutbox
from tradepipe.notify.render import render
from tradepipe.notify.senders import ChannelSender, HttpAnswer, TransportError

SLACK, DISCORD, TELEGRAM, WEBHOOK = (
    parse_channel(u) for u in (slack_url(), discord_url(), telegram_url(), webhook_url())
)


def _url(channel: Channel) -> str:
    return channel.target.get_secret_value()


def _setup(*channels: Channel) -> tuple[DeliveryWorker, MemoryOutbox, ScriptedTransport, SleepClock]:
    clock = SleepClock()
    transport = ScriptedTransport(clock)
    outbox = MemoryOutbox()
    worker = DeliveryWorker(outbox, channels, ChannelSender(transport), clock, clock.sleep)
    return worker, outbox, transport, clock


def _enqueue(outbox: MemoryOutbox, clock: SleepClock, channel: Channel, *numbers: int) -> None:
    # One message per event: as many single-event messages as numbers given.
    outbox.enqueue([(channel.id, render([fill(n)], channel)[0]) for n in numbers], clock.now())


def test_slack_is_paced_at_one_message_a_second() -> None:
    worker, outbox, transport, clock = _setup(SLACK)
    _enqueue(outbox, clock, SLACK, 1, 2, 3)
    start = clock.now()

    report = worker.drain(until=start + timedelta(minutes=1))

    times = [p.at for p in transport.accepted(_url(SLACK))]
    assert report.finished
    assert len(times) == 3
    assert [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)] == [1.0, 1.0]


def test_discord_429_waits_for_retry_after_then_delivers() -> None:
    worker, outbox, transport, clock = _setup(DISCORD)
    transport.scripts[_url(DISCORD)] = [HttpAnswer(429, {}, b'{"retry_after": 0.75, "global": false}')]
    _enqueue(outbox, clock, DISCORD, 1)

    worker.drain(until=clock.now() + timedelta(minutes=1))

    first, second = transport.tried(_url(DISCORD))
    assert first.status == 429
    assert second.status == 200
    assert (second.at - first.at).total_seconds() == 0.75
    assert first.body == second.body


def test_a_failing_channel_holds_back_only_itself_and_gets_its_message_after_recovering() -> None:
    worker, outbox, transport, clock = _setup(SLACK, TELEGRAM, WEBHOOK)
    transport.scripts[_url(TELEGRAM)] = [
        HttpAnswer(502, {}, b""),
        TransportError("no answer: ConnectionRefusedError"),
    ]
    for channel in (SLACK, TELEGRAM, WEBHOOK):
        _enqueue(outbox, clock, channel, 1)

    steps = worker.step()

    assert steps == {SLACK.id: LaneStep.SENT, TELEGRAM.id: LaneStep.RETRY, WEBHOOK.id: LaneStep.SENT}
    worker.drain(until=clock.now() + timedelta(minutes=5))
    tries = transport.tried(_url(TELEGRAM))
    assert [p.status for p in tries] == [502, 0, 200]
    gaps = [(b.at - a.at).total_seconds() for a, b in zip(tries, tries[1:], strict=False)]
    assert gaps == [2.0, 4.0]  # the policy's backoff: 2 s, then 4 s
    assert outbox.pending_count() == 0


def test_a_refused_message_is_dropped_and_the_next_one_goes() -> None:
    worker, outbox, transport, clock = _setup(SLACK)
    transport.scripts[_url(SLACK)] = [HttpAnswer(404, {}, b"no_service")]
    _enqueue(outbox, clock, SLACK, 1, 2)

    worker.drain(until=clock.now() + timedelta(minutes=1))

    assert [p.status for p in transport.tried(_url(SLACK))] == [404, 200]
    assert outbox.state_of(1).state == "dropped"
    assert outbox.state_of(1).last_error == "404 from the service: no_service"
    assert outbox.state_of(2).state == "delivered"


def test_a_message_older_than_the_policy_allows_expires_unsent() -> None:
    worker, outbox, transport, clock = _setup(SLACK)
    _enqueue(outbox, clock, SLACK, 1)
    clock.advance(hours=25)

    assert worker.step() == {SLACK.id: LaneStep.EXPIRED}
    assert transport.posts == []


def test_drain_stops_at_its_deadline_and_leaves_the_message_pending() -> None:
    worker, outbox, transport, clock = _setup(SLACK)
    transport.scripts[_url(SLACK)] = [HttpAnswer(503, {}, b"")] * 3
    _enqueue(outbox, clock, SLACK, 1)

    report = worker.drain(until=clock.now() + timedelta(seconds=5))

    assert not report.finished
    assert report.steps[LaneStep.RETRY] == 2  # at 0 s and 2 s; the next try (6 s) is past the deadline
    assert outbox.pending_count(SLACK.id) == 1


def test_backoff_doubles_to_its_cap() -> None:
    policy = RetryPolicy(first_s=2, max_s=300)

    assert [policy.backoff(n) for n in (1, 2, 3, 8, 9, 20)] == [2, 4, 8, 256, 300, 300]


def test_messages_for_a_channel_no_longer_configured_are_left_alone() -> None:
    worker, outbox, transport, clock = _setup(SLACK)
    _enqueue(outbox, clock, TELEGRAM, 1)

    report = worker.drain(until=clock.now() + timedelta(minutes=1))

    assert report.finished
    assert transport.posts == []

"""notify_events: filter, group, enqueue once, and never twice for a redelivered event;
send_test_message: which channels answered."""

from __future__ import annotations

from datetime import timedelta

from tests.notify_samples import SLACK_TOKEN, fill, halt, rejection, slack_url, telegram_url, webhook_url
from tests.unit.notify.fakes import ScriptedTransport, SleepClock
from tradepipe.contracts.events import SignalDuplicate
from tradepipe.domain.model import Mode
from tradepipe.notify.channels import parse_channel
from tradepipe.notify.delivery import DeliveryWorker
from tradepipe.notify.outbox import MemoryOutbox
from tradepipe.notify.senders import ChannelSender, HttpAnswer, TransportError
from tradepipe.notify.toggles import NotifyToggles
from tradepipe.notify.use_cases import NotifyDeps, notify_events, send_test_message, still_pending

SLACK, TELEGRAM, WEBHOOK = (parse_channel(u) for u in (slack_url(), telegram_url(), webhook_url()))


def _deps(toggles: NotifyToggles | None = None) -> tuple[NotifyDeps, ScriptedTransport, SleepClock]:
    clock = SleepClock()
    transport = ScriptedTransport(clock)
    kicks: list[int] = []
    deps = NotifyDeps(
        channels=(SLACK, TELEGRAM, WEBHOOK),
        outbox=MemoryOutbox(),
        sender=ChannelSender(transport),
        clock=clock,
        toggles=toggles or NotifyToggles(),
        on_enqueued=lambda: kicks.append(1),
    )
    return deps, transport, clock


def test_a_burst_is_one_enqueue_of_one_message_per_channel_and_sends_nothing() -> None:
    deps, transport, _ = _deps()

    report = notify_events([fill(n) for n in range(10)], deps)

    assert report.enqueued == {SLACK.id: 1, TELEGRAM.id: 1, WEBHOOK.id: 1}
    assert transport.posts == []


def test_switched_off_events_are_not_enqueued() -> None:
    deps, _, _ = _deps(NotifyToggles(entry_filled=False))
    duplicate = SignalDuplicate(
        at=fill().at, mode=Mode.PAPER, signal_id="d" * 32, ticker="AAPL", strategy="s"
    )

    report = notify_events([fill(), duplicate, halt()], deps)

    assert (report.received, report.wanted) == (3, 1)
    assert deps.outbox.pending_count() == 3  # the halt, once per channel


def test_a_redelivered_event_reaches_only_the_channels_that_missed_it() -> None:
    deps, transport, clock = _deps()
    transport.scripts[TELEGRAM.target.get_secret_value()] = [TransportError("no answer: TimeoutError")]
    worker = DeliveryWorker(deps.outbox, deps.channels, deps.sender, clock, clock.sleep)
    notify_events([rejection()], deps)
    worker.step()  # slack and the webhook take it; telegram does not answer
    assert still_pending([rejection()], deps) == {rejection().event_key()}

    again = notify_events([rejection(), rejection()], deps)  # SQS redelivers, twice in one batch
    worker.drain(until=clock.now() + timedelta(minutes=1))

    assert again.enqueued == {}
    assert [len(transport.accepted(c.target.get_secret_value())) for c in deps.channels] == [1, 1, 1]
    assert still_pending([rejection()], deps) == set()


def test_send_test_message_says_which_channels_answered_without_their_secrets() -> None:
    deps, transport, _ = _deps()
    transport.scripts[SLACK.target.get_secret_value()] = [
        HttpAnswer(403, {}, f"invalid_token {SLACK_TOKEN}".encode())
    ]
    transport.scripts[TELEGRAM.target.get_secret_value()] = [TransportError("no answer: TimeoutError")]

    checks = send_test_message(deps)

    assert [(c.channel_id, c.answered) for c in checks] == [
        (SLACK.id, False),
        (TELEGRAM.id, False),
        (WEBHOOK.id, True),
    ]
    assert checks[0].detail == "403 from the service: invalid_token ***"
    assert checks[1].detail == "no answer: TimeoutError"
    assert deps.outbox.pending_count() == 0  # a test message bypasses the queue

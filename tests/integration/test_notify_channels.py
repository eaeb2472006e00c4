"""Notifications end to end on this machine: notify_events -> SQLite outbox -> delivery lanes -> real HTTP
to local stand-ins for each service, through the standard library client. The clock is injected (sleeping
advances it), so rate limits and backoff are honoured without waiting for them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from tests.integration.notify_stand_ins import Answer, StandIn
from tests.notify_samples import PASSPHRASE, SECRETS, fill, halt, rejection, silence
from tests.unit.notify.fakes import SleepClock
from tradepipe.contracts.events import DomainEvent
from tradepipe.notify.assemble import Notifier, build_notifier
from tradepipe.notify.outbox_sqlite import SqliteOutbox
from tradepipe.notify.sources import load_channels
from tradepipe.notify.use_cases import notify_events
from tradepipe.settings import Settings

KINDS = ("slack", "discord", "telegram", "webhook")
BASE = "https://trader.example.com"


@pytest.fixture
def services() -> Iterator[dict[str, StandIn]]:
    stand_ins = {kind: StandIn(kind) for kind in KINDS}
    yield stand_ins
    bodies = b"".join(r.body for s in stand_ins.values() for r in s.received)
    for stand_in in stand_ins.values():
        stand_in.stop()
    # Whatever a test sent, no secret was in any body.
    for secret in SECRETS:
        assert secret.encode() not in bodies


@pytest.fixture
def clock() -> SleepClock:
    return SleepClock()


def _notifier(services: dict[str, StandIn], state: Path, clock: SleepClock) -> Notifier:
    settings = Settings(notify_public_base_url=BASE, notify_telegram_api=services["telegram"].base)
    channels = load_channels([s.channel_url for s in services.values()], settings.notify_telegram_api)
    return build_notifier(
        settings, channels=channels, outbox=SqliteOutbox(state), clock=clock, sleep=clock.sleep
    )


def _deliver(
    notifier: Notifier, clock: SleepClock, events: Sequence[DomainEvent], within_s: float = 60
) -> bool:
    notify_events(events, notifier.deps)
    return notifier.worker.drain(until=clock.now() + timedelta(seconds=within_s)).finished


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(fill(), "✅ AAPL entry filled: BUY 100 @ 187.12, stop 185.00, target 192.00", id="fill"),
        pytest.param(rejection(), "❌ TSLA rejected COOLDOWN", id="rejection"),
        pytest.param(halt(), "🛑 trading HALTED by rule max_drawdown", id="halt"),
        pytest.param(silence(), "🔇 pipeline silent: no alert for 75 market minutes", id="silence"),
    ],
)
def test_event_reaches_every_channel_in_its_format(
    services: dict[str, StandIn], tmp_path: Path, clock: SleepClock, event: DomainEvent, expected: str
) -> None:
    notifier = _notifier(services, tmp_path, clock)

    assert _deliver(notifier, clock, [event])

    for stand_in in services.values():
        (text,) = stand_in.texts()
        assert expected in text
    mode = "[paper] " if event.subject().mode else ""
    assert services["telegram"].texts()[0].startswith(mode + expected[:2])
    assert services["telegram"].delivered()[0]["chat_id"] == "987654321"
    assert services["discord"].delivered()[0]["allowed_mentions"] == {"parse": []}
    generic = services["webhook"].delivered()[0]
    assert generic["event"]["type"] == event.detail_type
    if event.subject().signal_id:
        assert f"{BASE}/signals/{event.subject().signal_id}" in services["slack"].texts()[0]


def test_a_bar_close_of_40_fills_is_a_few_messages_per_channel(
    services: dict[str, StandIn], tmp_path: Path, clock: SleepClock
) -> None:
    notifier = _notifier(services, tmp_path, clock)
    burst = [fill(n, ticker=f"T{n:02d}") for n in range(40)]

    assert _deliver(notifier, clock, burst)

    counts = {kind: len(s.texts()) for kind, s in services.items()}
    assert all(1 <= n <= 4 for n in counts.values()), counts
    for stand_in in services.values():
        assert all(200 <= r.status < 300 for r in stand_in.received)  # every one within the service's limit
        assert sum(t.count("entry filled") for t in stand_in.texts()) == 40


def test_discord_429_is_retried_after_its_retry_after(
    services: dict[str, StandIn], tmp_path: Path, clock: SleepClock
) -> None:
    services["discord"].script.append(
        Answer(429, {"message": "You are being rate limited.", "retry_after": 0.5, "global": False})
    )
    notifier = _notifier(services, tmp_path, clock)

    assert _deliver(notifier, clock, [fill()])

    assert [r.status for r in services["discord"].received] == [429, 204]
    assert 0.5 in clock.slept


def test_a_failing_channel_gets_its_message_after_it_recovers_and_the_others_are_not_held_back(
    services: dict[str, StandIn], tmp_path: Path, clock: SleepClock
) -> None:
    services["telegram"].script.extend([Answer(502, {"ok": False}), Answer(503, {"ok": False})])
    notifier = _notifier(services, tmp_path, clock)

    finished = _deliver(notifier, clock, [halt()], within_s=1)

    assert not finished
    assert services["telegram"].texts() == []
    assert all(len(services[k].texts()) == 1 for k in ("slack", "discord", "webhook"))
    assert notifier.worker.drain(until=clock.now() + timedelta(minutes=5)).finished
    assert [r.status for r in services["telegram"].received] == [502, 503, 200]
    assert all(len(s.texts()) == 1 for s in services.values())


def test_pending_messages_survive_a_restart(
    services: dict[str, StandIn], tmp_path: Path, clock: SleepClock
) -> None:
    services["telegram"].stop()  # refuses connections
    before = _notifier(services, tmp_path, clock)
    assert not _deliver(before, clock, [fill(), rejection()], within_s=10)
    assert isinstance(before.deps.outbox, SqliteOutbox)
    before.deps.outbox.close()  # the process ends
    services["telegram"].start()

    after = _notifier(services, tmp_path, clock)
    assert after.worker.drain(until=clock.now() + timedelta(minutes=5)).finished

    (text,) = services["telegram"].texts()
    assert "AAPL entry filled" in text
    assert "TSLA rejected" in text
    assert all(len(services[k].texts()) == 1 for k in ("slack", "discord", "webhook"))  # not sent twice


def test_no_secret_in_any_body_even_when_an_event_quotes_one(
    services: dict[str, StandIn], tmp_path: Path, clock: SleepClock
) -> None:
    notifier = _notifier(services, tmp_path, clock)
    leaky = rejection(detail=f"passphrase={PASSPHRASE} via {services['slack'].channel_url}")

    assert _deliver(notifier, clock, [leaky])

    assert all(len(s.texts()) == 1 for s in services.values())  # the fixture checks the bodies
    assert "passphrase=***" in services["slack"].texts()[0]


def test_serve_delivers_in_the_background_until_stopped(services: dict[str, StandIn], tmp_path: Path) -> None:
    settings = Settings(notify_telegram_api=services["telegram"].base)
    channels = load_channels([s.channel_url for s in services.values()], settings.notify_telegram_api)
    notifier = build_notifier(settings, channels=channels, outbox=SqliteOutbox(tmp_path))  # real clock
    stop = threading.Event()
    server = threading.Thread(target=notifier.worker.serve, args=(stop,), kwargs={"poll_s": 0.2})
    server.start()
    try:
        notify_events([fill()], notifier.deps)  # kicks the lanes
        deadline = time.monotonic() + 20
        while not all(s.texts() for s in services.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        server.join(timeout=20)

    assert not server.is_alive()
    assert all(len(s.texts()) == 1 for s in services.values())

"""Notifications through the single-machine runtime, to local stand-ins for Slack, Discord, Telegram and a
generic webhook: the silent pipeline (the workers' schedule over the paper broker's calendar), a stale alert
rejected at intake, a halt through the operator API while Discord is down (the others get it at once, Discord
once it is back), a burst of fills on the local bus grouped into a few messages, and no secret in any body.

One runtime, one story in order: the silence needs a runtime that has received no alert yet."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from tests.integration.notify_stand_ins import StandIn
from tests.notify_samples import DISCORD_TOKEN, SLACK_TOKEN, TELEGRAM_TOKEN, WEBHOOK_TOKEN, fill
from tradepipe.local.runtime.supervisor import LocalConfig, Supervisor
from tradepipe.ports.messaging import publish_event

pytestmark = pytest.mark.e2e
T = TypeVar("T")
KINDS = ("slack", "discord", "telegram", "webhook")
PASSPHRASE = "notify e2e passphrase"


def eventually(probe: Callable[[], T | None], timeout_s: float = 30.0) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout_s} s")


@pytest.fixture
def stand_ins() -> Iterator[dict[str, StandIn]]:
    services = {kind: StandIn(kind) for kind in KINDS}
    yield services
    for service in services.values():
        service.stop()


@pytest.fixture
def runtime(
    tmp_path: Path, stand_ins: dict[str, StandIn], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Supervisor]:
    # What a trader exports before `tradepipe local`: the runtime hands it to its workers.
    monkeypatch.setenv("TRADEPIPE_NOTIFY_URLS", json.dumps([s.channel_url for s in stand_ins.values()]))
    monkeypatch.setenv("TRADEPIPE_NOTIFY_TELEGRAM_API", stand_ins["telegram"].base)
    # Always open: the real fill below must happen at any hour the suite runs.
    config = LocalConfig.ephemeral(
        tmp_path / "state", passphrase=PASSPHRASE, schedule_s=3600.0, always_open=True
    )
    with Supervisor(config) as sup:
        yield sup


def _texts_with(service: StandIn, needle: str) -> list[str]:
    return [t for t in service.texts() if needle in t]


def _everywhere(stand_ins: dict[str, StandIn], needle: str, kinds: tuple[str, ...] = KINDS) -> bool:
    return all(_texts_with(stand_ins[k], needle) for k in kinds)


def test_notifications_through_the_runtime(runtime: Supervisor, stand_ins: dict[str, StandIn]) -> None:
    from tradepipe.local.demo import run_schedule_now

    backend = runtime.backend()

    # 1. No alert in the last week of market sessions: the silence schedule announces it, once.
    assert run_schedule_now(runtime, backend, "silence")
    eventually(lambda: _everywhere(stand_ins, "pipeline silent"))
    assert run_schedule_now(runtime, backend, "silence")

    # 2. A stale alert: rejected at intake (422) and announced with its ticker and reason.
    stale = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    alert = {
        "passphrase": PASSPHRASE,
        "signal": "BUY",
        "ticker": "MSFT",
        "tradingMode": "Paper",
        "riskAmount": 100.0,
        "entryPrice": 27.95,
        "stopLoss": 27.40,
        "timestamp": stale,
        "strategy": "notify_e2e",
        "timeframe": "5m",
    }
    assert httpx.post(runtime.webhook_url, json=alert, timeout=10).status_code == 422
    eventually(lambda: _everywhere(stand_ins, "MSFT rejected STALE_ALERT"))

    # 2b. A real fill: an alert through intake, risk and the executor to the Alpaca-like broker; the executor
    # publishes EntryFilled where it learns the fill, and every channel names it.
    fresh = {
        **alert,
        "timestamp": datetime.now(UTC).isoformat(),
        "timeframe": "1D",
        "strategy": "notify_fill",
    }
    assert httpx.post(runtime.webhook_url, json=fresh, timeout=10).status_code == 202
    eventually(lambda: _everywhere(stand_ins, "MSFT entry filled"), timeout_s=60.0)

    # 3. Discord is down; a halt by hand: the others have it at once, Discord after it recovers.
    stand_ins["discord"].stop()
    token = runtime.state.operator_token()
    answer = httpx.post(
        f"{runtime.operator_url}/trading-state/paper",
        json={"state": "HALTED", "reason": "notify e2e", "by": "tester"},
        headers={"X-Tradepipe-Token": token},
        timeout=10,
    )
    assert answer.status_code == 200
    eventually(lambda: _everywhere(stand_ins, "trading HALTED by tester", ("slack", "telegram", "webhook")))
    assert not _texts_with(stand_ins["discord"], "HALTED")
    stand_ins["discord"].start()
    eventually(lambda: _texts_with(stand_ins["discord"], "trading HALTED by tester"), timeout_s=60.0)

    # 4. A bar close of 40 fills on the bus (the executor's publisher is another change): a few messages.
    before = {kind: len(service.delivered()) for kind, service in stand_ins.items()}
    for n in range(40):
        publish_event(
            backend.events, fill(n, ticker=f"T{n:02d}").model_copy(update={"at": datetime.now(UTC)})
        )
    eventually(lambda: _everywhere(stand_ins, "T39 entry filled"))
    for kind, service in stand_ins.items():
        new = service.texts()[before[kind] :]
        fills = sum(text.count("entry filled") for text in new)
        assert fills == 40, kind
        # Slack and Telegram fit 40 fills in 2 messages, Discord (2,000 characters) in 4.
        assert len(new) <= 4, (kind, len(new))

    # 5. The silence was announced once; and no body carries a token, the passphrase or the broker's keys.
    assert all(len(_texts_with(s, "pipeline silent")) == 1 for s in stand_ins.values())
    keys = backend.local_secrets.alpaca("paper")
    assert keys is not None
    secrets = (
        SLACK_TOKEN,
        DISCORD_TOKEN,
        TELEGRAM_TOKEN,
        WEBHOOK_TOKEN,
        PASSPHRASE,
        token,
        keys.api_key.get_secret_value(),
        keys.secret_key.get_secret_value(),
    )
    for service in stand_ins.values():
        for received in service.received:
            body = received.body.decode()
            assert not [s for s in secrets if s in body], service.kind

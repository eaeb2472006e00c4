from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.builders import PASSPHRASE, alert_body
from tradepipe.adapters.memory import FixedClock, MemoryQueue, MemorySignalStore, StaticPassphrases
from tradepipe.api_http import intake_answer
from tradepipe.app.intake import (
    Accepted,
    AlertRequest,
    Duplicate,
    Forbidden,
    IntakeDeps,
    Invalid,
    Malformed,
    TooLarge,
    Unauthorized,
    accept_alert,
)
from tradepipe.domain.model import RejectReason, SignalStatus

ALERT_TIME = datetime(2024, 1, 1, 12, tzinfo=UTC)  # the builders' alert timestamp


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(ALERT_TIME.replace(second=5))


@pytest.fixture
def deps(clock: FixedClock) -> IntakeDeps:
    return IntakeDeps(
        secrets=StaticPassphrases(default=PASSPHRASE, other="second secret"),
        store=MemorySignalStore(),
        queue=MemoryQueue(),
        clock=clock,
        dedupe_ttl_s=3600,
    )


def _send(deps: IntakeDeps, body: object, token: str | None = None, ip: str = "52.89.214.238") -> object:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return accept_alert(AlertRequest(raw, source_ip=ip, path_token=token), deps)


def test_accept_alert_when_valid_then_recorded_enqueued_and_202(deps: IntakeDeps) -> None:
    result = _send(deps, alert_body())

    assert isinstance(result, Accepted)
    assert _answer(result) == (202, {"signal_id": result.signal_id, "status": "accepted"})
    item = deps.store.get(result.signal_id)
    assert item is not None
    assert item.status is SignalStatus.ENQUEUED
    assert item.credential == "default"
    assert [m.signal.signal_id for m in deps.queue.sent] == [result.signal_id]  # type: ignore[attr-defined]


def test_accept_alert_when_repeated_then_duplicate_with_same_id_and_one_enqueue(deps: IntakeDeps) -> None:
    first = _send(deps, alert_body())
    second = _send(deps, alert_body())

    assert isinstance(first, Accepted)
    assert isinstance(second, Duplicate)
    assert second.signal_id == first.signal_id
    assert _answer(second)[0] == 200
    assert len(deps.queue.sent) == 1  # type: ignore[attr-defined]


def test_accept_alert_when_replayed_after_ten_minutes_then_still_duplicate(
    deps: IntakeDeps, clock: FixedClock
) -> None:
    first = _send(deps, alert_body())
    clock.advance(minutes=10)  # past SQS FIFO's 5-minute dedup window, and the alert is now stale

    again = _send(deps, alert_body())

    assert isinstance(again, Duplicate)
    assert again.signal_id == first.signal_id  # type: ignore[attr-defined]
    assert len(deps.queue.sent) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("seconds", "says"),
    [pytest.param(61, "61 s old", id="older-than-60s"), pytest.param(-31, "in the future", id="future-31s")],
)
def test_accept_alert_when_stale_then_422_stale_recorded_not_enqueued(
    deps: IntakeDeps, clock: FixedClock, seconds: int, says: str
) -> None:
    clock.current = ALERT_TIME + timedelta(seconds=seconds)

    result = _send(deps, alert_body())

    assert isinstance(result, Invalid)
    status, body = _answer(result)
    assert status == 422
    assert body["reason"] == "STALE_ALERT"
    assert says in body["errors"][0]["message"]
    item = deps.store.get(result.signal_id)
    assert item is not None
    assert item.reject_reason == RejectReason.STALE_ALERT
    assert deps.queue.sent == []  # type: ignore[attr-defined]


def test_accept_alert_when_recorded_but_never_enqueued_then_repeat_enqueues(deps: IntakeDeps) -> None:
    class FailingQueue(MemoryQueue):
        def send(self, message: object) -> None:  # type: ignore[override]
            raise ConnectionError("queue down")

    broken = IntakeDeps(deps.secrets, deps.store, FailingQueue(), deps.clock, 3600)
    with pytest.raises(ConnectionError):
        _send(broken, alert_body())

    retry = _send(deps, alert_body())

    assert isinstance(retry, Duplicate)
    assert len(deps.queue.sent) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("passphrase", [None, "", "wrong", PASSPHRASE + " "])
def test_accept_alert_when_passphrase_missing_or_wrong_then_401_and_nothing_stored(
    deps: IntakeDeps, passphrase: str | None
) -> None:
    result = _send(deps, alert_body(passphrase=passphrase))

    assert isinstance(result, Unauthorized)
    assert _answer(result)[0] == 401
    assert deps.store.items == {}  # type: ignore[attr-defined]
    assert deps.queue.sent == []  # type: ignore[attr-defined]


def test_accept_alert_when_secret_key_or_path_token_then_accepted(deps: IntakeDeps) -> None:
    via_secret_key = _send(deps, alert_body(passphrase=None, secret="second secret", strategy="a"))
    via_path = _send(deps, alert_body(passphrase=None, strategy="b"), token=PASSPHRASE)
    wrong_path = _send(deps, alert_body(strategy="c"), token="wrong")

    assert isinstance(via_secret_key, Accepted)
    assert isinstance(via_path, Accepted)
    assert isinstance(wrong_path, Unauthorized)  # the path token, when present, is the credential
    item = deps.store.get(via_secret_key.signal_id)
    assert item is not None
    assert item.credential == "other"


def test_accept_alert_when_source_not_in_allowlist_then_403_nothing_stored(deps: IntakeDeps) -> None:
    guarded = IntakeDeps(
        deps.secrets,
        deps.store,
        deps.queue,
        deps.clock,
        3600,
        allowed_networks=(ipaddress.ip_network("52.89.214.238/32"),),
    )

    refused = _send(guarded, alert_body(), ip="203.0.113.9")
    allowed = _send(guarded, alert_body(), ip="52.89.214.238")

    assert isinstance(refused, Forbidden)
    assert _answer(refused)[0] == 403
    assert isinstance(allowed, Accepted)


def test_accept_alert_when_invalid_then_422_recorded_rejected_never_enqueued(deps: IntakeDeps) -> None:
    result = _send(deps, alert_body(signal="HOLD", entryPrice=-3))

    assert isinstance(result, Invalid)
    status, body = _answer(result)
    assert status == 422
    assert {e["field"] for e in body["errors"]} == {"signal", "entryPrice"}
    item = deps.store.get(result.signal_id)
    assert item is not None
    assert item.status is SignalStatus.REJECTED
    assert item.reject_reason == "INVALID_ALERT"
    assert PASSPHRASE not in item.model_dump_json()
    assert deps.queue.sent == []  # type: ignore[attr-defined]


def test_accept_alert_when_same_invalid_alert_twice_then_one_record(deps: IntakeDeps) -> None:
    a = _send(deps, alert_body(riskAmount=None))
    b = _send(deps, alert_body(riskAmount=None))

    assert isinstance(a, Invalid)
    assert isinstance(b, Invalid)
    assert a.signal_id == b.signal_id
    assert len(deps.store.items) == 1  # type: ignore[attr-defined]


def test_accept_alert_when_bare_nan_then_422_naming_the_field(deps: IntakeDeps) -> None:
    raw = json.dumps(alert_body()).replace('"entryPrice": 150.25', '"entryPrice": NaN').encode()

    result = _send(deps, raw)

    assert isinstance(result, Invalid)
    assert [e.field for e in result.errors] == ["entryPrice"]


@pytest.mark.parametrize("raw", [b"BUY AAPL now", b"\xff\xfe", b"{broken json"])
def test_accept_alert_when_not_understood_then_400_and_nothing_stored(deps: IntakeDeps, raw: bytes) -> None:
    result = _send(deps, raw)

    assert isinstance(result, Malformed)
    assert _answer(result)[0] == 400
    assert deps.store.items == {}  # type: ignore[attr-defined]


def test_accept_alert_when_body_over_16_kib_then_413(deps: IntakeDeps) -> None:
    result = _send(deps, alert_body(padding="x" * 16_500))

    assert isinstance(result, TooLarge)
    assert _answer(result)[0] == 413


def _answer(result: object) -> tuple[int, dict[str, object]]:
    status, body = intake_answer(result)  # type: ignore[arg-type]
    return status, body.model_dump(mode="json", exclude_none=True)

from __future__ import annotations

import json

import pytest

from tests.unit.builders import PASSPHRASE, alert_body
from tradepipe.adapters.memory import FixedClock, MemoryQueue, MemorySignalStore, StaticPassphrases
from tradepipe.app.intake import (
    Accepted,
    Duplicate,
    IntakeDeps,
    Invalid,
    Malformed,
    TooLarge,
    Unauthorized,
    accept_alert,
    intake_response,
)
from tradepipe.domain.model import SignalStatus


@pytest.fixture
def deps() -> IntakeDeps:
    return IntakeDeps(
        secrets=StaticPassphrases(default=PASSPHRASE, other="second secret"),
        store=MemorySignalStore(),
        queue=MemoryQueue(),
        clock=FixedClock(),
        dedupe_ttl_s=3600,
    )


def _raw(body: object) -> bytes:
    return json.dumps(body).encode()


def test_accept_alert_when_valid_then_recorded_enqueued_and_202(deps: IntakeDeps) -> None:
    result = accept_alert(_raw(alert_body()), deps)

    assert isinstance(result, Accepted)
    assert intake_response(result) == (202, {"signal_id": result.signal_id, "status": "accepted"})
    item = deps.store.get(result.signal_id)
    assert item is not None
    assert item.status is SignalStatus.ENQUEUED
    assert [m.signal.signal_id for m in deps.queue.sent] == [result.signal_id]  # type: ignore[attr-defined]


def test_accept_alert_when_repeated_then_duplicate_with_same_id_and_one_enqueue(deps: IntakeDeps) -> None:
    first = accept_alert(_raw(alert_body()), deps)
    second = accept_alert(_raw(alert_body()), deps)

    assert isinstance(second, Duplicate)
    assert second.signal_id == first.signal_id
    assert intake_response(second)[0] == 200
    assert len(deps.queue.sent) == 1  # type: ignore[attr-defined]


def test_accept_alert_when_recorded_but_never_enqueued_then_repeat_enqueues(deps: IntakeDeps) -> None:
    class FailingQueue(MemoryQueue):
        def send(self, message: object) -> None:  # type: ignore[override]
            raise ConnectionError("queue down")

    broken = IntakeDeps(deps.secrets, deps.store, FailingQueue(), deps.clock, 3600)
    with pytest.raises(ConnectionError):
        accept_alert(_raw(alert_body()), broken)

    retry = accept_alert(_raw(alert_body()), deps)

    assert isinstance(retry, Duplicate)
    assert len(deps.queue.sent) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("passphrase", [None, "", "wrong", PASSPHRASE + " "])
def test_accept_alert_when_passphrase_missing_or_wrong_then_401_and_nothing_stored(
    deps: IntakeDeps, passphrase: str | None
) -> None:
    result = accept_alert(_raw(alert_body(passphrase=passphrase)), deps)

    assert isinstance(result, Unauthorized)
    assert intake_response(result)[0] == 401
    assert deps.store.items == {}  # type: ignore[attr-defined]
    assert deps.queue.sent == []  # type: ignore[attr-defined]


def test_accept_alert_when_second_named_passphrase_then_accepted(deps: IntakeDeps) -> None:
    assert isinstance(accept_alert(_raw(alert_body(passphrase="second secret")), deps), Accepted)


def test_accept_alert_when_invalid_then_422_recorded_rejected_never_enqueued(deps: IntakeDeps) -> None:
    result = accept_alert(_raw(alert_body(stopLoss=None, entryPrice=-3)), deps)

    assert isinstance(result, Invalid)
    status, body = intake_response(result)
    assert status == 422
    assert {e["field"] for e in body["errors"]} == {"stopLoss", "entryPrice"}
    item = deps.store.get(result.signal_id)
    assert item is not None
    assert item.status is SignalStatus.REJECTED
    assert item.reject_reason == "INVALID_ALERT"
    assert PASSPHRASE not in item.model_dump_json()
    assert deps.queue.sent == []  # type: ignore[attr-defined]


def test_accept_alert_when_same_invalid_alert_twice_then_one_record(deps: IntakeDeps) -> None:
    a = accept_alert(_raw(alert_body(stopLoss=None)), deps)
    b = accept_alert(_raw(alert_body(stopLoss=None)), deps)

    assert isinstance(a, Invalid)
    assert isinstance(b, Invalid)
    assert a.signal_id == b.signal_id
    assert len(deps.store.items) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("raw", [b"BUY AAPL", b"\xff\xfe", b'{"passphrase": "x", "entryPrice": NaN}'])
def test_accept_alert_when_not_json_then_400_and_nothing_stored(deps: IntakeDeps, raw: bytes) -> None:
    result = accept_alert(raw, deps)

    assert isinstance(result, Malformed)
    assert intake_response(result)[0] == 400
    assert deps.store.items == {}  # type: ignore[attr-defined]


def test_accept_alert_when_body_over_16_kib_then_413(deps: IntakeDeps) -> None:
    result = accept_alert(_raw(alert_body(padding="x" * 16_500)), deps)

    assert isinstance(result, TooLarge)
    assert intake_response(result)[0] == 413

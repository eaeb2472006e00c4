"""accept_alert: authenticate, validate, deduplicate, record, enqueue."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr

from tradepipe.contracts.items import ErrorEntry, SignalItem, StatusEntry
from tradepipe.contracts.messages import SignalAccepted
from tradepipe.domain.model import RejectReason, Signal, SignalStatus
from tradepipe.domain.parsing import (
    BodyNotJson,
    FieldError,
    extract_passphrase,
    load_json_object,
    parse_alert,
)
from tradepipe.domain.signal_id import derive_rejection_id
from tradepipe.ports import Clock, SignalQueue, SignalStore, WebhookSecrets
from tradepipe.resources import WEBHOOK_MAX_BODY_BYTES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntakeDeps:
    secrets: WebhookSecrets
    store: SignalStore
    queue: SignalQueue
    clock: Clock
    dedupe_ttl_s: int


@dataclass(frozen=True)
class Accepted:
    signal_id: str


@dataclass(frozen=True)
class Duplicate:
    signal_id: str


@dataclass(frozen=True)
class Invalid:
    signal_id: str
    errors: list[FieldError]


@dataclass(frozen=True)
class Unauthorized:
    pass


@dataclass(frozen=True)
class Malformed:
    detail: str


@dataclass(frozen=True)
class TooLarge:
    size: int


IntakeResult = Accepted | Duplicate | Invalid | Unauthorized | Malformed | TooLarge


def passphrase_matches(candidate: str | None, known: Mapping[str, SecretStr]) -> str | None:
    """Name of the matching passphrase, compared in constant time against every known one."""
    if not candidate:
        return None
    given = candidate.encode()
    matched: str | None = None
    for name, secret in known.items():
        # No early exit: the time taken does not tell which (or whether a) name matched.
        if hmac.compare_digest(given, secret.get_secret_value().encode()):
            matched = name
    return matched


def accept_alert(raw_body: bytes, deps: IntakeDeps) -> IntakeResult:
    if len(raw_body) > WEBHOOK_MAX_BODY_BYTES:
        return TooLarge(size=len(raw_body))
    try:
        body = load_json_object(raw_body.decode("utf-8"))
    except UnicodeDecodeError:
        return Malformed(detail="body is not UTF-8 text")
    except BodyNotJson as exc:
        return Malformed(detail=str(exc))
    if passphrase_matches(extract_passphrase(body), deps.secrets.passphrases()) is None:
        return Unauthorized()
    now = deps.clock.now()
    parsed = parse_alert(body)
    if isinstance(parsed, list):
        return _record_invalid(body, parsed, now, deps)
    return _record_and_enqueue(parsed, now, deps)


def _record_invalid(
    body: dict[str, Any], errors: list[FieldError], now: datetime, deps: IntakeDeps
) -> Invalid:
    # The id hashes the body without its passphrase, so the same bad alert is one record however often
    # it is sent; the body itself is never stored (it may hold secrets), only the field errors.
    safe = {k: v for k, v in body.items() if k not in ("passphrase", "secret")}
    signal_id = derive_rejection_id(json.dumps(safe, sort_keys=True, default=str).encode())
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    item = SignalItem(
        signal_id=signal_id,
        status=SignalStatus.REJECTED,
        received_at=now,
        updated_at=now,
        expires_at=_expiry(now, deps.dedupe_ttl_s),
        history=[
            StatusEntry(status=SignalStatus.RECEIVED, at=now),
            StatusEntry(
                status=SignalStatus.REJECTED, at=now, reason=RejectReason.INVALID_ALERT, detail=detail
            ),
        ],
        ticker=body["ticker"].upper()[:12] if isinstance(body.get("ticker"), str) else None,
        strategy=body["strategy"][:64] if isinstance(body.get("strategy"), str) else None,
        reject_reason=RejectReason.INVALID_ALERT,
        reject_detail=detail[:1000],
        errors=[ErrorEntry(field=e.field, message=e.message) for e in errors],
    )
    deps.store.record_new(item)
    return Invalid(signal_id=signal_id, errors=errors)


def _record_and_enqueue(signal: Signal, now: datetime, deps: IntakeDeps) -> Accepted | Duplicate:
    item = SignalItem(
        signal_id=signal.signal_id,
        status=SignalStatus.RECEIVED,
        received_at=now,
        updated_at=now,
        expires_at=_expiry(now, deps.dedupe_ttl_s),
        history=[StatusEntry(status=SignalStatus.RECEIVED, at=now)],
        mode=signal.mode,
        ticker=signal.ticker,
        side=signal.side,
        strategy=signal.strategy,
        timeframe=signal.timeframe,
        risk_amount=signal.risk_amount,
        entry_price=signal.entry_price,
        stop_loss=signal.stop_loss,
        take_profit=signal.take_profit,
        alert_time=signal.alert_time,
    )
    if not deps.store.record_new(item):
        existing = deps.store.get(signal.signal_id)
        if existing is not None and existing.status is SignalStatus.RECEIVED:
            # Recorded but maybe never enqueued (a crash between the two writes): enqueue again. The FIFO
            # dedup id and the risk stage's status guard make a second delivery harmless.
            deps.queue.send(SignalAccepted(signal=signal, received_at=existing.received_at))
        return Duplicate(signal_id=signal.signal_id)
    deps.queue.send(SignalAccepted(signal=signal, received_at=now))
    deps.store.advance(
        signal.signal_id,
        StatusEntry(status=SignalStatus.ENQUEUED, at=deps.clock.now()),
        allowed_from=frozenset({SignalStatus.RECEIVED}),
    )
    log.info("signal accepted", extra={"signal_id": signal.signal_id, "ticker": signal.ticker})
    return Accepted(signal_id=signal.signal_id)


def _expiry(now: datetime, ttl_s: int) -> int:
    return int((now + timedelta(seconds=ttl_s)).timestamp())


def intake_response(result: IntakeResult) -> tuple[int, dict[str, Any]]:
    """The one mapping from intake outcome to HTTP status and body."""
    match result:
        case Accepted(signal_id):
            return 202, {"signal_id": signal_id, "status": "accepted"}
        case Duplicate(signal_id):
            return 200, {"signal_id": signal_id, "status": "duplicate"}
        case Invalid(signal_id, errors):
            return 422, {
                "signal_id": signal_id,
                "status": "rejected",
                "reason": RejectReason.INVALID_ALERT.value,
                "errors": [{"field": e.field, "message": e.message} for e in errors],
            }
        case Unauthorized():
            return 401, {"status": "unauthorized", "message": "missing or wrong passphrase"}
        case Malformed(detail):
            return 400, {"status": "malformed", "message": detail}
        case TooLarge(size):
            return 413, {
                "status": "too_large",
                "message": f"body is {size} bytes; the limit is {WEBHOOK_MAX_BODY_BYTES}",
            }
    raise AssertionError(f"unmapped intake result {result!r}")  # pragma: no cover

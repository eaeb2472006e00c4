"""accept_alert: authenticate, validate, deduplicate, record, enqueue; one alert or a batch of them.

A batch (`{"passphrase": ..., "alerts": [{...}, ...]}`, or key=value blocks separated by blank lines) is
authenticated once; then each element goes the way a single alert goes (its own id, deduplication,
staleness, record and queue message), so one bad element refuses only itself."""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import SecretStr

from tradepipe.contracts.items import ErrorEntry, SignalItem, StatusEntry, StatusUpdate
from tradepipe.contracts.messages import SignalAccepted
from tradepipe.domain.alerts.checks import check_alert
from tradepipe.domain.alerts.decode import repeated_keys
from tradepipe.domain.alerts.normalize import field_as_sent
from tradepipe.domain.alerts.secrets import without_secrets
from tradepipe.domain.model import RejectReason, Signal, SignalStatus
from tradepipe.domain.parsing import (
    BodyNotUnderstood,
    FieldError,
    SecretGivenTwice,
    decode_body,
    parse_alert,
    split_secret,
)
from tradepipe.domain.signal_id import derive_rejection_id
from tradepipe.domain.staleness import check_freshness
from tradepipe.ports.admission import SignalAdmission
from tradepipe.ports.clock import Clock
from tradepipe.ports.messaging import EventPublisher, SignalQueue
from tradepipe.ports.secrets import WebhookSecrets
from tradepipe.ports.stores import SignalStore
from tradepipe.resources import WEBHOOK_MAX_BATCH_ALERTS, WEBHOOK_MAX_BODY_BYTES

log = logging.getLogger(__name__)
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class IntakeDeps:
    secrets: WebhookSecrets
    store: SignalStore
    queue: SignalQueue
    clock: Clock
    dedupe_ttl_s: int
    max_lag_s: int = 60
    max_lead_s: int = 30
    # Empty: any source. On AWS the API's resource policy enforces the same list before the function runs.
    allowed_networks: Sequence[IpNetwork] = field(default_factory=tuple)
    # Where duplicates are announced (rejections are, by the store: app/notices.py); None: not announced.
    events: EventPublisher | None = None
    # How an accepted alert is recorded and enqueued; None: `RecordThenEnqueue` over `store` and `queue`.
    admission: SignalAdmission | None = None


class RecordThenEnqueue:
    """Admission in three steps, for a store and a queue that are separate services (DynamoDB, SQS): the
    record first, then the message, then ENQUEUED. A crash between them leaves the record RECEIVED, and a
    repeat of the alert enqueues it again (`_record_and_enqueue`)."""

    def __init__(self, store: SignalStore, queue: SignalQueue) -> None:
        self._store, self._queue = store, queue

    def admit(self, item: SignalItem, message: SignalAccepted, clock: Clock) -> bool:
        if not self._store.record_new(item):
            return False
        self._queue.send(message)
        self._store.advance(item.signal_id, StatusUpdate.to(SignalStatus.ENQUEUED, clock.now()))
        return True


@dataclass(frozen=True)
class AlertRequest:
    raw_body: bytes
    source_ip: str | None = None
    path_token: str | None = None  # the secret when the URL is /webhook/{token}


@dataclass(frozen=True)
class Accepted:
    metric: ClassVar[str] = "AlertsAccepted"
    signal_id: str


@dataclass(frozen=True)
class Duplicate:
    metric: ClassVar[str] = "AlertsDuplicate"
    signal_id: str


@dataclass(frozen=True)
class Invalid:
    metric: ClassVar[str] = "AlertsRejected"
    signal_id: str
    errors: list[FieldError]
    reason: RejectReason = RejectReason.INVALID_ALERT


@dataclass(frozen=True)
class Unauthorized:
    metric: ClassVar[str] = "AlertsUnauthorized"


@dataclass(frozen=True)
class Forbidden:
    metric: ClassVar[str] = "AlertsForbidden"
    source_ip: str | None


@dataclass(frozen=True)
class Malformed:
    metric: ClassVar[str] = "AlertsMalformed"
    detail: str


@dataclass(frozen=True)
class TooLarge:
    """A body over the byte limit (`alerts` None), or a batch of more than WEBHOOK_MAX_BATCH_ALERTS."""

    metric: ClassVar[str] = "AlertsTooLarge"
    size: int
    alerts: int | None = None


ElementResult = Accepted | Duplicate | Invalid


@dataclass(frozen=True)
class Batch:
    """Each element's outcome, in the batch's order; each counts in its own metric as a lone alert would."""

    metric: ClassVar[str] = "AlertBatches"
    results: tuple[ElementResult, ...]


IntakeResult = Accepted | Duplicate | Invalid | Unauthorized | Forbidden | Malformed | TooLarge | Batch
_Write = Callable[[], ElementResult]


@dataclass(frozen=True)
class Recording:
    """An alert (or a batch) decided as far as it alone decides (authenticated, parsed, checked, its record
    and message built), and the writes left to do: deduplicate, record, enqueue. Deciding touches no store,
    so the single-machine intake decides outside its write transaction and holds the database's writer lock
    for the writes only (local/runtime/intake.py)."""

    writes: tuple[_Write, ...]
    batch: bool = False

    def record(self) -> IntakeResult:
        if self.batch:
            return Batch(tuple(write() for write in self.writes))
        return self.writes[0]()


def metric_counts(result: IntakeResult) -> Counter[str]:
    """What one request adds to each metric: a batch counts itself and each of its elements."""
    counts = Counter([result.metric])
    if isinstance(result, Batch):
        counts.update(element.metric for element in result.results)
    return counts


def accepted_any(result: IntakeResult) -> bool:
    """Whether the request put anything on the queue (the single-machine runtime then wakes its workers)."""
    if isinstance(result, Batch):
        return any(isinstance(element, Accepted) for element in result.results)
    return isinstance(result, Accepted)


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


def source_allowed(source_ip: str | None, networks: Sequence[IpNetwork]) -> bool:
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(source_ip or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


def _time_field(body: dict[str, Any]) -> str:
    """The alert's time field as the sender named it (our template says timestamp, TradersPost time)."""
    return "timestamp" if "timestamp" in body else "time"


def accept_alert(request: AlertRequest, deps: IntakeDeps) -> IntakeResult:
    """Each outcome names the metric it counts in (`metric`); a refused sender is logged (never the body)."""
    decided = decide_alert(request, deps)
    return decided.record() if isinstance(decided, Recording) else decided


def decide_alert(request: AlertRequest, deps: IntakeDeps) -> IntakeResult | Recording:
    """`accept_alert` before its writes: an outcome that needs none (refused, malformed, too large), or the
    `Recording` whose `record()` makes them."""
    result = _accept(request, deps)
    if isinstance(result, Unauthorized | Forbidden):
        log.warning("alert refused", extra={"source_ip": request.source_ip, "outcome": type(result).__name__})
    return result


def _accept(request: AlertRequest, deps: IntakeDeps) -> IntakeResult | Recording:
    if len(request.raw_body) > WEBHOOK_MAX_BODY_BYTES:
        return TooLarge(size=len(request.raw_body))
    if not source_allowed(request.source_ip, deps.allowed_networks):
        return Forbidden(source_ip=request.source_ip)
    try:
        decoded, encoding = decode_body(request.raw_body)
        secret, body = split_secret(decoded)
    except (BodyNotUnderstood, SecretGivenTwice) as exc:
        return _malformed(request, deps, str(exc))
    alerts = body.get("alerts")
    # A key given twice is refused before anything is trusted: outside a batch's elements (the passphrase,
    # the single alert's fields), the whole body; inside one element, that element only (below).
    twice = repeated_keys(
        {k: v for k, v in decoded.items() if k != "alerts"} if isinstance(alerts, list) else decoded
    )
    if twice:
        return _malformed(
            request, deps, f"a key is given more than once ({', '.join(twice)}): send each once"
        )
    if isinstance(alerts, list) and len(alerts) > WEBHOOK_MAX_BATCH_ALERTS:
        return TooLarge(size=len(request.raw_body), alerts=len(alerts))
    credential = passphrase_matches(request.path_token or secret, deps.secrets.passphrases())
    if credential is None:
        return Unauthorized()
    now = deps.clock.now()
    if "alerts" in body:
        return _accept_batch(body, now, deps, encoding, credential)
    return Recording((_accept_one(body, now, deps, encoding, credential),))


def _malformed(request: AlertRequest, deps: IntakeDeps, detail: str) -> Unauthorized | Malformed:
    if request.path_token and passphrase_matches(request.path_token, deps.secrets.passphrases()) is None:
        return Unauthorized()
    return Malformed(detail=detail)


def _accept_batch(
    body: dict[str, Any], now: datetime, deps: IntakeDeps, encoding: str, credential: str
) -> Recording:
    alerts, rest = body["alerts"], [key for key in body if key != "alerts"]
    if not isinstance(alerts, list) or not alerts or rest:
        problem = (
            f"a batch holds only the passphrase and its alerts, not {', '.join(rest)}"
            if rest
            else "alerts must be a non-empty list of alerts"
        )
        problems = [FieldError(rest[0] if rest else "alerts", problem)]
        return Recording((_record_invalid(body, problems, now, deps, encoding, credential),))
    return Recording(
        tuple(_accept_element(element, now, deps, encoding, credential) for element in alerts), batch=True
    )


def _accept_element(element: Any, now: datetime, deps: IntakeDeps, encoding: str, credential: str) -> _Write:
    if not isinstance(element, dict):
        problem = FieldError("alerts", "each element of a batch is an alert object")
        return _record_invalid({"alerts": element}, [problem], now, deps, encoding, credential)
    # An element's own passphrase is never what authenticates (the batch's is) and is never stored.
    alert = without_secrets(element)
    twice = repeated_keys(element)
    if twice:
        problems = [FieldError(key, "given more than once: send it once") for key in twice]
        return _record_invalid(alert, problems, now, deps, encoding, credential)
    return _accept_one(alert, now, deps, encoding, credential)


def _accept_one(
    body: dict[str, Any], now: datetime, deps: IntakeDeps, encoding: str, credential: str
) -> _Write:
    parsed = parse_alert(body, received_at=now)
    if isinstance(parsed, list):
        return _record_invalid(body, parsed, now, deps, encoding, credential)
    refused = check_alert(parsed)
    if refused is not None:
        field = FieldError(field_as_sent(body, refused.field), refused.detail)
        return _record_refused(parsed, now, deps, encoding, credential, refused.reason, field)
    return _record_and_enqueue(parsed, now, deps, encoding, credential, _time_field(body))


def _base_item(signal_id: str, now: datetime, ttl_s: int, **fields: Any) -> SignalItem:
    return SignalItem(
        signal_id=signal_id,
        received_at=now,
        updated_at=now,
        expires_at=int((now + timedelta(seconds=ttl_s)).timestamp()),
        **fields,
    )


def _rejected_history(now: datetime, reason: RejectReason, detail: str) -> list[StatusEntry]:
    return [
        StatusEntry(status=SignalStatus.RECEIVED, at=now),
        StatusEntry(status=SignalStatus.REJECTED, at=now, reason=reason, detail=detail),
    ]


def _as_ticker(value: Any) -> str | None:
    """The ticker of a rejected alert for its record, upper-cased only when ASCII (`ıbm` is not IBM)."""
    if not isinstance(value, str):
        return None
    return (value.upper() if value.isascii() else value)[:12]


def _record_invalid(
    body: dict[str, Any],
    errors: list[FieldError],
    now: datetime,
    deps: IntakeDeps,
    encoding: str,
    credential: str,
) -> _Write:
    # The id hashes the body without its secret, so the same bad alert is one record however often it is
    # sent; the body itself is never stored (it may hold secrets), only the field errors.
    signal_id = derive_rejection_id(json.dumps(body, sort_keys=True, default=str).encode())
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    item = _base_item(
        signal_id,
        now,
        deps.dedupe_ttl_s,
        status=SignalStatus.REJECTED,
        history=_rejected_history(now, RejectReason.INVALID_ALERT, detail[:1000]),
        source=encoding,
        credential=credential,
        ticker=_as_ticker(body.get("ticker")),
        strategy=body["strategy"][:64] if isinstance(body.get("strategy"), str) else None,
        reject_reason=RejectReason.INVALID_ALERT,
        reject_detail=detail[:1000],
        errors=[ErrorEntry(field=e.field, message=e.message) for e in errors],
    )

    def write() -> Invalid:
        deps.store.record_new(item)
        return Invalid(signal_id=signal_id, errors=errors)

    return write


def _signal_fields(signal: Signal) -> dict[str, Any]:
    return signal.model_dump(exclude={"signal_id"})


def _record_refused(
    signal: Signal,
    now: datetime,
    deps: IntakeDeps,
    encoding: str,
    credential: str,
    reason: RejectReason,
    problem: FieldError,
) -> _Write:
    """A valid alert refused by what it alone decides (stale, a stop on the wrong side...): recorded under
    the signal's own id, so a repeat is a duplicate, and a repeat of an accepted alert (however late)
    never reaches here."""
    item = _base_item(
        signal.signal_id,
        now,
        deps.dedupe_ttl_s,
        status=SignalStatus.REJECTED,
        history=_rejected_history(now, reason, problem.message),
        source=encoding,
        credential=credential,
        reject_reason=reason,
        reject_detail=problem.message,
        errors=[ErrorEntry(field=problem.field, message=problem.message)],
        **_signal_fields(signal),
    )

    def write() -> Duplicate | Invalid:
        if not deps.store.record_new(item):
            return _duplicate(signal, now, deps)
        return Invalid(signal.signal_id, [problem], reason=reason)

    return write


def _record_and_enqueue(
    signal: Signal, now: datetime, deps: IntakeDeps, encoding: str, credential: str, time_field: str
) -> _Write:
    stale = check_freshness(signal.alert_time, now, deps.max_lag_s, deps.max_lead_s)
    if stale is not None:
        field = FieldError(time_field, stale.detail)
        return _record_refused(signal, now, deps, encoding, credential, stale.reason, field)
    item = _base_item(
        signal.signal_id,
        now,
        deps.dedupe_ttl_s,
        status=SignalStatus.RECEIVED,
        history=[StatusEntry(status=SignalStatus.RECEIVED, at=now)],
        source=encoding,
        credential=credential,
        **_signal_fields(signal),
    )
    message = SignalAccepted(signal=signal, received_at=now)

    def write() -> Accepted | Duplicate:
        admission = deps.admission or RecordThenEnqueue(deps.store, deps.queue)
        if not admission.admit(item, message, deps.clock):
            existing = deps.store.get(signal.signal_id)
            if existing is not None and existing.status is SignalStatus.RECEIVED:
                # Recorded but maybe never enqueued (a crash between the two writes): enqueue again. The
                # FIFO dedup id and the risk stage's status guard make a second delivery harmless.
                deps.queue.send(SignalAccepted(signal=signal, received_at=existing.received_at))
            return _duplicate(signal, now, deps)
        log.info("signal accepted", extra={"signal_id": signal.signal_id, "ticker": signal.ticker})
        return Accepted(signal_id=signal.signal_id)

    return write


def _duplicate(signal: Signal, now: datetime, deps: IntakeDeps) -> Duplicate:
    if deps.events is not None:
        from tradepipe.app.notices import announce
        from tradepipe.contracts.events import SignalDuplicate  # built on the first duplicate only

        notice = SignalDuplicate(
            at=now,
            mode=signal.mode,
            signal_id=signal.signal_id,
            ticker=signal.ticker,
            strategy=signal.strategy,
        )
        announce(deps.events, notice)
    return Duplicate(signal_id=signal.signal_id)

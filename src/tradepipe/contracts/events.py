"""Domain events on the bus (EventBridge `detail-type` -> `detail`): one set of contracts for every publisher
and for the notifier.

Frozen, `extra="forbid"` and versioned like the queue messages: a new required field means a new
`schema_version`. The three events published before these contracts existed (`TradingStateChanged`,
`RiskCapApplied`, `PositionDivergence`) keep their detail-type and fields; what they lacked is optional
(`by`, `at` for a divergence), so a detail published by an older deploy still parses. Their account field
is named `account` (it holds the mode: paper and live are separate Alpaca accounts); `mode` reads it.

An event is at-least-once and may arrive out of order: `event_key` names the occurrence, so a consumer can
drop a repeat (the notifier keys its per-channel deduplication on it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from tradepipe.domain.model import Mode, RejectReason, Side
from tradepipe.domain.risk.context import TradingState

_TEXT_MAX = 2000


def _bounded(value: Any) -> Any:
    # Details are codes and numbers, never a body: bound them, but clip rather than refuse, so a long
    # detail never costs the trader the notice.
    if isinstance(value, str) and len(value) > _TEXT_MAX:
        return value[: _TEXT_MAX - 1] + "…"
    return value


Text = Annotated[str, BeforeValidator(_bounded)]


class ExitReason(StrEnum):
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    SIGNAL = "signal"  # an exit alert, or the close half of a reverse
    OTHER = "other"  # closed by hand at the broker, liquidated


@dataclass(frozen=True)
class Subject:
    """What an event is about, whichever fields its contract names them with."""

    mode: Mode | None
    ticker: str | None
    strategy: str | None
    signal_id: str | None


class DomainEvent(BaseModel):
    """Base of every event. `detail_type` is the EventBridge detail-type; `identity` lists the fields that
    name one occurrence (None: all of them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    detail_type: ClassVar[str]
    identity: ClassVar[tuple[str, ...] | None] = None

    schema_version: Literal[1] = 1
    at: AwareDatetime

    def subject(self) -> Subject:
        # The three older events name the mode `account`; the rest `mode`.
        mode = getattr(self, "mode", None) or getattr(self, "account", None)
        return Subject(
            mode=mode,
            ticker=getattr(self, "ticker", None),
            strategy=getattr(self, "strategy", None),
            signal_id=getattr(self, "signal_id", None),
        )

    def as_detail(self) -> dict[str, Any]:
        """The EventBridge detail: decimals as strings, times in ISO 8601 (as `adapters.events` writes)."""
        return self.model_dump(mode="json", exclude_none=True)

    def event_key(self) -> str:
        return self._key

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("_key", None)  # a copy with other values must not inherit the cached key
        return copied

    @cached_property
    def _key(self) -> str:
        # Computed once per (frozen) event: every channel and the outbox ask for it.
        detail = self.model_dump(mode="json", exclude={"schema_version"})
        if self.identity is not None:
            detail = {k: detail.get(k) for k in self.identity}
        canonical = json.dumps(detail, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(f"{self.detail_type}\n{canonical}".encode()).hexdigest()[:32]


class EntryFilled(DomainEvent):
    """executor (reconciler): an entry order filled; the position is open."""

    detail_type: ClassVar[str] = "EntryFilled"

    mode: Mode
    signal_id: str
    ticker: str
    strategy: str
    side: Side
    qty: Decimal
    price: Decimal  # average fill price
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    client_order_id: str
    # A collared entry's risk at the fill against its budget (issue 19); over_budget: beyond the tolerance.
    risk_budget: Decimal | None = None
    realized_risk: Decimal | None = None
    over_budget: bool = False


class ExitFilled(DomainEvent):
    """executor (reconciler): a position closed. `r_multiple` = pnl / the risk taken at entry (qty x
    |entry - initial stop|); None when the entry had no stop."""

    detail_type: ClassVar[str] = "ExitFilled"

    mode: Mode
    signal_id: str  # the entry's signal (a stop or target leg), or the exit alert's
    ticker: str
    strategy: str
    position: Literal["long", "short"]
    qty: Decimal
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal
    r_multiple: Decimal | None = None
    exit_reason: ExitReason
    client_order_id: str


class SignalRejected(DomainEvent):
    """Any stage: a signal stopped with a reason code (intake, risk, or Alpaca's own rejection)."""

    detail_type: ClassVar[str] = "SignalRejected"

    # None: an invalid alert whose mode could not be read (shown without a paper/live tag, never guessed).
    mode: Mode | None = None
    signal_id: str
    ticker: str | None = None  # an invalid alert may not name one
    strategy: str | None = None
    reason: RejectReason
    detail: Text = ""


class SignalDuplicate(DomainEvent):
    """webhook: an alert already accepted arrived again (answered 200, nothing traded)."""

    detail_type: ClassVar[str] = "SignalDuplicate"

    mode: Mode
    signal_id: str
    ticker: str
    strategy: str


class PositionUnprotected(DomainEvent):
    """executor (reconciler): a position held without stop orders covering all of it."""

    detail_type: ClassVar[str] = "PositionUnprotected"
    # One notice per stretch without cover (and per change in what is covered), not one per reconcile run.
    identity: ClassVar[tuple[str, ...] | None] = ("mode", "ticker", "qty", "covered_qty", "since")

    mode: Mode
    ticker: str
    strategy: str | None = None
    qty: Decimal  # held (negative when short)
    covered_qty: Decimal  # by working stop orders
    since: AwareDatetime  # when the reconciler first found it uncovered; kept until it is re-armed
    detail: Text = ""


class PositionRearmed(DomainEvent):
    """executor (reconciler): stop coverage restored for a position that lacked it."""

    detail_type: ClassVar[str] = "PositionRearmed"

    mode: Mode
    ticker: str
    strategy: str | None = None
    qty: Decimal
    stop_price: Decimal | None = None


class MessageDeadLettered(DomainEvent):
    """A DLQ received messages (published through its alarm): something is broken, orders may be stuck."""

    detail_type: ClassVar[str] = "MessageDeadLettered"

    queue: str
    # None: at least one, count unknown (an alarm's state change carries no count; the local runtime knows).
    count: int | None = Field(default=None, ge=1)


class PipelineSilent(DomainEvent):
    """No alert received for `threshold_minutes` market minutes (`domain.silence.check_silence`)."""

    detail_type: ClassVar[str] = "PipelineSilent"
    # One notice per silent stretch: the same last alert and threshold are the same stretch.
    identity: ClassVar[tuple[str, ...] | None] = ("last_alert_at", "threshold_minutes")

    # None: no alert in view (optional, because a detail leaves None fields out: `as_detail`).
    last_alert_at: AwareDatetime | None = None
    threshold_minutes: int = Field(ge=1)
    silent_minutes: int = Field(ge=0)


class AlarmStateChanged(DomainEvent):
    """The single-machine runtime's alarms (local/runtime/alarms.py), on alarm and on recovery: on one machine
    there is no SNS topic for on-call, so the trader's channels are where an alarm is heard. On AWS the
    CloudWatch alarms page through their SNS topic instead (and a DLQ alarm becomes `MessageDeadLettered`)."""

    detail_type: ClassVar[str] = "AlarmStateChanged"

    alarm: str
    state: Literal["ALARM", "OK"]
    detail: Text = ""


class TradingStateChanged(DomainEvent):
    """risk (an automatic rule) or the API/CLI (by hand): the account's trading state switched."""

    detail_type: ClassVar[str] = "TradingStateChanged"

    account: Mode
    state: TradingState
    rule: str  # daily_loss_limit | max_drawdown | losing_streak | manual
    detail: Text
    signal_id: str | None = None  # the signal whose assessment tripped the rule
    by: str | None = None  # who switched it by hand (`manual` also starts `detail` with it)


class RiskCapApplied(DomainEvent):
    """risk: a cap shrank an order (the cap names itself and its numbers)."""

    detail_type: ClassVar[str] = "RiskCapApplied"

    account: Mode
    signal_id: str
    ticker: str
    strategy: str
    cap: Text
    # The structured cap (domain.model.CapApplied); optional, so events published before it still parse.
    qty_before: Decimal | None = None
    qty_after: Decimal | None = None
    limit: Text | None = None


class PositionDivergence(DomainEvent):
    """executor (reconciler): the strategy's reported position differs from the broker's."""

    detail_type: ClassVar[str] = "PositionDivergence"
    # The reconciler repeats a divergence every run while it lasts: one notice per (reported, held) pair.
    identity: ClassVar[tuple[str, ...] | None] = ("account", "ticker", "reported", "broker", "reported_at")

    account: Mode
    ticker: str
    reported: Decimal
    broker: Decimal
    reported_at: AwareDatetime

    @model_validator(mode="before")
    @classmethod
    def _at_defaults_to_report_time(cls, data: Any) -> Any:
        # Published without `at` before these contracts: the report time is the best time we have.
        if isinstance(data, Mapping) and "at" not in data and "reported_at" in data:
            return {**data, "at": data["reported_at"]}
        return data


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.detail_type: cls
    for cls in (
        EntryFilled,
        ExitFilled,
        SignalRejected,
        SignalDuplicate,
        TradingStateChanged,
        RiskCapApplied,
        PositionUnprotected,
        PositionRearmed,
        MessageDeadLettered,
        PositionDivergence,
        PipelineSilent,
        AlarmStateChanged,
    )
}


class UnknownEventType(ValueError):
    def __init__(self, detail_type: str) -> None:
        super().__init__(f"unknown event detail-type {detail_type[:80]!r}")
        self.detail_type = detail_type


def parse_event(detail_type: str, detail: Mapping[str, Any] | str | bytes) -> DomainEvent:
    """The event for an EventBridge detail-type and detail. Raises UnknownEventType or ValidationError."""
    model = EVENT_TYPES.get(detail_type)
    if model is None:
        raise UnknownEventType(detail_type)
    if isinstance(detail, str | bytes):
        return model.model_validate_json(detail)
    return model.model_validate(detail)


def parse_bus_event(envelope: Mapping[str, Any]) -> DomainEvent:
    """The event inside an EventBridge envelope (what a rule delivers to SQS: `detail-type`, `detail`)."""
    return parse_event(str(envelope["detail-type"]), envelope["detail"])

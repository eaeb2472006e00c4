"""DynamoDB items: what the tables hold. Mapped explicitly from domain values, never stored as requests."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from tradepipe.domain.model import Action, CapApplied, Mode, OrderType, Side, SignalStatus, SizingMode

# `defer_build`: built on first use, not at import. The webhook imports this module for SignalItem and never
# touches the order, fill and risk-state items, whose validators would only lengthen its cold start.


class StatusEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: SignalStatus
    at: datetime
    reason: str | None = None
    detail: str | None = None


class SignalFields(BaseModel):
    """What a status move may fill in on the signal item besides its status and trail; None leaves a field
    as it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    qty: Decimal | None = None
    risk_caps: list[CapApplied] | None = None
    client_order_id: str | None = None
    close_client_order_id: str | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    broker_order_id: str | None = None
    filled_qty: Decimal | None = None
    filled_avg_price: Decimal | None = None
    reject_reason: str | None = None
    reject_detail: str | None = None
    intent: str | None = None

    def changes(self) -> dict[str, Any]:
        """The fields to set, values as they are (nested models stay models)."""
        return {name: value for name, value in self if value is not None}


class StatusUpdate(BaseModel):
    """One move of a signal: the trail entry (its status is the target) and the fields it fills in. Where
    it may move from is not the caller's choice: the store asks `domain.lifecycle.allowed_from`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entry: StatusEntry
    fields: SignalFields = SignalFields()

    @classmethod
    def to(cls, status: SignalStatus, at: datetime, detail: str | None = None, **fields: Any) -> StatusUpdate:
        return cls(entry=StatusEntry(status=status, at=at, detail=detail), fields=SignalFields(**fields))

    @classmethod
    def rejected(cls, at: datetime, reason: str, detail: str, **fields: Any) -> StatusUpdate:
        """REJECTED with its reason on the trail entry and on the item (what the read API filters on)."""
        detail = detail[:1000]
        return cls(
            entry=StatusEntry(status=SignalStatus.REJECTED, at=at, reason=reason, detail=detail),
            fields=SignalFields(reject_reason=reason, reject_detail=detail, **fields),
        )


class ErrorEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    field: str
    message: str


def _without_legacy_notes(value: object) -> object:
    """Items written before caps were structured hold them as text notes: dropped, not parsed. Their
    risk-events documents were indexed when the caps first appeared, the notes stay readable in the SIZED
    trail entry, and the items expire with the dedupe TTL (7 days)."""
    if isinstance(value, list):
        kept = [v for v in value if not isinstance(v, str)]
        return kept or None
    return value


class SignalItem(BaseModel):
    """signals table, key `signal_id`. The `history` list is the signal's status trail."""

    signal_id: str
    status: SignalStatus
    received_at: datetime
    updated_at: datetime
    expires_at: int  # epoch seconds: DynamoDB TTL; the record is the dedupe key until then
    history: list[StatusEntry] = Field(default_factory=list)
    source: str | None = None  # the body's encoding: json, json-lenient or key-value
    credential: str | None = None  # the *name* of the passphrase that matched, never the passphrase
    # Present once the alert was valid:
    action: Action | None = None
    mode: Mode | None = None
    ticker: str | None = None
    side: Side | None = None
    strategy: str | None = None
    timeframe: str | None = None
    sizing_mode: SizingMode | None = None
    sizing_value: Decimal | None = None
    order_type: OrderType | None = None
    limit_price: Decimal | None = None
    entry_price: Decimal | None = None
    stop_loss: Decimal | None = None
    stop_loss_percent: Decimal | None = None
    stop_limit_price: Decimal | None = None  # the stop leg's limit: a stop-limit leg
    take_profit: Decimal | None = None
    take_profit_percent: Decimal | None = None
    strategy_position: Decimal | None = None
    strategy_order_id: str | None = None
    exchange: str | None = None
    alert_time: datetime | None = None
    dedupe_window: datetime | None = None  # an alert without a time: the window its id was taken in
    # Filled in along the way:
    qty: Decimal | None = None
    # Each cap that bit at sizing, or that left nothing (a CAPPED_TO_ZERO / MAX_OPEN_POSITIONS rejection).
    risk_caps: Annotated[list[CapApplied] | None, BeforeValidator(_without_legacy_notes)] = None
    # The order intent decided at SIZED (OrderIntent JSON): a redelivered signal message sends this again
    # instead of deciding again, so a crash between the record and the send loses nothing.
    intent: str | None = None
    client_order_id: str | None = None
    close_client_order_id: str | None = None
    broker_order_id: str | None = None
    filled_qty: Decimal | None = None
    filled_avg_price: Decimal | None = None
    reject_reason: str | None = None
    reject_detail: str | None = None
    errors: list[ErrorEntry] | None = None


class OrderLeg(BaseModel):
    """A bracket's (or OTO's) exit leg as first seen nested under its entry. Alpaca does not name the parent
    in every answer about a leg (a leg listed or fetched on its own carries no parent id), so the entry's item
    records its legs: a fill of the leg, or the leg still working, is then known to be the entry's."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    broker_order_id: str
    client_order_id: str
    order_type: str  # stop, stop_limit, limit, trailing_stop


class OrderItem(BaseModel):
    """orders table, key `client_order_id`. Written before the broker call, completed after it."""

    model_config = ConfigDict(defer_build=True)

    client_order_id: str
    intent_id: str
    signal_id: str
    mode: Mode
    strategy: str
    symbol: str
    side: Side
    qty: Decimal
    order_class: str  # bracket, oto, simple
    order_type: str = "market"
    limit_price: Decimal | None = None
    purpose: str = "open"  # open, exit (an exit signal's close), close (a reverse's first half), stop
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None  # an entry's leg; a close's: the stop in force when it was sent
    entry_price: Decimal | None = None  # a close's: the position's average entry when it was sent (P&L)
    status: str  # Alpaca's order status, or PENDING_SUBMIT / REJECTED before the broker knows it
    created_at: datetime
    updated_at: datetime
    broker_order_id: str | None = None
    submitted_at: datetime | None = None
    filled_at: datetime | None = None
    filled_qty: Decimal | None = None
    filled_avg_price: Decimal | None = None
    reject_code: str | None = None
    reject_reason: str | None = None
    legs: list[OrderLeg] = Field(default_factory=list)  # from the broker's answers (app/followed_orders.py)
    # A collared entry (issue 19): the risk budget its fill is checked against, the tolerance over it, and
    # the time past which the reconciler cancels it if it still rests (ENTRY_NOT_FILLED when nothing filled).
    risk_budget: Decimal | None = None
    risk_tolerance_pct: Decimal | None = None
    cancel_after: datetime | None = None


class OrderUpdate(BaseModel):
    """What the executor and the reconciler learn about an order after recording it; None leaves a field
    as it is."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    updated_at: datetime
    status: str | None = None
    qty: Decimal | None = None  # a collared entry re-sized against a later quote before it was placed
    broker_order_id: str | None = None
    submitted_at: datetime | None = None
    filled_qty: Decimal | None = None
    filled_avg_price: Decimal | None = None
    filled_at: datetime | None = None
    reject_code: str | None = None
    reject_reason: str | None = None
    legs: list[OrderLeg] | None = None  # as the broker's answer nested them (the reconciler follows them)

    def changes(self) -> dict[str, Any]:
        return {name: value for name, value in self if value is not None}


class FillItem(BaseModel):
    """fills table, key `pk` (`<mode>#<symbol>`) + `execution_id`: one broker execution, recorded once."""

    model_config = ConfigDict(defer_build=True)

    pk: str
    execution_id: str
    mode: Mode
    symbol: str
    side: str  # Alpaca's lower-case buy / sell
    qty: Decimal
    signed_qty: Decimal  # buys positive
    price: Decimal
    at: datetime
    broker_order_id: str
    client_order_id: str | None = None  # None: an execution of an order that is not ours
    signal_id: str | None = None


class StateSwitchEntry(BaseModel):
    """One trading-state switch in the risk-state table's `STATE#<account>` item history."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    from_state: str
    to_state: str
    rule: str
    detail: str
    at: datetime


class TradingStateItem(BaseModel):
    """risk-state table, pk `STATE#<account>`, sk `STATE` (adapters/risk_keys.py). Only what the indexer
    reads: the switches; the stream carries every change, the item keeps the last 50."""

    model_config = ConfigDict(defer_build=True)

    pk: str
    sk: str
    state: str = "ACTIVE"
    history: list[StateSwitchEntry] = Field(default_factory=list)

    @property
    def account(self) -> str:
        return self.pk.split("#", 1)[1]


class PositionSample(BaseModel):
    """One broker position at the moment of an equity snapshot (signed: shorts are negative)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    ticker: str
    qty: Decimal
    market_value: Decimal
    avg_entry_price: Decimal


class EquitySnapshotItem(BaseModel):
    """risk-state table, pk `EQUITY#<account>`, sk the sample time (UTC ISO, to the minute): the account's
    equity and positions as the reconciler sampled them from the broker. DynamoDB keeps them for the TTL;
    the stream carries each one to the equity-snapshots index, which keeps the history."""

    model_config = ConfigDict(defer_build=True)

    pk: str
    sk: str
    account: str  # = mode: paper and live are separate Alpaca accounts
    sampled_at: datetime
    equity: Decimal
    last_equity: Decimal  # equity at the previous session's close (Alpaca): the day's P&L baseline
    buying_power: Decimal
    positions: list[PositionSample] = Field(default_factory=list)
    expires_at: int  # epoch seconds: DynamoDB TTL


# risk-state table partitions the indexer reads (the full layout: adapters/risk_keys.py).
STATE_PK_PREFIX = "STATE#"
EQUITY_PK_PREFIX = "EQUITY#"
EQUITY_SK = "%Y-%m-%dT%H:%MZ"  # one sample per account and minute: an on-demand run overwrites, not adds

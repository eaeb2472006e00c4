"""DynamoDB items: what the tables hold. Mapped explicitly from domain values, never stored as requests."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from tradepipe.domain.model import Action, Mode, OrderType, Side, SignalStatus, SizingMode

# `defer_build`: built on first use, not at import. The webhook imports this module for SignalItem and never
# touches the order, fill and risk-state items, whose validators would only lengthen its cold start.


class StatusEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: SignalStatus
    at: datetime
    reason: str | None = None
    detail: str | None = None


class ErrorEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    field: str
    message: str


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
    take_profit: Decimal | None = None
    take_profit_percent: Decimal | None = None
    strategy_position: Decimal | None = None
    strategy_order_id: str | None = None
    exchange: str | None = None
    alert_time: datetime | None = None
    # Filled in along the way:
    qty: Decimal | None = None
    risk_caps: list[str] | None = None  # each cap that bit at sizing, with its numbers
    client_order_id: str | None = None
    close_client_order_id: str | None = None
    broker_order_id: str | None = None
    filled_qty: Decimal | None = None
    filled_avg_price: Decimal | None = None
    reject_reason: str | None = None
    reject_detail: str | None = None
    errors: list[ErrorEntry] | None = None


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
    purpose: str = "open"  # open or close
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
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

"""DynamoDB items: what the tables hold. Mapped explicitly from domain values, never stored as requests."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from tradepipe.domain.model import Action, Mode, OrderType, Side, SignalStatus, SizingMode


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

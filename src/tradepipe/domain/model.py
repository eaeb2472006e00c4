"""The domain's vocabulary: sides, modes, statuses, reasons and the normalized signal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class Mode(StrEnum):
    """Paper and live never mix: every record, event and document carries one of these."""

    PAPER = "paper"
    LIVE = "live"


class SignalStatus(StrEnum):
    RECEIVED = "RECEIVED"
    ENQUEUED = "ENQUEUED"
    SIZED = "SIZED"
    SUBMITTED = "SUBMITTED"
    FILLED = "FILLED"
    REJECTED = "REJECTED"


TERMINAL_STATUSES = frozenset({SignalStatus.FILLED, SignalStatus.REJECTED})


class RejectReason(StrEnum):
    """Why a signal stopped. Values read the same in DynamoDB, OpenSearch, logs and the demo summary."""

    INVALID_ALERT = "INVALID_ALERT"
    STOP_WRONG_SIDE = "STOP_WRONG_SIDE"
    TAKE_PROFIT_WRONG_SIDE = "TAKE_PROFIT_WRONG_SIDE"
    ZERO_STOP_DISTANCE = "ZERO_STOP_DISTANCE"
    SIZE_BELOW_ONE_SHARE = "SIZE_BELOW_ONE_SHARE"
    LIVE_TRADING_DISABLED = "LIVE_TRADING_DISABLED"
    BROKER_REJECTED = "BROKER_REJECTED"


class Signal(BaseModel):
    """A validated, normalized alert: the unit every stage after the webhook works on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    signal_id: str
    side: Side
    ticker: str
    mode: Mode
    risk_amount: Decimal
    entry_price: Decimal
    stop_loss: Decimal
    take_profit: Decimal | None
    alert_time: datetime
    strategy: str
    timeframe: str


@dataclass(frozen=True)
class Rejected:
    """A decision not to go on, with a reason code and the numbers behind it."""

    reason: RejectReason
    detail: str


@dataclass(frozen=True)
class Sized:
    qty: int
    risk_per_share: Decimal
    realized_risk: Decimal

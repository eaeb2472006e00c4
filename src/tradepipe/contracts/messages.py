"""Queue messages between stages. Frozen, strict and versioned: a producer and a consumer of different
deploys must agree, so a new field means a new schema_version."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tradepipe.domain.model import Mode, OrderType, Side, Signal


class SignalAccepted(BaseModel):
    """webhook -> risk (signals FIFO queue)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    signal: Signal
    received_at: datetime
    # True when sent again at the open after waiting in the closed-market queue (its own dedup id, so SQS
    # FIFO's 5-minute dedup window does not drop it).
    released: bool = False


class OrderIntent(BaseModel):
    """risk -> executor (order-intents FIFO queue): what the executor must do exactly once.

    kind=open: enter (a reverse when the broker holds the opposite side: close, wait for the fill, open);
    kind=close: close the ticker's position after cancelling its open orders (bracket legs hold the shares);
    kind=cancel: cancel the ticker's pending entries (its stops stay);
    kind=flatten: an operator's close of the whole position, every strategy's lots (app/flatten.py)."""

    # Built on first use (risk, executor): the webhook imports this module only for SignalAccepted.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    schema_version: Literal[1] = 1
    intent_id: str
    client_order_id: str  # the open order's, or the close order's for kind=close
    close_client_order_id: str  # used when a close is needed (kind=close, or a reverse)
    signal_id: str
    mode: Mode
    strategy: str
    symbol: str
    kind: Literal["open", "close", "cancel", "flatten"]
    side: Side | None = None
    qty: Decimal | None = None  # whole shares, or fractional for a fractionable asset without exit legs
    time_in_force: Literal["day", "gtc"] = "gtc"  # fractional orders must be day orders
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    reference_price: Decimal | None = None  # the entry the risk stage sized from: the base for leg checks
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    # A stop-limit leg's limit (TradersPost stopLoss type stop_limit): Alpaca's stop_loss.limit_price.
    stop_limit_price: Decimal | None = None
    strategy_position: Decimal | None = None
    sized_at: datetime
    # A collared entry (a marketable limit, issue 19): the alert's risk budget in dollars (what the executor
    # re-sizes against the quote for, and the fill is checked against; risk-sized entries only: a fixed
    # quantity is never shrunk), the tolerance over it, and how long the limit may rest before it is
    # cancelled (ENTRY_NOT_FILLED). entry_timeout_s None: not collared.
    risk_budget: Decimal | None = None
    risk_tolerance_pct: Decimal | None = None
    entry_timeout_s: int | None = None

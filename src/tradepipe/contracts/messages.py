"""Queue messages between stages. Frozen, strict and versioned: a producer and a consumer of different
deploys must agree, so a new field means a new schema_version."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tradepipe.domain.model import Mode, Side, Signal


class SignalAccepted(BaseModel):
    """webhook -> risk (signals FIFO queue)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    signal: Signal
    received_at: datetime


class OrderIntent(BaseModel):
    """risk -> executor (order-intents FIFO queue): one order the executor must place exactly once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    intent_id: str
    client_order_id: str
    signal_id: str
    mode: Mode
    strategy: str
    symbol: str
    side: Side
    qty: int
    order_class: Literal["bracket"] = "bracket"
    entry_type: Literal["market"] = "market"
    take_profit: Decimal | None
    stop_loss: Decimal
    sized_at: datetime

"""What the paper broker remembers: the account, every order ever accepted, positions and fills.

Plain mutable records, changed only by the engine while it holds its lock. Enum values are
Alpaca's wire strings, so rendering is a lookup, not a translation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal(0)
# Stable ids (uuid5) so the account and assets keep their ids across resets and restarts.
_NAMESPACE = uuid.UUID("6f1d8a52-3c4e-4d0b-9a57-0b6c3f0e7a11")


def stable_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class OrderClass(StrEnum):
    SIMPLE = "simple"
    BRACKET = "bracket"
    OCO = "oco"
    OTO = "oto"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    OPG = "opg"
    CLS = "cls"
    IOC = "ioc"
    FOK = "fok"


class Status(StrEnum):
    ACCEPTED = "accepted"  # a market order waiting for the session to open
    NEW = "new"
    HELD = "held"  # an exit leg waiting for its entry, or the stop of an OCO pair
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"


OPEN_STATUSES = frozenset({Status.ACCEPTED, Status.NEW, Status.HELD, Status.PARTIALLY_FILLED})


class GroupRole(StrEnum):
    """Which part of a bracket/OTO/OCO an order plays (Alpaca's `group_role`)."""

    ENTRY = "entry"
    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"


@dataclass
class Order:
    id: str
    client_order_id: str
    symbol: str
    asset_id: str
    side: Side
    type: OrderType
    order_class: OrderClass
    time_in_force: TimeInForce
    qty: Decimal
    submitted_at: datetime
    seq: int  # acceptance order: resting orders are matched oldest first
    status: Status = Status.NEW
    notional: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    extended_hours: bool = False
    position_intent: str | None = None
    updated_at: datetime | None = None
    filled_qty: Decimal = ZERO
    filled_avg_price: Decimal | None = None
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    expired_at: datetime | None = None
    failed_at: datetime | None = None
    # Complex orders: the entry knows its legs; a leg knows its entry and its one-cancels-other peers.
    parent_id: str | None = None
    leg_ids: list[str] = field(default_factory=list)
    oco_peer_ids: list[str] = field(default_factory=list)
    group_id: str | None = None
    group_role: GroupRole | None = None
    awaiting_parent: bool = False  # an exit leg is dormant until its entry fills
    stop_triggered: bool = False  # a stop_limit that has turned into a limit
    # Injected faults (see faults.py). Deadlines are monotonic seconds; a deferred order is left out of
    # matching until its deadline has been dealt with.
    fill_parts: list[Decimal] = field(default_factory=list)  # sizes still to fill, in order (partial_fill)
    part_delay_s: float = 0.0
    next_part_due: float | None = None
    reject_due: float | None = None  # async_reject: when the accepted order turns rejected

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining_qty(self) -> Decimal:
        return self.qty - self.filled_qty

    @property
    def is_active(self) -> bool:
        """Open and able to execute now (an exit leg only once its entry has filled)."""
        return self.is_open and not self.awaiting_parent

    @property
    def deferred(self) -> bool:
        """Waiting for an injected delayed event (the next part of a partial fill, or a rejection)."""
        return self.next_part_due is not None or self.reject_due is not None

    @property
    def at_market_center(self) -> bool:
        """Working where it could trade against another of our orders (what the wash-trade check sees)."""
        return self.is_active and self.status is not Status.HELD


@dataclass
class Position:
    """Signed quantity (short < 0) and the signed cost of the open quantity (short < 0)."""

    symbol: str
    asset_id: str
    qty: Decimal = ZERO
    cost_basis: Decimal = ZERO

    @property
    def avg_entry_price(self) -> Decimal:
        return ZERO if self.qty == 0 else self.cost_basis / self.qty


@dataclass(frozen=True)
class Fill:
    """One execution, as Alpaca's FILL account activity reports it."""

    id: str
    order_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    transaction_time: datetime
    cum_qty: Decimal
    leaves_qty: Decimal
    order_status: Status


@dataclass
class Account:
    cash: Decimal
    last_equity: Decimal
    created_at: datetime
    multiplier: Decimal
    shorting_enabled: bool = True
    id: str = field(default_factory=lambda: stable_id("account", "paper"))
    account_number: str = "PA3PAPERLOCAL"


@dataclass
class BrokerState:
    account: Account
    orders: dict[str, Order] = field(default_factory=dict)
    # client_order_id -> order id, never pruned: Alpaca keeps client ids unique forever, even after cancel.
    by_client_id: dict[str, str] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    next_seq: int = 0
    deferred_ids: set[str] = field(default_factory=set)  # orders with a pending injected event

    def take_seq(self) -> int:
        self.next_seq += 1
        return self.next_seq

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return sorted(
            (o for o in self.orders.values() if o.is_open and (symbol is None or o.symbol == symbol)),
            key=lambda o: o.seq,
        )

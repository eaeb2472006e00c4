"""The paper broker's records: account, orders (with their legs and their next timed event), positions,
fills and day trades. Plain mutable dataclasses, owned by the engine under its lock and persisted by
`store.py`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
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
    """Every status Alpaca uses (docs "Orders at Alpaca", Order Lifecycle; alpaca-py `OrderStatus`)."""

    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    DONE_FOR_DAY = "done_for_day"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REPLACED = "replaced"
    PENDING_CANCEL = "pending_cancel"
    PENDING_REPLACE = "pending_replace"
    ACCEPTED = "accepted"
    PENDING_NEW = "pending_new"
    ACCEPTED_FOR_BIDDING = "accepted_for_bidding"
    STOPPED = "stopped"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    CALCULATED = "calculated"
    HELD = "held"  # a bracket leg waiting for its entry, or the stop of a working exit pair


# "No further updates will occur" (Alpaca's wording) for these; every other status is open.
TERMINAL_STATUSES = frozenset(
    {Status.FILLED, Status.CANCELED, Status.EXPIRED, Status.REPLACED, Status.REJECTED}
)
# Not yet at the market: accepted outside its session, or routed and not yet acknowledged.
UNROUTED_STATUSES = frozenset({Status.ACCEPTED, Status.PENDING_NEW})
# Statuses Alpaca reports only "on very rare occasions"; the broker reaches them only through the
# `/_paper/orders/{id}/status` hook, so callers can be tested against them. Such an order is open but
# does not trade until the hook puts it back.
RARE_STATUSES = frozenset(
    {Status.DONE_FOR_DAY, Status.ACCEPTED_FOR_BIDDING, Status.STOPPED, Status.SUSPENDED, Status.CALCULATED}
)


class GroupRole(StrEnum):
    """Which part of a bracket/OTO/OCO an order plays (Alpaca's `group_role`)."""

    ENTRY = "entry"
    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"


class Event(StrEnum):
    """An order's next timed step (see lifecycle.py)."""

    ROUTE = "route"  # accepted / pending_new -> new (or held)
    EXECUTE = "execute"  # a routed order meets the market for the first time
    NEXT_PART = "next_part"  # the next part of an injected partial fill
    REJECT = "reject"  # an injected asynchronous rejection
    CANCEL = "cancel"  # pending_cancel -> canceled
    REPLACE = "replace"  # pending_replace -> replaced, and its replacement routes


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
    status: Status = Status.PENDING_NEW
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
    replaced_at: datetime | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    # Complex orders: the entry knows its legs; a leg knows its entry and its one-cancels-other peers.
    parent_id: str | None = None
    leg_ids: list[str] = field(default_factory=list)
    oco_peer_ids: list[str] = field(default_factory=list)
    group_id: str | None = None
    group_role: GroupRole | None = None
    awaiting_parent: bool = False  # an exit leg is dormant until its entry fills
    stop_triggered: bool = False  # a stop or stop_limit that has been elected
    # The status a leg takes when it wakes or a replacement routes (held for the stop of an exit pair).
    routed_status: Status = Status.NEW
    # The next timed step and when it is due (one at a time; see lifecycle.py).
    event: Event | None = None
    event_due: datetime | None = None
    # Injected partial fill (faults.py): sizes still to fill, in order, and the pause between parts.
    fill_parts: list[Decimal] = field(default_factory=list)
    part_delay_s: float = 0.0

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL_STATUSES

    @property
    def remaining_qty(self) -> Decimal:
        return self.qty - self.filled_qty

    @property
    def is_routed(self) -> bool:
        return self.is_open and self.status not in UNROUTED_STATUSES

    @property
    def can_trade(self) -> bool:
        """At the market and free to execute: routed, awake, not waiting for an injected event or a
        first arrival, not parked in a rare status. Pending cancels and replaces can still fill: at Alpaca
        a cancel or a replace races the fills, and "a success return code ... does NOT guarantee" it."""
        return (
            self.is_routed
            and not self.awaiting_parent
            and self.status not in RARE_STATUSES
            and self.event not in (Event.NEXT_PART, Event.EXECUTE)
        )

    @property
    def at_market_center(self) -> bool:
        """Resting where a new order of ours could trade against it (what the wash-trade check sees): open
        and awake, and not a leg Alpaca holds back (`held`: the stop of a working exit pair)."""
        return self.is_open and not self.awaiting_parent and self.status is not Status.HELD


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


@dataclass(frozen=True)
class DayTrade:
    day: date
    symbol: str


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
    # Pattern day trading: day trades made, and per symbol the day of the last opening fill not yet
    # matched by a closing one (pdt.py).
    day_trades: list[DayTrade] = field(default_factory=list)
    opened_on: dict[str, date] = field(default_factory=dict)
    # The next session close (NYSE hours) at which day orders expire and `last_equity` is taken.
    next_close: datetime | None = None
    next_extended_close: datetime | None = None

    def take_seq(self) -> int:
        self.next_seq += 1
        return self.next_seq

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return sorted(
            (o for o in self.orders.values() if o.is_open and (symbol is None or o.symbol == symbol)),
            key=lambda o: o.seq,
        )

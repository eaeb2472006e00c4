"""The records of the pipeline: signals (with their feed and batch lookup), orders and fills."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from tradepipe.contracts.items import OrderItem, OrderLeg, OrderUpdate, SignalItem, StatusUpdate
from tradepipe.domain.model import Mode, SignalStatus

# Type-only: the broker port (its dataclasses and the intent model) is not loaded with the stores.
if TYPE_CHECKING:
    from tradepipe.ports.broker import FillView


class SignalStore(Protocol):
    def record_new(self, item: SignalItem) -> bool:
        """Conditional put: False means the signal was already recorded (a duplicate)."""
        ...

    def get(self, signal_id: str) -> SignalItem | None: ...

    def advance(self, signal_id: str, update: StatusUpdate) -> bool:
        """Move to `update.entry.status`, conditional on the current status being one the lifecycle allows
        that move from (`domain.lifecycle.allowed_from`); append the entry to the trail and set the fields.
        False means the signal was not in such a status (a redelivery that already moved on)."""
        ...


@dataclass(frozen=True)
class SignalFilter:
    """What a reader narrows the signal feed to; None matches anything."""

    status: SignalStatus | None = None
    ticker: str | None = None
    strategy: str | None = None
    mode: Mode | None = None


@dataclass(frozen=True)
class FeedKey:
    """A position in one day of the feed: the item at (received_at, signal_id), exclusive."""

    received_at: str  # ISO 8601, UTC, as stored
    signal_id: str


@dataclass(frozen=True)
class DaySlice:
    items: list[SignalItem]  # newest first, each matching the filter
    resume_after: FeedKey | None  # None: the day holds nothing more after these
    reads: int  # queries spent


class SignalFeed(Protocol):
    """Signals by day of receipt, newest first (the read API; DynamoDB: the by-received-day index)."""

    def newest_first(
        self,
        day: str,
        filters: SignalFilter,
        *,
        since: datetime | None,
        after: FeedKey | None,
        limit: int,
        max_reads: int,
    ) -> DaySlice:
        """Up to `limit` matching signals received on `day` (YYYY-MM-DD, UTC) at or after `since`, older than
        `after`. Stops early after `max_reads` queries: the slice may then be short, with `resume_after`
        set, so a selective filter cannot make one request read a whole day."""
        ...


class OrderStore(Protocol):
    def record_intent(self, item: OrderItem) -> bool:
        """Conditional put before the broker call: False means the intent is already recorded."""
        ...

    def get(self, client_order_id: str) -> OrderItem | None: ...

    def update(self, client_order_id: str, update: OrderUpdate) -> None:
        """Set what the broker said about a recorded order (it must exist)."""
        ...

    # The reconciler's index of open orders (DynamoDB: the sparse `orders-working` index). Every order is in
    # it from `record_intent` until the reconciler has recorded its end and its legs' (`record_done`), so a
    # GTC leg that fills weeks later is still followed, and settled orders cost nothing per run.

    def working(self, account: str) -> list[OrderItem]:
        """The account's orders still followed, oldest client order id first. On DynamoDB the index is
        eventually consistent: an order recorded a moment ago may show up on the next run."""
        ...

    def record_working(self, client_order_id: str, account: str, legs: Sequence[OrderLeg]) -> None:
        """The order (of `account`) is still working at the broker: follow it (again), and record its legs
        as last seen nested under it."""
        ...

    def record_done(self, client_order_id: str) -> None:
        """The order and its legs are done and recorded: stop following it."""
        ...


class SignalLookup(Protocol):
    def get_many(self, signal_ids: Sequence[str]) -> Mapping[str, SignalItem]:
        """The signals that still exist (TTL), by id: the indexer copies their stage times and strategy
        onto execution and fill documents."""
        ...


class SignalRecords(SignalStore, SignalFeed, SignalLookup, Protocol):
    """A signal's record, its feed and its lookup: one store per backend serves the three
    (backends/views.py)."""


class FillStore(Protocol):
    def record_fill(
        self, fill: FillView, mode: str, client_order_id: str | None, signal_id: str | None
    ) -> bool:
        """Conditional put by execution id: False means this execution was already recorded."""
        ...

    def net_quantity(self, mode: str, symbol: str) -> Decimal:
        """Signed sum of the recorded fills for the symbol (buys positive)."""
        ...


@dataclass(frozen=True)
class TableChange:
    """One change to a stored record (a DynamoDB stream record, decoded by the adapter): what the indexer
    turns into documents."""

    table_base_name: str
    event_name: str  # INSERT | MODIFY | REMOVE
    sequence_number: str
    new_image: Mapping[str, Any] | None
    old_image: Mapping[str, Any] | None = None  # NEW_AND_OLD_IMAGES: what a change added is new - old

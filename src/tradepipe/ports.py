"""Small interfaces between the use cases and the outside world, named in trading terms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from pydantic import SecretStr

from tradepipe.contracts.items import EquitySnapshotItem, OrderItem, OrderUpdate, SignalItem, StatusUpdate
from tradepipe.contracts.messages import OrderIntent, SignalAccepted
from tradepipe.domain.model import Mode, SignalStatus


class Clock(Protocol):
    def now(self) -> datetime: ...


class WebhookSecrets(Protocol):
    def passphrases(self) -> Mapping[str, SecretStr]:
        """Named passphrases (one per strategy or source), so one can be revoked alone."""
        ...


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


class SignalQueue(Protocol):
    def send(self, message: SignalAccepted) -> None: ...


class IntentQueue(Protocol):
    def send(self, intent: OrderIntent) -> None: ...


@dataclass(frozen=True)
class BrokerOrder:
    """What the executor needs to know of an order at the broker."""

    broker_order_id: str
    client_order_id: str
    status: str
    qty: Decimal
    filled_qty: Decimal
    filled_avg_price: Decimal | None
    submitted_at: datetime | None
    filled_at: datetime | None
    symbol: str = ""
    side: str = ""  # buy / sell
    order_type: str = ""  # market, limit, stop...
    parent_client_order_id: str | None = None  # set on a bracket's exit legs


@dataclass(frozen=True)
class FillView:
    """One execution at the broker (Alpaca fill activity): the unit fills are deduplicated by."""

    execution_id: str
    broker_order_id: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    at: datetime


@dataclass(frozen=True)
class AccountView:
    equity: Decimal
    last_equity: Decimal
    buying_power: Decimal


@dataclass(frozen=True)
class HoldingView:
    qty: Decimal  # signed
    market_value: Decimal  # signed
    avg_entry_price: Decimal


@dataclass(frozen=True)
class ClockView:
    is_open: bool
    next_open: datetime | None


@dataclass(frozen=True)
class AssetView:
    tradable: bool
    fractionable: bool
    shortable: bool


class BrokerUnavailable(Exception):
    """A fault a retry may fix (timeout, connection error, 5xx): the order may or may not exist."""


class BrokerRateLimited(BrokerUnavailable):
    """429: wait `retry_after_s` (from Alpaca's rate-limit headers) before the next request."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after_s:.1f} s")
        self.retry_after_s = retry_after_s


class BrokerRejected(Exception):
    """A final business rejection from the broker (a 4xx that a retry cannot fix)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Broker(Protocol):
    mode: Mode

    def find_order(self, client_order_id: str) -> BrokerOrder | None: ...

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        """Place the entry (bracket, OTO or simple). Raises BrokerRejected for a final rejection; anything
        else is a fault a retry may fix."""
        ...

    def cancel_open_orders(self, symbol: str) -> int:
        """Cancel every open order for `symbol` (bracket legs included); returns how many."""
        ...

    def submit_close(self, symbol: str, position_qty: Decimal, client_order_id: str) -> BrokerOrder:
        """A market order that flattens `position_qty` (the open legs must be cancelled first: they hold
        the shares)."""
        ...

    def account(self) -> AccountView: ...

    def holdings(self) -> dict[str, HoldingView]: ...

    def clock(self) -> ClockView: ...

    def asset(self, symbol: str) -> AssetView | None:
        """None when the broker does not list the symbol."""
        ...

    def orders_since(self, after: datetime) -> list[BrokerOrder]:
        """Every order (open or closed) submitted after `after`, bracket legs included."""
        ...

    def fills_since(self, after: datetime) -> list[FillView]:
        """Fill activities after `after`, oldest first."""
        ...


class BrokerFactory(Protocol):
    def for_mode(self, mode: Mode) -> Broker | None:
        """The broker for `mode`, or None when that mode is not enabled or has no credentials."""
        ...


@dataclass(frozen=True)
class IndexAction:
    index: str
    doc_id: str
    document: Mapping[str, Any] | None  # None: delete


class SearchIndex(Protocol):
    def bulk(self, actions: Sequence[IndexAction]) -> list[str]:
        """Apply actions; returns `<index>/<doc_id>` of each action that failed (retryable)."""
        ...


class SignalLookup(Protocol):
    def get_many(self, signal_ids: Sequence[str]) -> Mapping[str, SignalItem]:
        """The signals that still exist (TTL), by id: the indexer copies their stage times and strategy
        onto execution and fill documents."""
        ...


class EquitySnapshotStore(Protocol):
    def record_equity_snapshot(self, item: EquitySnapshotItem) -> None:
        """Store one sample of the account's equity and positions (overwrites the same minute's)."""
        ...


# --- risk engine (issue 4) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DailyBar:
    t: datetime
    o: Decimal
    h: Decimal
    l: Decimal  # noqa: E741 - OHLC's conventional name
    c: Decimal
    v: Decimal


class MarketData(Protocol):
    def daily_bars(self, symbol: str, limit: int) -> Sequence[DailyBar]:
        """The most recent `limit` daily bars, oldest first (Alpaca's market-data API)."""
        ...


@dataclass(frozen=True)
class StoredTradingState:
    state: str  # TradingState value
    high_water_mark: Decimal
    losing_streak: int
    changed_at: datetime | None
    rule: str | None  # what set it: manual, daily_loss_limit, max_drawdown, losing_streak
    detail: str | None


class RiskStateStore(Protocol):
    """The risk-state table: per account (= mode) state and per account#ticker#strategy history."""

    def trading_state(self, account: str) -> StoredTradingState: ...

    def set_trading_state(
        self, account: str, state: str, rule: str, detail: str, at: datetime
    ) -> StoredTradingState:
        """Record a switch (and keep the previous state in the item's history)."""
        ...

    def reset_losing_streak(self, account: str) -> None:
        """A manual resume: the operator has seen the streak."""
        ...

    def raise_high_water_mark(self, account: str, equity: Decimal) -> Decimal:
        """max(stored, equity), stored; returns the mark."""
        ...

    def record_exit(
        self, account: str, ticker: str, strategy: str, at: datetime, stop_out: bool, pnl: Decimal | None
    ) -> int:
        """Remember the exit for cooldowns; a losing pnl extends the account's losing streak, a winning one
        resets it. Returns the streak."""
        ...

    def record_entry(self, account: str, ticker: str, strategy: str, bar_time: datetime) -> None: ...

    def symbol_history(
        self, account: str, ticker: str, strategy: str
    ) -> tuple[datetime | None, datetime | None, datetime | None]:
        """(last_exit_at, last_stop_out_at, last_entry_bar)."""
        ...

    def count_order(self, account: str, at: datetime) -> int:
        """Count one order in the account's current minute; returns the count for the last 60 s window."""
        ...

    def orders_last_minute(self, account: str, at: datetime) -> int: ...

    def report_position(self, account: str, ticker: str, qty: Decimal, at: datetime) -> None:
        """What the strategy says it holds ({{strategy.position_size}}), for the divergence check."""
        ...

    def reported_positions(self, account: str) -> dict[str, tuple[Decimal, datetime]]: ...

    def queue_entry(self, account: str, ticker: str, signal_id: str, at: datetime) -> str | None:
        """One queued entry per account#ticker: store this one, return the signal_id it replaced."""
        ...

    def take_queued(self, account: str) -> list[tuple[str, str]]:
        """Remove and return every queued (ticker, signal_id) for the account (at the open)."""
        ...


class FillStore(Protocol):
    def record_fill(
        self, fill: FillView, mode: str, client_order_id: str | None, signal_id: str | None
    ) -> bool:
        """Conditional put by execution id: False means this execution was already recorded."""
        ...

    def net_quantity(self, mode: str, symbol: str) -> Decimal:
        """Signed sum of the recorded fills for the symbol (buys positive)."""
        ...


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        """One domain event on the bus (EventBridge): TradingStateChanged, RiskCapApplied, ..."""
        ...

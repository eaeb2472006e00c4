"""The broker (Alpaca): what the pipeline reads from it and asks of it, and the two kinds of failure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Mode


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
    stop_price: Decimal | None = None
    limit_price: Decimal | None = None
    # A complex order's legs, when the answer nests them (Alpaca's answer to the order's submission does):
    # the only moment a leg is sure to be named as this order's (app/followed_orders.py).
    legs: tuple[BrokerOrder, ...] = ()
    # When the order last changed at the broker (a fill, partial or whole, moves it): how long a partly filled
    # entry has stood still (app/entry_timeout.py).
    updated_at: datetime | None = None


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
    current_price: Decimal | None = None


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

    def submit_close(self, symbol: str, position_qty: Decimal, client_order_id: str) -> BrokerOrder:
        """A market order that flattens `position_qty` (the open legs must be cancelled first: they hold
        the shares)."""
        ...

    def submit_stop(
        self, symbol: str, qty: Decimal, side: str, stop_price: Decimal, client_order_id: str
    ) -> BrokerOrder:
        """A standalone GTC stop (market) order: protection re-armed or restored. `side` buy / sell."""
        ...

    def submit_oco(
        self,
        symbol: str,
        qty: Decimal,
        side: str,
        take_profit: Decimal,
        stop_price: Decimal,
        client_order_id: str,
    ) -> BrokerOrder:
        """A GTC exit pair for an existing position (Alpaca's OCO: a take-profit limit and a stop, one
        cancels the other): a lot's protection replaced. `side` buy / sell."""
        ...

    def open_orders(self, symbol: str | None = None) -> list[BrokerOrder]:
        """Every open order (of `symbol`, or of the account), each bracket's entry followed by its legs."""
        ...

    def recent_orders(self, symbol: str, limit: int) -> list[BrokerOrder]:
        """The symbol's latest orders, open or closed, newest first (entries and simple orders, no legs)."""
        ...

    def working_orders(self) -> list[BrokerOrder]:
        """Every open order of the account, each on its own (`GET /v2/orders?status=open&nested=false`, up
        to 500): a leg is listed without its entry's id (`parent_client_order_id` None)."""
        ...

    def order_family(self, broker_order_id: str) -> list[BrokerOrder]:
        """One order as it is now (`GET /v2/orders/{id}?nested=true`) followed by its legs, each leg with the
        order's client order id as its parent; empty when the broker does not know the id."""
        ...

    def cancel_order(self, broker_order_id: str) -> None:
        """Ask for a cancel (the order passes through `pending_cancel`). An order already done is no
        error: there is nothing left to cancel."""
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


def figures_read_at(broker: object) -> datetime | None:
    """When `broker`'s account and positions were read, if it keeps them: a broker handing out the account
    and positions it read earlier (the risk stage's snapshot) has `figures_read_at()`; else None, read on
    each call. An attribute lookup, not `isinstance` against a runtime-checkable protocol, which walks the
    protocol's members on every call (3.5-7 µs warm in Python 3.11, twice an alert in the risk stage)."""
    read_at = getattr(broker, "figures_read_at", None)
    return read_at() if callable(read_at) else None


class BrokerFactory(Protocol):
    def for_mode(self, mode: Mode) -> Broker | None:
        """The broker for `mode`, or None when that mode is not enabled or has no credentials."""
        ...

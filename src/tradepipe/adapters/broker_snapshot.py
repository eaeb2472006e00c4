"""Fewer broker reads per alert: the risk stage's account, positions and clock read once per batch.

At a bar close the risk stage assesses tens of entries within a second or two; each used to read the account,
the positions and the clock (3 of the 4 trading-API calls an entry cost, with the asset, which the Alpaca
adapter caches for an hour). Here each of the three is read at most once per `max_age_s` per process and
account: on Lambda a batch is handled within that, so it is one snapshot per batch; the single-machine
runtime's pollers share it the same way.

What a snapshot can miss is what the risk stage already misses: orders it sized a moment ago are still in the
intents queue, not at the broker, whatever the age of the read (issue 18's reservations count them). Any
order this process sends through the wrapper drops the snapshot, so a read after a write is fresh.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Mode
from tradepipe.ports.broker import (
    AccountView,
    AssetView,
    Broker,
    BrokerFactory,
    BrokerOrder,
    ClockView,
    FillView,
    HoldingView,
)

T = TypeVar("T")

# Long enough to span a Lambda batch (5 messages, each well under a second without broker reads), short
# enough that a trader's own order or a fill between two bar closes is seen by the next one.
DEFAULT_SNAPSHOT_AGE_S = 5.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SnapshotBroker:
    def __init__(
        self,
        inner: Broker,
        max_age_s: float,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.mode: Mode = inner.mode
        self._inner, self._max_age_s, self._monotonic, self._wall = inner, max_age_s, monotonic, wall
        self._lock = threading.Lock()
        self._cached: dict[str, tuple[float, Any, datetime]] = {}
        # What each thread (the runtime's two risk pollers share this broker) was last handed, by read time.
        self._handed = threading.local()

    def _read(self, name: str, fetch: Callable[[], T]) -> T:
        now = self._monotonic()
        with self._lock:
            hit = self._cached.get(name)
        if hit is None or now - hit[0] >= self._max_age_s:
            # Read outside the lock: a slow broker must not serialize the other pollers' cached reads. Two
            # pollers missing together both read; the later one's answer stays. Its time is taken before
            # the read: what changed during the read may or may not be in it, and is counted as not.
            asked_at = self._wall()
            hit = (now, fetch(), asked_at)
            with self._lock:
                self._cached[name] = hit
        handed = getattr(self._handed, "times", None)
        if handed is None:
            handed = self._handed.times = {}
        handed[name] = hit[2]
        value: T = hit[1]
        return value

    def figures_read_at(self) -> datetime | None:
        """When the account and positions this thread was handed last were read (the older; None: none
        handed yet). Another thread's fresher read since is not what this one decides on. The caps count
        what was released or handed off since (domain/risk/reservations.py)."""
        handed = getattr(self._handed, "times", {})
        times = [at for name, at in handed.items() if name in ("account", "holdings")]
        return min(times) if times else None

    def _changed(self) -> None:
        with self._lock:
            self._cached.clear()

    # --- the snapshot ---------------------------------------------------------------------------------------

    def account(self) -> AccountView:
        return self._read("account", self._inner.account)

    def holdings(self) -> dict[str, HoldingView]:
        return dict(self._read("holdings", self._inner.holdings))

    def clock(self) -> ClockView:
        return self._read("clock", self._inner.clock)

    # --- everything else goes through; a write drops the snapshot ---------------------------------------

    def asset(self, symbol: str) -> AssetView | None:
        return self._inner.asset(symbol)

    def find_order(self, client_order_id: str) -> BrokerOrder | None:
        return self._inner.find_order(client_order_id)

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        try:
            return self._inner.submit(intent)
        finally:
            self._changed()

    def cancel_order(self, broker_order_id: str) -> None:
        try:
            self._inner.cancel_order(broker_order_id)
        finally:
            self._changed()

    def submit_stop(
        self, symbol: str, qty: Decimal, side: str, stop_price: Decimal, client_order_id: str
    ) -> BrokerOrder:
        try:
            return self._inner.submit_stop(symbol, qty, side, stop_price, client_order_id)
        finally:
            self._changed()

    def submit_oco(
        self,
        symbol: str,
        qty: Decimal,
        side: str,
        take_profit: Decimal,
        stop_price: Decimal,
        client_order_id: str,
    ) -> BrokerOrder:
        try:
            return self._inner.submit_oco(symbol, qty, side, take_profit, stop_price, client_order_id)
        finally:
            self._changed()

    def open_orders(self, symbol: str | None = None) -> list[BrokerOrder]:
        return self._inner.open_orders(symbol)

    def recent_orders(self, symbol: str, limit: int) -> list[BrokerOrder]:
        return self._inner.recent_orders(symbol, limit)

    def working_orders(self) -> list[BrokerOrder]:
        return self._inner.working_orders()

    def order_family(self, broker_order_id: str) -> list[BrokerOrder]:
        return self._inner.order_family(broker_order_id)

    def submit_close(self, symbol: str, position_qty: Decimal, client_order_id: str) -> BrokerOrder:
        try:
            return self._inner.submit_close(symbol, position_qty, client_order_id)
        finally:
            self._changed()

    def orders_since(self, after: datetime) -> list[BrokerOrder]:
        return self._inner.orders_since(after)

    def fills_since(self, after: datetime) -> list[FillView]:
        return self._inner.fills_since(after)


class SnapshotBrokers:
    """A BrokerFactory whose brokers read the account, positions and clock once per `max_age_s`."""

    def __init__(
        self,
        inner: BrokerFactory,
        max_age_s: float = DEFAULT_SNAPSHOT_AGE_S,
        wall: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._inner, self._max_age_s, self._wall = inner, max_age_s, wall
        self._wrapped: dict[int, SnapshotBroker] = {}
        self._lock = threading.Lock()

    def for_mode(self, mode: Mode) -> Broker | None:
        broker = self._inner.for_mode(mode)
        if broker is None:
            return None
        with self._lock:
            # Keyed by the broker itself: composition builds one per mode and process, a reset builds anew.
            wrapped = self._wrapped.get(id(broker))
            if wrapped is None or wrapped._inner is not broker:
                wrapped = self._wrapped[id(broker)] = SnapshotBroker(broker, self._max_age_s, wall=self._wall)
            return wrapped

"""Every broker call survives a 429: the calls Alpaca lets us repeat are retried after the wait its rate-limit
headers ask for (`Retry-After`, else `X-RateLimit-Reset`; Trading API reference, Rate Limit), and after a
timeout or a 5xx with a short backoff.

Safe to repeat: reads (an order, orders, positions, the account, the clock, an asset, fills) and cancels (a
second DELETE of an order answers 204 while it is `pending_cancel`, 422 once it is done, which the adapter
takes as done: Trading API reference, Cancel Order). Submits pass straight through: a submit is never
blindly retried; `app/placement.py` looks the order up by client_order_id before sending it again.

Past `attempts`, or a wait longer than `max_wait_s`, the error is raised: the message goes back to its queue
and is retried later (a Lambda must not sleep through a minute's window)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Mode
from tradepipe.ports.broker import (
    AccountView,
    AssetView,
    Broker,
    BrokerFactory,
    BrokerOrder,
    BrokerRateLimited,
    BrokerUnavailable,
    ClockView,
    FillView,
    HoldingView,
    figures_read_at,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Patience:
    sleep: Callable[[float], None] = field(default=time.sleep)
    attempts: int = 4
    max_wait_s: float = 10.0


def patiently(call: Callable[[], T], patience: Patience, recover: Callable[[], T | None] | None = None) -> T:
    """`call` through 429s and transient faults: a 429 waits what Alpaca asks (within `max_wait_s`), a
    timeout, a refused connection or a 5xx backs off. `recover` is asked first after such a fault, for a call
    that may have reached the broker anyway (a submit: its order looked up by client_order_id), and what it
    finds is the answer."""
    for attempt in range(1, patience.attempts + 1):
        try:
            return call()
        except BrokerRateLimited as exc:
            if attempt == patience.attempts or exc.retry_after_s > patience.max_wait_s:
                raise
            patience.sleep(max(exc.retry_after_s, 0.05))
        except BrokerUnavailable:
            found = None if recover is None else recover()
            if found is not None:
                return found
            if attempt == patience.attempts:
                raise
            patience.sleep(min(0.2 * 2**attempt, 2.0))
    raise AssertionError("unreachable")  # pragma: no cover


class PatientBroker:
    """A Broker whose repeatable calls wait out a 429 and retry a transient fault."""

    def __init__(self, inner: Broker, patience: Patience) -> None:
        self._inner = inner
        self._patience = patience
        self.mode: Mode = inner.mode

    def _retried(self, call: Callable[[], T]) -> T:
        return patiently(call, self._patience)

    def figures_read_at(self) -> datetime | None:
        return figures_read_at(self._inner)

    # --- repeatable: retried ------------------------------------------------------------------------------

    def find_order(self, client_order_id: str) -> BrokerOrder | None:
        return self._retried(lambda: self._inner.find_order(client_order_id))

    def open_orders(self, symbol: str | None = None) -> list[BrokerOrder]:
        return self._retried(lambda: self._inner.open_orders(symbol))

    def recent_orders(self, symbol: str, limit: int) -> list[BrokerOrder]:
        return self._retried(lambda: self._inner.recent_orders(symbol, limit))

    def working_orders(self) -> list[BrokerOrder]:
        return self._retried(self._inner.working_orders)

    def order_family(self, broker_order_id: str) -> list[BrokerOrder]:
        return self._retried(lambda: self._inner.order_family(broker_order_id))

    def cancel_order(self, broker_order_id: str) -> None:
        self._retried(lambda: self._inner.cancel_order(broker_order_id))

    def account(self) -> AccountView:
        return self._retried(self._inner.account)

    def holdings(self) -> dict[str, HoldingView]:
        return self._retried(self._inner.holdings)

    def clock(self) -> ClockView:
        return self._retried(self._inner.clock)

    def asset(self, symbol: str) -> AssetView | None:
        return self._retried(lambda: self._inner.asset(symbol))

    def orders_since(self, after: datetime) -> list[BrokerOrder]:
        return self._retried(lambda: self._inner.orders_since(after))

    def fills_since(self, after: datetime) -> list[FillView]:
        return self._retried(lambda: self._inner.fills_since(after))

    # --- not repeatable: placement.place_exactly_once owns their retries -----------------------------------

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        return self._inner.submit(intent)

    def submit_close(self, symbol: str, position_qty: Decimal, client_order_id: str) -> BrokerOrder:
        return self._inner.submit_close(symbol, position_qty, client_order_id)

    def submit_stop(
        self, symbol: str, qty: Decimal, side: str, stop_price: Decimal, client_order_id: str
    ) -> BrokerOrder:
        return self._inner.submit_stop(symbol, qty, side, stop_price, client_order_id)

    def submit_oco(
        self,
        symbol: str,
        qty: Decimal,
        side: str,
        take_profit: Decimal,
        stop_price: Decimal,
        client_order_id: str,
    ) -> BrokerOrder:
        return self._inner.submit_oco(symbol, qty, side, take_profit, stop_price, client_order_id)


def patient(brokers: BrokerFactory, mode: Mode, patience: Patience) -> Broker | None:
    inner = brokers.for_mode(mode)
    return None if inner is None else PatientBroker(inner, patience)


class PatientBrokers:
    """A BrokerFactory whose brokers are patient: for the use cases that call the broker directly (the risk
    stage's account, holdings, clock and asset reads; the minute schedule's clock)."""

    def __init__(self, inner: BrokerFactory, patience: Patience | None = None) -> None:
        self._inner = inner
        self._patience = patience or Patience()

    def for_mode(self, mode: Mode) -> Broker | None:
        return patient(self._inner, mode, self._patience)

"""Reading back what a request set going at the broker. Alpaca answers a cancel (`pending_cancel`) and an
order (`pending_new`, `accepted`) before either has happened, so a use case that must know the outcome
before it goes on (a close only once the legs' cancels hold no shares, the ticker's next intent only once
this fill is recorded) waits and reads again."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tradepipe.domain.order_status import is_terminal
from tradepipe.ports.broker import Broker, BrokerOrder

T = TypeVar("T")


def read_back(
    sleep: Callable[[float], None],
    first_s: float,
    last_s: float,
    read: Callable[[], T],
    settled: Callable[[T], bool],
) -> T:
    """`read` after `first_s` and, unless what it read is `settled`, once more at `last_s` (a first read at or
    past `last_s` is the only one). Alpaca confirms a cancel and fills a market order in tens of milliseconds
    in session, so the first read usually settles it and the caller goes on sooner; the second still sees
    whatever one read at `last_s` would have, for one request more. Never more than two reads."""
    first = min(first_s, last_s)
    sleep(first)
    result = read()
    if settled(result) or first >= last_s:
        return result
    sleep(last_s - first)
    return read()


def order_reader(broker: Broker, placed: BrokerOrder) -> Callable[[], BrokerOrder]:
    """Reads `placed` again by its client order id. A read that finds nothing (the broker's index lagging its
    answer) keeps the last one seen, so a second read never takes back what the first saw."""
    last = placed

    def read() -> BrokerOrder:
        nonlocal last
        last = broker.find_order(placed.client_order_id) or last
        return last

    return read


def read_order_back(
    broker: Broker, placed: BrokerOrder, sleep: Callable[[float], None], first_s: float, last_s: float
) -> BrokerOrder:
    """A placed order as the broker has it once final, or as last read while it still works (an order
    answered final is not read again)."""
    if is_terminal(placed.status):
        return placed
    return read_back(
        sleep, first_s, last_s, order_reader(broker, placed), lambda order: is_terminal(order.status)
    )

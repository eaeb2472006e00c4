"""Exactly once at the broker: every order is written to the orders table (keyed by its deterministic
client_order_id) before the broker call, and after a fault that may have reached the broker the order is
looked up by that id before it is ever sent again.

The executor's dispatch (`app/execute.py`) decides which orders a message needs; this module places each.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from tradepipe.app.entry_timeout import collar_record
from tradepipe.app.followed_orders import leg_records
from tradepipe.app.patient_broker import Patience, patiently
from tradepipe.contracts.items import OrderItem, OrderUpdate
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Side
from tradepipe.domain.order_rules import EntryOrder, validate_order
from tradepipe.ports.broker import Broker, BrokerOrder, BrokerRejected
from tradepipe.ports.clock import Clock
from tradepipe.ports.stores import OrderStore

# Order statuses of ours, before (or instead of) Alpaca's.
PENDING_SUBMIT = "pending_submit"
REJECTED = "rejected"


class NotYet(Exception):
    """The broker has not done what the next step needs (a cancel confirmed, a close filled): the message is
    retried later, and the retry reads the broker again (every order is found by its client_order_id)."""


@dataclass(frozen=True)
class Invalid:
    """An order rule broken before sending (`domain/order_rules.py`): a decision, recorded ORDER_INVALID,
    with no broker call."""

    detail: str


@dataclass(frozen=True)
class PlacementDeps:
    orders: OrderStore
    clock: Clock
    sleep: Callable[[float], None] = field(default=time.sleep)
    # Within one invocation: attempts at placing one order, and the longest wait a 429 may impose. Past
    # them the message is retried by the queue (and after maxReceiveCount lands in the DLQ, alarmed).
    place_attempts: int = 4
    max_rate_limit_wait_s: float = 10.0


def place_exactly_once(
    place: Callable[[], BrokerOrder], coid: str, broker: Broker, deps: PlacementDeps
) -> BrokerOrder:
    """Place an order whose intent is already recorded. After a timeout, a connection error or a 5xx the
    broker may have accepted it: look it up by client_order_id and only place it again if it is not there.
    A 429 waits for Alpaca's rate-limit reset. A business rejection (4xx) is final and raised at once."""
    patience = Patience(deps.sleep, deps.place_attempts, deps.max_rate_limit_wait_s)
    return patiently(place, patience, recover=lambda: broker.find_order(coid))


def check_entry(intent: OrderIntent) -> Invalid | None:
    problem = validate_order(_entry_order(intent))
    return None if problem is None else Invalid(problem.detail)


def place_entry(
    intent: OrderIntent, recorded: OrderItem | None, broker: Broker, deps: PlacementDeps
) -> BrokerOrder | Invalid:
    """The entry (bracket, OTO or simple): recorded first, checked against Alpaca's order rules (a breach is
    Invalid, recorded, without a broker call), then placed exactly once. Raises BrokerRejected, recorded."""
    coid = intent.client_order_id
    if recorded is None:
        deps.orders.record_intent(_entry_item(intent, deps.clock.now()))
    invalid = check_entry(intent)
    if invalid is not None:
        _record_rejection(coid, "ORDER_INVALID", invalid.detail, deps)
        return invalid
    try:
        return place_exactly_once(lambda: broker.submit(intent), coid, broker, deps)
    except BrokerRejected as exc:
        _record_rejection(coid, exc.code, exc.message, deps)
        raise


def place_close(
    intent: OrderIntent, held: Decimal, recorded: OrderItem, broker: Broker, deps: PlacementDeps
) -> BrokerOrder:
    """A market order that flattens `held`, under the intent's close_client_order_id (deterministic, so a
    retried close is found, not repeated; Alpaca's close-position call takes no client id). The caller has
    seen every order that held the shares `canceled` first (`app/protective_close.py`)."""
    coid = recorded.client_order_id
    try:
        return place_exactly_once(lambda: broker.submit_close(intent.symbol, held, coid), coid, broker, deps)
    except BrokerRejected as exc:
        _record_rejection(coid, exc.code, exc.message, deps)
        raise


def place_stop(item: OrderItem, broker: Broker, deps: PlacementDeps) -> BrokerOrder:
    """A standalone GTC stop (protection re-armed or restored), recorded first and placed exactly once."""
    coid = item.client_order_id
    recorded = deps.orders.get(coid)
    if recorded is None:
        deps.orders.record_intent(item)
    else:
        found = broker.find_order(coid)
        if found is not None:
            return found
    stop = item.stop_loss or Decimal(0)
    side = item.side.value.lower()
    try:
        placed = place_exactly_once(
            lambda: broker.submit_stop(item.symbol, item.qty, side, stop, coid), coid, broker, deps
        )
    except BrokerRejected as exc:
        _record_rejection(coid, exc.code, exc.message, deps)
        raise
    deps.orders.update(coid, placed_update(placed, deps.clock.now()))
    return placed


def placed_update(placed: BrokerOrder, now: datetime) -> OrderUpdate:
    return OrderUpdate(
        status=placed.status,
        broker_order_id=placed.broker_order_id,
        submitted_at=placed.submitted_at or now,
        filled_qty=placed.filled_qty,
        filled_avg_price=placed.filled_avg_price,
        filled_at=placed.filled_at,
        updated_at=now,
        legs=leg_records(placed),
    )


def _record_rejection(coid: str, code: str, message: str, deps: PlacementDeps) -> None:
    update = OrderUpdate(
        status=REJECTED, reject_code=code, reject_reason=message[:500], updated_at=deps.clock.now()
    )
    deps.orders.update(coid, update)


def _entry_order(intent: OrderIntent) -> EntryOrder:
    return EntryOrder(
        side=intent.side,
        qty=intent.qty or Decimal(0),
        order_type=intent.order_type,
        time_in_force=intent.time_in_force,
        limit_price=intent.limit_price,
        reference_price=intent.reference_price,
        take_profit=intent.take_profit,
        stop_loss=intent.stop_loss,
        stop_limit_price=intent.stop_limit_price,
    )


def _entry_item(intent: OrderIntent, now: datetime) -> OrderItem:
    order_class = (
        "bracket"
        if intent.take_profit and intent.stop_loss
        else "oto"
        if intent.stop_loss or intent.take_profit
        else "simple"
    )
    return OrderItem(
        client_order_id=intent.client_order_id,
        intent_id=intent.intent_id,
        signal_id=intent.signal_id,
        mode=intent.mode,
        strategy=intent.strategy,
        symbol=intent.symbol,
        side=intent.side or Side.BUY,
        qty=intent.qty or Decimal(0),
        order_class=order_class,
        order_type=intent.order_type.value.lower(),
        limit_price=intent.limit_price,
        take_profit=intent.take_profit,
        stop_loss=intent.stop_loss,
        status=PENDING_SUBMIT,
        created_at=now,
        updated_at=now,
        purpose="open",
        **collar_record(intent, now),
    )

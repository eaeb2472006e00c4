"""execute_intent: place each order exactly once, record what the broker says.

Every order is written to the orders table (keyed by its deterministic client_order_id) before the broker
call, and a redelivery looks the order up at the broker before any resubmission."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from tradepipe.contracts.items import OrderItem, OrderUpdate, StatusUpdate
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import RejectReason, Side, SignalStatus
from tradepipe.domain.order_rules import EntryOrder, validate_order
from tradepipe.ports.broker import (
    Broker,
    BrokerFactory,
    BrokerOrder,
    BrokerRateLimited,
    BrokerRejected,
    BrokerUnavailable,
    HoldingView,
)
from tradepipe.ports.clock import Clock
from tradepipe.ports.risk_state import SymbolHistoryStore
from tradepipe.ports.stores import OrderStore, SignalStore

log = logging.getLogger(__name__)

PENDING_SUBMIT = "pending_submit"
REJECTED = "rejected"
_DEAD = frozenset({"rejected", "canceled", "expired", "done_for_day", "stopped", "suspended"})


class CloseNotFilled(Exception):
    """The close of a reverse has not filled yet: retry later (the lookup finds it) before opening."""


@dataclass(frozen=True)
class ExecutorDeps:
    signals: SignalStore
    orders: OrderStore
    brokers: BrokerFactory
    clock: Clock
    history: SymbolHistoryStore | None = None  # exits feed cooldowns and the losing-streak guard
    close_fill_timeout_s: float = 5.0
    sleep: Callable[[float], None] = field(default=time.sleep)
    # Within one invocation: attempts at placing one order, and the longest wait a 429 may impose. Past
    # them the message is retried by the queue (and after maxReceiveCount lands in the DLQ, alarmed).
    place_attempts: int = 4
    max_rate_limit_wait_s: float = 10.0


@dataclass(frozen=True)
class Executed:
    client_order_id: str
    broker_order: BrokerOrder | None
    rejected: str | None = None


def execute_intent(intent: OrderIntent, deps: ExecutorDeps) -> Executed:
    broker = deps.brokers.for_mode(intent.mode)
    if broker is None:
        detail = f"mode={intent.mode} is not enabled (live_trading_enabled and live credentials required)"
        _finish(intent, deps, SignalStatus.REJECTED, detail, RejectReason.LIVE_TRADING_DISABLED)
        return Executed(intent.client_order_id, None, rejected=RejectReason.LIVE_TRADING_DISABLED)
    try:
        if intent.kind == "cancel":
            count = broker.cancel_open_orders(intent.symbol)
            _finish(intent, deps, SignalStatus.COMPLETED, f"canceled {count} open orders for {intent.symbol}")
            return Executed(intent.client_order_id, None)
        if intent.kind == "close":
            closed = _close_position(intent, broker, deps, wait=False)
            if closed is None:
                _finish(intent, deps, SignalStatus.COMPLETED, f"no open {intent.symbol} position to close")
                return Executed(intent.client_order_id, None)
            _record_placed(intent, intent.close_client_order_id, closed, deps)
            return Executed(intent.client_order_id, closed)
        return _open(intent, broker, deps)
    except BrokerRejected as exc:
        _finish(
            intent,
            deps,
            SignalStatus.REJECTED,
            f"alpaca {exc.code}: {exc.message}",
            RejectReason.BROKER_REJECTED,
        )
        return Executed(intent.client_order_id, None, rejected=RejectReason.BROKER_REJECTED)


def _open(intent: OrderIntent, broker: Broker, deps: ExecutorDeps) -> Executed:
    recorded = deps.orders.get(intent.client_order_id)
    if recorded is not None and recorded.status == REJECTED:
        return Executed(intent.client_order_id, None, rejected=recorded.reject_reason)
    placed = None if recorded is None else broker.find_order(intent.client_order_id)
    if placed is None:
        holding = broker.holdings().get(intent.symbol)
        held = Decimal(0) if holding is None else holding.qty
        opposite = (held < 0) if intent.side is Side.BUY else (held > 0)
        if opposite:
            # Alpaca never flips long to short in one order: close, wait for the fill, then open.
            _close_position(intent, broker, deps, wait=True)
        if recorded is None:
            deps.orders.record_intent(_order_item(intent, deps.clock.now()))
        placed = _submit(intent, broker, deps)
    _record_placed(intent, intent.client_order_id, placed, deps)
    return Executed(intent.client_order_id, placed)


def place_exactly_once(
    place: Callable[[], BrokerOrder], coid: str, broker: Broker, deps: ExecutorDeps
) -> BrokerOrder:
    """Place an order whose intent is already recorded. After a timeout, a connection error or a 5xx the
    broker may have accepted it: look it up by client_order_id and only place it again if it is not there.
    A 429 waits for Alpaca's rate-limit reset. A business rejection (4xx) is final and raised at once."""
    for attempt in range(1, deps.place_attempts + 1):
        try:
            return place()
        except BrokerRateLimited as exc:
            if attempt == deps.place_attempts or exc.retry_after_s > deps.max_rate_limit_wait_s:
                raise
            deps.sleep(max(exc.retry_after_s, 0.05))
        except BrokerUnavailable:
            found = broker.find_order(coid)
            if found is not None:
                return found
            if attempt == deps.place_attempts:
                raise
            deps.sleep(min(0.2 * 2**attempt, 2.0))
    raise AssertionError("unreachable")  # pragma: no cover


def _submit(intent: OrderIntent, broker: Broker, deps: ExecutorDeps) -> BrokerOrder:
    problem = validate_order(_entry_order(intent))
    if problem is not None:
        _record_rejection(intent.client_order_id, problem.reason.value, problem.detail, deps)
        raise BrokerRejected(problem.reason.value, problem.detail)
    try:
        return place_exactly_once(lambda: broker.submit(intent), intent.client_order_id, broker, deps)
    except BrokerRejected as exc:
        _record_rejection(intent.client_order_id, exc.code, exc.message, deps)
        raise


def _record_rejection(coid: str, code: str, message: str, deps: ExecutorDeps) -> None:
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
    )


def _close_position(
    intent: OrderIntent, broker: Broker, deps: ExecutorDeps, wait: bool
) -> BrokerOrder | None:
    coid = intent.close_client_order_id
    recorded = deps.orders.get(coid)
    placed = None if recorded is None else broker.find_order(coid)
    holding: HoldingView | None = None
    if placed is None:
        holding = broker.holdings().get(intent.symbol)
        if holding is None or holding.qty == 0:
            return None
        if recorded is None:
            deps.orders.record_intent(_close_item(intent, holding.qty, deps.clock.now()))
        # Bracket legs hold the shares ("insufficient qty available"): cancel them first.
        broker.cancel_open_orders(intent.symbol)
        qty = holding.qty
        placed = place_exactly_once(lambda: broker.submit_close(intent.symbol, qty, coid), coid, broker, deps)
    deps.orders.update(coid, _placed_fields(placed, deps.clock.now()))
    if wait:
        placed = _wait_for_fill(broker, coid, placed, deps)
    if placed.status == "filled" and holding is not None:
        _record_exit(intent, holding, placed, deps)
    return placed


def _record_exit(intent: OrderIntent, holding: HoldingView, placed: BrokerOrder, deps: ExecutorDeps) -> None:
    if deps.history is None:
        return
    pnl = None
    if placed.filled_avg_price is not None:
        pnl = (
            placed.filled_avg_price - holding.avg_entry_price
        ) * holding.qty  # signed qty: shorts gain on a fall
    deps.history.record_exit(
        intent.mode.value,
        intent.symbol,
        intent.strategy,
        placed.filled_at or deps.clock.now(),
        stop_out=False,
        pnl=pnl,
    )


def _wait_for_fill(broker: Broker, coid: str, placed: BrokerOrder, deps: ExecutorDeps) -> BrokerOrder:
    deadline = time.monotonic() + deps.close_fill_timeout_s
    while placed.status != "filled":
        if placed.status in _DEAD:
            raise BrokerRejected("close_failed", f"close order {coid} ended {placed.status}")
        if time.monotonic() > deadline:
            raise CloseNotFilled(f"close order {coid} is {placed.status} after {deps.close_fill_timeout_s} s")
        deps.sleep(0.2)
        placed = broker.find_order(coid) or placed
    deps.orders.update(coid, _placed_fields(placed, deps.clock.now()))
    return placed


def _order_item(intent: OrderIntent, now: datetime) -> OrderItem:
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
    )


def _close_item(intent: OrderIntent, held: Decimal, now: datetime) -> OrderItem:
    return OrderItem(
        client_order_id=intent.close_client_order_id,
        intent_id=f"{intent.signal_id}:close",
        signal_id=intent.signal_id,
        mode=intent.mode,
        strategy=intent.strategy,
        symbol=intent.symbol,
        side=Side.SELL if held > 0 else Side.BUY,
        qty=abs(held),
        order_class="simple",
        status=PENDING_SUBMIT,
        created_at=now,
        updated_at=now,
        # An exit signal's close is its final order; a reverse's close is the first of two.
        purpose="exit" if intent.kind == "close" else "close",
    )


def _placed_fields(placed: BrokerOrder, now: datetime) -> OrderUpdate:
    return OrderUpdate(
        status=placed.status,
        broker_order_id=placed.broker_order_id,
        submitted_at=placed.submitted_at or now,
        filled_qty=placed.filled_qty,
        filled_avg_price=placed.filled_avg_price,
        filled_at=placed.filled_at,
        updated_at=now,
    )


def _record_placed(intent: OrderIntent, coid: str, placed: BrokerOrder, deps: ExecutorDeps) -> None:
    now = deps.clock.now()
    deps.orders.update(coid, _placed_fields(placed, now))
    deps.signals.advance(
        intent.signal_id,
        StatusUpdate.to(
            SignalStatus.SUBMITTED,
            now,
            f"{coid} alpaca order {placed.broker_order_id}",
            broker_order_id=placed.broker_order_id,
        ),
    )
    if placed.status == "filled":
        deps.signals.advance(
            intent.signal_id,
            StatusUpdate.to(
                SignalStatus.FILLED,
                placed.filled_at or now,
                f"qty={placed.filled_qty} avg_price={placed.filled_avg_price}",
                filled_qty=placed.filled_qty,
                filled_avg_price=placed.filled_avg_price,
            ),
        )
    log.info("order placed", extra={"client_order_id": coid, "status": placed.status})


def _finish(
    intent: OrderIntent,
    deps: ExecutorDeps,
    status: SignalStatus,
    detail: str,
    reason: RejectReason | None = None,
) -> None:
    now = deps.clock.now()
    update = (
        StatusUpdate.to(status, now, detail[:1000])
        if reason is None
        else StatusUpdate.rejected(now, reason.value, detail)
    )
    deps.signals.advance(intent.signal_id, update)

"""execute_intent: what one order intent needs at the broker, and the signal's status after it.

open: the entry (a reverse first closes the opposite position and waits for that fill); close: cancel the
ticker's legs and flatten; cancel: cancel the ticker's open orders. Each order is placed exactly once by
`app/placement.py`; a broker rejection is a successful record (the message is done)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from tradepipe.app.placement import (
    REJECTED,
    PlacementDeps,
    place_close,
    place_entry,
    placed_update,
    wait_for_fill,
)
from tradepipe.contracts.items import StatusUpdate
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import RejectReason, Side, SignalStatus
from tradepipe.ports.broker import Broker, BrokerFactory, BrokerOrder, BrokerRejected, HoldingView
from tradepipe.ports.clock import Clock
from tradepipe.ports.risk_state import SymbolHistoryStore
from tradepipe.ports.stores import OrderStore, SignalStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExecutorDeps:
    signals: SignalStore
    orders: OrderStore
    brokers: BrokerFactory
    clock: Clock
    history: SymbolHistoryStore | None = None  # exits feed cooldowns and the losing-streak guard
    close_fill_timeout_s: float = 5.0
    sleep: Callable[[float], None] = field(default=time.sleep)
    place_attempts: int = 4
    max_rate_limit_wait_s: float = 10.0

    @property
    def placement(self) -> PlacementDeps:
        return PlacementDeps(
            self.orders,
            self.clock,
            self.sleep,
            self.place_attempts,
            self.max_rate_limit_wait_s,
            self.close_fill_timeout_s,
        )


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
        placed = place_entry(intent, recorded, broker, deps.placement)
    _record_placed(intent, intent.client_order_id, placed, deps)
    return Executed(intent.client_order_id, placed)


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
        placed = place_close(
            intent, holding.qty, recorded, broker, deps.placement, entry_avg_price=holding.avg_entry_price
        )
    deps.orders.update(coid, placed_update(placed, deps.clock.now()))
    if wait:
        placed = wait_for_fill(broker, coid, placed, deps.placement)
    if placed.status == "filled":
        if holding is not None:
            _record_exit(intent, holding.qty, holding.avg_entry_price, placed, deps)
        elif recorded is not None:
            # Found again after a crash between the fill and this record: the position is gone, but the
            # close's own record says what it closed (a sell closed a long).
            held = recorded.qty if recorded.side is Side.SELL else -recorded.qty
            _record_exit(intent, held, recorded.entry_avg_price, placed, deps)
    return placed


def _record_exit(
    intent: OrderIntent, held: Decimal, entry: Decimal | None, placed: BrokerOrder, deps: ExecutorDeps
) -> None:
    if deps.history is None:
        return
    pnl = None
    if placed.filled_avg_price is not None and entry is not None:
        # Signed qty: shorts gain on a fall.
        pnl = (placed.filled_avg_price - entry) * held
    deps.history.record_exit(
        intent.mode.value,
        intent.symbol,
        intent.strategy,
        placed.filled_at or deps.clock.now(),
        stop_out=False,
        pnl=pnl,
    )


def _record_placed(intent: OrderIntent, coid: str, placed: BrokerOrder, deps: ExecutorDeps) -> None:
    now = deps.clock.now()
    deps.orders.update(coid, placed_update(placed, now))
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

"""execute_intent: place one order exactly once, record what the broker says."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tradepipe.contracts.items import OrderItem, StatusEntry
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import RejectReason, SignalStatus
from tradepipe.ports import BrokerFactory, BrokerOrder, BrokerRejected, Clock, OrderStore, SignalStore

log = logging.getLogger(__name__)

PENDING_SUBMIT = "pending_submit"
REJECTED = "rejected"


@dataclass(frozen=True)
class ExecutorDeps:
    signals: SignalStore
    orders: OrderStore
    brokers: BrokerFactory
    clock: Clock


@dataclass(frozen=True)
class Executed:
    client_order_id: str
    broker_order: BrokerOrder | None
    rejected: str | None = None


def execute_intent(intent: OrderIntent, deps: ExecutorDeps) -> Executed:
    broker = deps.brokers.for_mode(intent.mode)
    if broker is None:
        detail = f"mode={intent.mode} is not enabled (live_trading_enabled and live credentials required)"
        _reject_signal(intent, RejectReason.LIVE_TRADING_DISABLED, detail, deps)
        return Executed(intent.client_order_id, None, rejected=RejectReason.LIVE_TRADING_DISABLED)

    now = deps.clock.now()
    first_attempt = deps.orders.record_intent(_order_item(intent, now))
    if not first_attempt:
        recorded = deps.orders.get(intent.client_order_id)
        if recorded is not None and recorded.status == REJECTED:
            return Executed(intent.client_order_id, None, rejected=recorded.reject_reason)

    # The intent was written before any broker call, so only a redelivery can have reached the broker:
    # look the order up by its deterministic client_order_id before any resubmission.
    placed = None if first_attempt else broker.find_order(intent.client_order_id)
    if placed is None:
        try:
            placed = broker.submit(intent)
        except BrokerRejected as exc:
            deps.orders.update(
                intent.client_order_id,
                {
                    "status": REJECTED,
                    "reject_code": exc.code,
                    "reject_reason": exc.message[:500],
                    "updated_at": deps.clock.now(),
                },
            )
            _reject_signal(intent, RejectReason.BROKER_REJECTED, f"alpaca {exc.code}: {exc.message}", deps)
            return Executed(intent.client_order_id, None, rejected=RejectReason.BROKER_REJECTED)

    _record_placed(intent, placed, deps)
    return Executed(intent.client_order_id, placed)


def _order_item(intent: OrderIntent, now: datetime) -> OrderItem:
    return OrderItem(
        client_order_id=intent.client_order_id,
        intent_id=intent.intent_id,
        signal_id=intent.signal_id,
        mode=intent.mode,
        strategy=intent.strategy,
        symbol=intent.symbol,
        side=intent.side,
        qty=intent.qty,
        order_class=intent.order_class,
        take_profit=intent.take_profit,
        stop_loss=intent.stop_loss,
        status=PENDING_SUBMIT,
        created_at=now,
        updated_at=now,
    )


def _record_placed(intent: OrderIntent, placed: BrokerOrder, deps: ExecutorDeps) -> None:
    now = deps.clock.now()
    fields: dict[str, Any] = {
        "status": placed.status,
        "broker_order_id": placed.broker_order_id,
        "submitted_at": placed.submitted_at or now,
        "filled_qty": placed.filled_qty,
        "filled_avg_price": placed.filled_avg_price,
        "filled_at": placed.filled_at,
        "updated_at": now,
    }
    deps.orders.update(intent.client_order_id, fields)
    deps.signals.advance(
        intent.signal_id,
        StatusEntry(status=SignalStatus.SUBMITTED, at=now, detail=f"alpaca order {placed.broker_order_id}"),
        allowed_from=frozenset({SignalStatus.SIZED}),
        fields={"broker_order_id": placed.broker_order_id, "client_order_id": intent.client_order_id},
    )
    if placed.status == "filled":
        deps.signals.advance(
            intent.signal_id,
            StatusEntry(
                status=SignalStatus.FILLED,
                at=placed.filled_at or now,
                detail=f"qty={placed.filled_qty} avg_price={placed.filled_avg_price}",
            ),
            allowed_from=frozenset({SignalStatus.SUBMITTED}),
            fields={"filled_qty": placed.filled_qty, "filled_avg_price": placed.filled_avg_price},
        )
    log.info("order placed", extra={"client_order_id": intent.client_order_id, "status": placed.status})


def _reject_signal(intent: OrderIntent, reason: RejectReason, detail: str, deps: ExecutorDeps) -> None:
    deps.signals.advance(
        intent.signal_id,
        StatusEntry(status=SignalStatus.REJECTED, at=deps.clock.now(), reason=reason, detail=detail),
        allowed_from=frozenset({SignalStatus.SIZED, SignalStatus.SUBMITTED}),
        fields={"reject_reason": reason.value, "reject_detail": detail[:1000]},
    )

"""assess_signal: size an entry (or pass an exit / cancel through), reject with a reason, or hand an order
intent to the executor."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tradepipe.contracts.items import StatusEntry
from tradepipe.contracts.messages import OrderIntent, SignalAccepted
from tradepipe.domain.model import Action, Rejected, Signal, SignalStatus
from tradepipe.domain.signal_id import client_order_id
from tradepipe.domain.sizing import size_entry
from tradepipe.ports import Clock, IntentQueue, SignalStore

log = logging.getLogger(__name__)

PRE_SIZING = frozenset({SignalStatus.RECEIVED, SignalStatus.ENQUEUED})
_KIND = {Action.ENTER: "open", Action.EXIT: "close", Action.CANCEL: "cancel"}


@dataclass(frozen=True)
class RiskDeps:
    store: SignalStore
    intents: IntentQueue
    clock: Clock


def _intent(signal: Signal, now: datetime, **order: Any) -> OrderIntent:
    kind = _KIND[signal.action]
    return OrderIntent(
        intent_id=f"{signal.signal_id}:{kind}",
        client_order_id=client_order_id(signal.signal_id, "close" if kind == "close" else "open"),
        close_client_order_id=client_order_id(signal.signal_id, "close"),
        signal_id=signal.signal_id,
        mode=signal.mode,
        strategy=signal.strategy,
        symbol=signal.ticker,
        kind=kind,
        strategy_position=signal.strategy_position,
        sized_at=now,
        **order,
    )


def decide(signal: Signal, now: datetime) -> OrderIntent | Rejected:
    """The risk decision for one signal: a pure function of the signal and the time."""
    if signal.action is not Action.ENTER:
        return _intent(signal, now)
    sized = size_entry(signal)
    if isinstance(sized, Rejected):
        return sized
    return _intent(
        signal,
        now,
        side=signal.side,
        qty=sized.qty,
        order_type=signal.order_type,
        limit_price=signal.limit_price,
        take_profit=sized.exits.target,
        stop_loss=sized.exits.stop,
    )


def assess_signal(message: SignalAccepted, deps: RiskDeps) -> OrderIntent | Rejected | None:
    """Returns the intent sent, the rejection recorded, or None for a redelivery that already moved on."""
    signal = message.signal
    now = deps.clock.now()
    decision = decide(signal, now)
    if isinstance(decision, Rejected):
        deps.store.advance(
            signal.signal_id,
            StatusEntry(status=SignalStatus.REJECTED, at=now, reason=decision.reason, detail=decision.detail),
            allowed_from=PRE_SIZING,
            fields={"reject_reason": decision.reason.value, "reject_detail": decision.detail},
        )
        log.info("signal rejected", extra={"signal_id": signal.signal_id, "reason": decision.reason.value})
        return decision
    detail = f"{decision.kind} qty={decision.qty}" if decision.qty else decision.kind
    moved = deps.store.advance(
        signal.signal_id,
        StatusEntry(status=SignalStatus.SIZED, at=now, detail=detail),
        allowed_from=PRE_SIZING,
        fields={
            "qty": decision.qty,
            "client_order_id": decision.client_order_id,
            "close_client_order_id": decision.close_client_order_id,
            "stop_loss": decision.stop_loss,
            "take_profit": decision.take_profit,
        },
    )
    if not moved:
        current = deps.store.get(signal.signal_id)
        if current is None or current.status is not SignalStatus.SIZED:
            return None
        # SIZED but maybe never sent (crash between the write and the send): send again; the executor's
        # client_order_id lookup makes a second delivery harmless.
    deps.intents.send(decision)
    return decision

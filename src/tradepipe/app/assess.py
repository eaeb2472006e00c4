"""assess_signal: size the position, reject with a reason, or pass an order intent on."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tradepipe.contracts.items import StatusEntry
from tradepipe.contracts.messages import OrderIntent, SignalAccepted
from tradepipe.domain.model import Rejected, SignalStatus
from tradepipe.domain.signal_id import client_order_id
from tradepipe.domain.sizing import size_by_risk
from tradepipe.ports import Clock, IntentQueue, SignalStore

log = logging.getLogger(__name__)

PRE_SIZING = frozenset({SignalStatus.RECEIVED, SignalStatus.ENQUEUED})


@dataclass(frozen=True)
class RiskDeps:
    store: SignalStore
    intents: IntentQueue
    clock: Clock


def assess_signal(message: SignalAccepted, deps: RiskDeps) -> OrderIntent | Rejected | None:
    """Returns the intent sent, the rejection recorded, or None for a redelivery that already moved on."""
    signal = message.signal
    decision = size_by_risk(signal)
    now = deps.clock.now()
    if isinstance(decision, Rejected):
        deps.store.advance(
            signal.signal_id,
            StatusEntry(status=SignalStatus.REJECTED, at=now, reason=decision.reason, detail=decision.detail),
            allowed_from=PRE_SIZING,
            fields={"reject_reason": decision.reason.value, "reject_detail": decision.detail},
        )
        log.info("signal rejected", extra={"signal_id": signal.signal_id, "reason": decision.reason.value})
        return decision
    intent = OrderIntent(
        intent_id=f"{signal.signal_id}:open",
        client_order_id=client_order_id(signal.signal_id, "open"),
        signal_id=signal.signal_id,
        mode=signal.mode,
        strategy=signal.strategy,
        symbol=signal.ticker,
        side=signal.side,
        qty=decision.qty,
        take_profit=signal.take_profit,
        stop_loss=signal.stop_loss,
        sized_at=now,
    )
    moved = deps.store.advance(
        signal.signal_id,
        StatusEntry(status=SignalStatus.SIZED, at=now, detail=f"qty={decision.qty}"),
        allowed_from=PRE_SIZING,
        fields={"qty": decision.qty, "client_order_id": intent.client_order_id},
    )
    if not moved:
        current = deps.store.get(signal.signal_id)
        if current is None or current.status is not SignalStatus.SIZED:
            return None
        # SIZED but maybe never sent (crash between the write and the send): send again; the executor's
        # client_order_id lookup makes a second delivery harmless.
    deps.intents.send(intent)
    return intent

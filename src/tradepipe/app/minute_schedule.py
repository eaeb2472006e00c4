"""The risk function's minute: at the open, send the entries queued while the market was closed back through
the risk stage (they are re-assessed with the open market's numbers), send the closes queued by exits after
hours to the executor (the intent recorded on the exit signal: an exit is not re-assessed), and sample which
accounts are HALTED (the TradingHalted alarm then sees a halt whoever, or whatever, set it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tradepipe.app.trading_state import halted_accounts
from tradepipe.contracts.messages import OrderIntent, SignalAccepted
from tradepipe.domain.alerts.normalize import to_signal
from tradepipe.domain.model import Mode, SignalStatus
from tradepipe.ports.broker import BrokerFactory
from tradepipe.ports.messaging import IntentQueue, SignalQueue
from tradepipe.ports.risk_state import QueuedCloses, QueuedEntries, TradingStateStore
from tradepipe.ports.stores import SignalStore

log = logging.getLogger(__name__)
_SIGNAL_FIELDS = (
    "action",
    "side",
    "ticker",
    "mode",
    "strategy",
    "timeframe",
    "alert_time",
    "sizing_mode",
    "sizing_value",
    "order_type",
    "limit_price",
    "entry_price",
    "stop_loss",
    "stop_loss_percent",
    "stop_limit_price",
    "take_profit",
    "take_profit_percent",
    "strategy_position",
    "strategy_order_id",
    "exchange",
    "dedupe_window",
)


@dataclass(frozen=True)
class ReleaseDeps:
    signals: SignalStore
    queued: QueuedEntries
    brokers: BrokerFactory
    queue: SignalQueue
    trading_state: TradingStateStore
    closes: QueuedCloses | None = None
    intents: IntentQueue | None = None


@dataclass(frozen=True)
class MinuteReport:
    released: int
    halted: list[str]
    closes_released: int = 0


def release_and_sample(deps: ReleaseDeps) -> MinuteReport:
    released = release_queued_entries(deps)
    closes = release_queued_closes(deps)
    return MinuteReport(
        released, halted_accounts(deps.trading_state, tuple(mode.value for mode in Mode)), closes
    )


def release_queued_closes(deps: ReleaseDeps) -> int:
    """At the open: each queued close goes to the executor as the intent its exit signal recorded. Dropped
    once sent; a send repeated after a crash is the same intent (FIFO deduplication, and the executor finds
    its close by client_order_id)."""
    if deps.closes is None or deps.intents is None:
        return 0
    released = 0
    for mode in Mode:
        queued = deps.closes.queued_closes(mode.value)
        if not queued:
            continue
        broker = deps.brokers.for_mode(mode)
        if broker is None or not broker.clock().is_open:
            continue
        for ticker, signal_id in sorted(queued.items()):
            item = deps.signals.get(signal_id)
            if item is not None and item.intent and item.status is SignalStatus.SIZED:
                intent = OrderIntent.model_validate_json(item.intent)
                # Its own intent id: the queue must not take it for the exit's first delivery (SQS FIFO
                # drops a repeated deduplication id for five minutes). The close keeps its client_order_id.
                deps.intents.send(intent.model_copy(update={"intent_id": f"{intent.intent_id}:released"}))
                released += 1
            else:
                log.warning(
                    "queued close has no intent to send", extra={"signal_id": signal_id, "ticker": ticker}
                )
            deps.closes.drop_queued_close(mode.value, ticker, signal_id)
    return released


def release_queued_entries(deps: ReleaseDeps) -> int:
    released = 0
    for mode in Mode:
        broker = deps.brokers.for_mode(mode)
        if broker is None or not broker.clock().is_open:
            continue
        for ticker, signal_id in deps.queued.take_queued(mode.value):
            item = deps.signals.get(signal_id)
            if item is None or item.status is not SignalStatus.QUEUED:
                continue
            signal = to_signal({name: getattr(item, name) for name in _SIGNAL_FIELDS})
            if signal.signal_id != signal_id:  # the record must rebuild the exact signal it was queued as
                log.error("queued signal does not rebuild", extra={"signal_id": signal_id, "ticker": ticker})
                continue
            deps.queue.send(SignalAccepted(signal=signal, received_at=item.received_at, released=True))
            released += 1
    return released

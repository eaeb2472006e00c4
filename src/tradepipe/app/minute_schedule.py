"""The risk function's minute: at the open, send the entries queued while the market was closed back through
the risk stage (they are re-assessed with the open market's numbers), and sample which accounts are
HALTED (the TradingHalted alarm then sees a halt whoever, or whatever, set it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tradepipe.app.trading_state import halted_accounts
from tradepipe.contracts.messages import SignalAccepted
from tradepipe.domain.alerts.normalize import to_signal
from tradepipe.domain.model import Mode, SignalStatus
from tradepipe.ports.broker import BrokerFactory
from tradepipe.ports.messaging import SignalQueue
from tradepipe.ports.risk_state import QueuedEntries, TradingStateStore
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


@dataclass(frozen=True)
class MinuteReport:
    released: int
    halted: list[str]


def release_and_sample(deps: ReleaseDeps) -> MinuteReport:
    released = release_queued_entries(deps)
    return MinuteReport(released, halted_accounts(deps.trading_state, tuple(mode.value for mode in Mode)))


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

"""release_queued_entries: at the open, send the entries queued while the market was closed back through
the risk stage (they are re-assessed with the open market's numbers)."""

from __future__ import annotations

import logging

from tradepipe.contracts.messages import SignalAccepted
from tradepipe.domain.alerts.normalize import to_signal
from tradepipe.domain.model import Mode, SignalStatus
from tradepipe.ports import BrokerFactory, RiskStateStore, SignalQueue, SignalStore

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
    "take_profit",
    "take_profit_percent",
    "strategy_position",
    "strategy_order_id",
    "exchange",
)


def release_queued_entries(
    signals: SignalStore, risk_state: RiskStateStore, brokers: BrokerFactory, queue: SignalQueue
) -> int:
    released = 0
    for mode in Mode:
        broker = brokers.for_mode(mode)
        if broker is None or not broker.clock().is_open:
            continue
        for ticker, signal_id in risk_state.take_queued(mode.value):
            item = signals.get(signal_id)
            if item is None or item.status is not SignalStatus.QUEUED:
                continue
            signal = to_signal({name: getattr(item, name) for name in _SIGNAL_FIELDS})
            if signal.signal_id != signal_id:  # the record must rebuild the exact signal it was queued as
                log.error("queued signal does not rebuild", extra={"signal_id": signal_id, "ticker": ticker})
                continue
            queue.send(SignalAccepted(signal=signal, received_at=item.received_at, released=True))
            released += 1
    return released

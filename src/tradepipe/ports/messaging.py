"""What leaves a stage asynchronously: the two FIFO queues and the domain-event bus."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from tradepipe.contracts.messages import OrderIntent, SignalAccepted


class SignalQueue(Protocol):
    def send(self, message: SignalAccepted) -> None: ...


class IntentQueue(Protocol):
    def send(self, intent: OrderIntent) -> None: ...


class Redelivery(Protocol):
    def redeliver_in(self, receipt_handles: Sequence[str], delay_s: int) -> None:
        """Make received messages visible again `delay_s` from now rather than after the queue's visibility
        timeout: a message that waits for the broker (a cancel to confirm) is retried in seconds."""
        ...


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        """One domain event on the bus (EventBridge): TradingStateChanged, RiskCapApplied, ..."""
        ...

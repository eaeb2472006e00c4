"""What leaves a stage asynchronously: the two FIFO queues and the domain-event bus."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from tradepipe.contracts.messages import OrderIntent, SignalAccepted


class SignalQueue(Protocol):
    def send(self, message: SignalAccepted) -> None: ...


class IntentQueue(Protocol):
    def send(self, intent: OrderIntent) -> None: ...


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        """One domain event on the bus (EventBridge): TradingStateChanged, RiskCapApplied, ..."""
        ...

"""What leaves a stage asynchronously: the two FIFO queues and the domain-event bus."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from tradepipe.contracts.messages import OrderIntent, SignalAccepted

if TYPE_CHECKING:
    # Not at run time: the events' models cost ~20 ms to build, and the webhook's alert path imports this
    # module but publishes only on its rarer branches (rejections, duplicates), which import them there.
    from tradepipe.contracts.events import DomainEvent


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
        """One domain event on the bus (EventBridge): TradingStateChanged, RiskCapApplied, ... Publishers
        go through `publish_event` with a contract from `contracts/events.py`."""
        ...


def publish_event(events: EventPublisher, event: DomainEvent) -> None:
    """Put one contract event on the bus: its detail-type, and its detail as the contract serializes it
    (decimals as strings, aware ISO times), so every publisher sends what the notifier parses."""
    events.publish(event.detail_type, event.as_detail())

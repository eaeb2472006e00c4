"""Domain events on EventBridge: trading-state switches, caps applied, divergences.

Not for orders: EventBridge neither orders nor deduplicates, so orders stay on the FIFO queues. An event is
at-least-once and may arrive out of order; consumers key on its content.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from tradepipe.resources import EVENT_SOURCE


class EventPublishFailed(Exception):
    """EventBridge refused the entry (throttled, internal failure): a fault a retry can fix."""

    def __init__(self, detail_type: str, code: str, message: str) -> None:
        super().__init__(f"{detail_type}: {code}: {message}")
        self.code = code


def _json_default(value: object) -> Any:
    # Decimals as strings, as in the queue messages: exact, and a rule can still match them as text.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def event_detail(detail: Mapping[str, Any]) -> str:
    return json.dumps(dict(detail), default=_json_default, separators=(",", ":"), sort_keys=True)


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str, source: str = EVENT_SOURCE) -> None:
        self._client = client
        self._bus_name = bus_name
        self._source = source

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        answer = self._client.put_events(
            Entries=[
                {
                    "EventBusName": self._bus_name,
                    "Source": self._source,
                    "DetailType": detail_type,
                    "Detail": event_detail(detail),
                }
            ]
        )
        # PutEvents answers 200 even when an entry failed: the failure is in the entry, not the status.
        if answer.get("FailedEntryCount", 0):
            entry = (answer.get("Entries") or [{}])[0]
            raise EventPublishFailed(
                detail_type, str(entry.get("ErrorCode", "unknown")), str(entry.get("ErrorMessage", ""))
            )

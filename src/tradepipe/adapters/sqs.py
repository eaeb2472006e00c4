"""SQS FIFO producers. Group = account (mode) and ticker, so one ticker's signals stay in arrival order
while other tickers proceed; dedup id = the content-derived id, so a resend within 5 minutes is dropped."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from tradepipe.contracts.messages import OrderIntent, SignalAccepted

log = logging.getLogger(__name__)
_BATCH = 10  # ChangeMessageVisibilityBatch takes at most ten entries


def group_id(mode: str, ticker: str) -> str:
    return f"{mode}#{ticker}"


class SqsSignalQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, message: SignalAccepted) -> None:
        signal = message.signal
        self._client.send_message(
            QueueUrl=self._url,
            MessageBody=message.model_dump_json(),
            MessageGroupId=group_id(signal.mode.value, signal.ticker),
            MessageDeduplicationId=signal.signal_id + ("-released" if message.released else ""),
        )


class SqsIntentQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, intent: OrderIntent) -> None:
        self._client.send_message(
            QueueUrl=self._url,
            MessageBody=intent.model_dump_json(),
            MessageGroupId=group_id(intent.mode.value, intent.symbol),
            # ':' is not allowed in a dedup id.
            MessageDeduplicationId=intent.intent_id.replace(":", "-"),
        )

    def redeliver_in(self, receipt_handles: Sequence[str], delay_s: int) -> None:
        """Best effort: a handle that fails keeps the visibility timeout (its message still comes back)."""
        handles = list(receipt_handles)
        for start in range(0, len(handles), _BATCH):
            chunk = handles[start : start + _BATCH]
            answer = self._client.change_message_visibility_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": delay_s}
                    for i, handle in enumerate(chunk)
                ],
            )
            for failed in answer.get("Failed", []):
                log.warning("visibility not shortened", extra={"code": failed.get("Code")})

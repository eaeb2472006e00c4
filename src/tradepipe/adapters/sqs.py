"""SQS FIFO producers. Group = account (mode) and ticker, so one ticker's signals stay in arrival order
while other tickers proceed; dedup id = the content-derived id, so a resend within 5 minutes is dropped."""

from __future__ import annotations

from typing import Any

from tradepipe.contracts.messages import OrderIntent, SignalAccepted


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

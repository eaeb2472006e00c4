"""Lambda event-source mappings on one machine: SQS -> handler with partial batch failures, DynamoDB
stream -> handler with checkpointing at the lowest failed sequence number. Events have AWS's real shape."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from tradepipe.local.aws import LOCAL_REGION, client
from tradepipe.local.lambda_context import LocalLambdaContext

Handler = Callable[[dict[str, Any], Any], Any]
log = logging.getLogger(__name__)


class _Pump(threading.Thread):
    # How long to wait after a poll that found nothing. Polls are not free: moto answers a stream's
    # GetRecords by walking the shard, so an eager idle loop slows every other AWS call on the machine.
    idle_wait_s = 0.05

    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._stop_event = threading.Event()
        self.invocations = 0
        self.errors = 0

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                if not self.poll_once():
                    self._stop_event.wait(self.idle_wait_s)
            except Exception:  # a crashed invocation is retried like Lambda would, never kills the pump
                self.errors += 1
                log.exception("event source %s: invocation failed", self.name)
                self._stop_event.wait(0.5)

    def poll_once(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    attrs = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attrs.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attrs.get("SentTimestamp", str(int(time.time() * 1000))),
            "SenderId": attrs.get("SenderId", "local"),
            "ApproximateFirstReceiveTimestamp": attrs.get("ApproximateFirstReceiveTimestamp", "0"),
            "SequenceNumber": attrs.get("SequenceNumber", "0"),
            "MessageGroupId": attrs.get("MessageGroupId", ""),
            "MessageDeduplicationId": attrs.get("MessageDeduplicationId", ""),
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(message["Body"].encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": LOCAL_REGION,
    }


class SqsEventSource(_Pump):
    """Receive up to `batch_size`, invoke, delete what succeeded; failures reappear after the visibility
    timeout and go to the DLQ after maxReceiveCount, as with Lambda's SQS event source."""

    def __init__(
        self,
        endpoint: str,
        queue_url: str,
        queue_arn: str,
        handler: Handler,
        function_name: str,
        timeout_s: int,
        batch_size: int = 10,
    ) -> None:
        super().__init__(name=f"sqs->{function_name}")
        self._sqs = client("sqs", endpoint)
        self._url, self._arn = queue_url, queue_arn
        self._handler, self._function, self._timeout = handler, function_name, timeout_s
        self._batch = batch_size

    def poll_once(self) -> bool:
        messages = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=self._batch,
            WaitTimeSeconds=1,  # long polling, as Lambda's SQS poller does
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return False
        event = {"Records": [sqs_record(m, self._arn) for m in messages]}
        self.invocations += 1
        response = self._handler(event, LocalLambdaContext(self._function, self._timeout)) or {}
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
        return True


class DynamoStreamEventSource(_Pump):
    """Read every shard of a table's stream in order; on a partial failure, resume at the lowest failed
    sequence number (Lambda's checkpoint behaviour with ReportBatchItemFailures)."""

    def __init__(
        self,
        endpoint: str,
        stream_arn: str,
        handler: Handler,
        function_name: str,
        timeout_s: int,
        batch_size: int = 100,
    ) -> None:
        super().__init__(name=f"stream->{function_name}")
        self._streams = client("dynamodbstreams", endpoint)
        self._arn = stream_arn
        self._handler, self._function, self._timeout = handler, function_name, timeout_s
        self._batch = batch_size
        self._iterators: dict[str, str] = {}
        self._next_refresh = 0.0

    idle_wait_s = 0.3
    _SHARD_REFRESH_S = 10.0

    def _refresh_shards(self) -> None:
        if self._iterators and time.monotonic() < self._next_refresh:
            return
        self._next_refresh = time.monotonic() + self._SHARD_REFRESH_S
        shards = self._streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        for shard in shards:
            if shard["ShardId"] not in self._iterators:
                self._iterators[shard["ShardId"]] = self._streams.get_shard_iterator(
                    StreamArn=self._arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]

    def poll_once(self) -> bool:
        self._refresh_shards()
        worked = False
        for shard_id, iterator in list(self._iterators.items()):
            page = self._streams.get_records(ShardIterator=iterator, Limit=self._batch)
            records = page.get("Records", [])
            next_iterator = page.get("NextShardIterator")
            if records:
                worked = True
                failed = self._invoke(records)
                if failed:
                    next_iterator = self._streams.get_shard_iterator(
                        StreamArn=self._arn,
                        ShardId=shard_id,
                        ShardIteratorType="AT_SEQUENCE_NUMBER",
                        SequenceNumber=min(failed, key=int),
                    )["ShardIterator"]
                    self._stop_event.wait(0.5)
            if next_iterator:
                self._iterators[shard_id] = next_iterator
        return worked

    def _invoke(self, records: list[dict[str, Any]]) -> list[str]:
        event = {
            "Records": [
                {
                    **r,
                    "eventSourceARN": self._arn,
                    "awsRegion": LOCAL_REGION,
                    "dynamodb": _json_safe(r["dynamodb"]),
                }
                for r in records
            ]
        }
        self.invocations += 1
        response = self._handler(event, LocalLambdaContext(self._function, self._timeout)) or {}
        return [f["itemIdentifier"] for f in response.get("batchItemFailures", [])]


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    """boto3 parses ApproximateCreationDateTime into a datetime; the Lambda event carries epoch seconds."""
    created = data.get("ApproximateCreationDateTime")
    if created is not None and hasattr(created, "timestamp"):
        return {**data, "ApproximateCreationDateTime": int(created.timestamp())}
    return data


class ScheduleEventSource(_Pump):
    """An EventBridge schedule rule (rate(1 minute) on AWS): invoke the handler with a Scheduled Event."""

    idle_wait_s = 0.5

    def __init__(self, handler: Handler, function_name: str, timeout_s: int, interval_s: float) -> None:
        super().__init__(name=f"schedule->{function_name}")
        self._handler, self._function, self._timeout = handler, function_name, timeout_s
        self.function_name = function_name
        self._interval = interval_s
        self._next = time.monotonic() + interval_s
        self.completed = 0  # invocations that returned (or raised), for callers waiting on `fire_now`

    def fire_now(self) -> int:
        """Invoke at the next poll, as `aws events put-events` or a console test would; returns the count of
        completed invocations to wait past."""
        done = self.completed
        self._next = 0.0
        return done

    def poll_once(self) -> bool:
        if time.monotonic() < self._next:
            return False
        self._next = time.monotonic() + self._interval
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": LOCAL_REGION,
            "resources": [],
            "detail": {},
        }
        self.invocations += 1
        try:
            self._handler(event, LocalLambdaContext(self._function, self._timeout))
        finally:
            self.completed += 1
        return True

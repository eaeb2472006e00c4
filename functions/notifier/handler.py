"""Notifier queue (EventBridge rule -> SQS, batching window) -> notify_events -> delivery, partial failures.
The batch is rendered together (40 fills: a few messages per channel) and delivered within the time budget; a
record whose event a channel still lacks is failed, and comes back only to that channel (composition)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from tradepipe.composition import notifier as lambda_notifier
from tradepipe.contracts.events import DomainEvent, UnknownEventType, parse_bus_event
from tradepipe.notify.delivery import LaneStep
from tradepipe.notify.use_cases import notify_events, still_pending
from tradepipe.observability.lambda_setup import lambda_tools

tools = lambda_tools("notifier")
processor = BatchProcessor(event_type=EventType.SQS)
MARGIN_MS = 10_000  # left for reporting the batch before the function's timeout


class NotYetDelivered(Exception):
    """A channel lacks this record's event: SQS delivers the record again."""


def _event(record: SQSRecord) -> DomainEvent | None:
    try:
        return parse_bus_event(json.loads(record.body))
    except UnknownEventType:
        return None  # the rule routes only ours; anything else is not for a trader's phone
    except (ValueError, KeyError, TypeError, ValidationError):
        # A retry cannot fix a malformed event: count it (alarmed) instead of cycling it to the DLQ.
        tools.logger.error("invalid event on the notifier queue", extra={"message_id": record.message_id})
        tools.count("NotificationEventsInvalid")
        return None


@tools.entry()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    notifier = lambda_notifier()
    events = {r["messageId"]: _event(SQSRecord(r)) for r in event.get("Records", [])}
    report = notify_events([e for e in events.values() if e is not None], notifier.deps)
    budget = timedelta(milliseconds=max(0, context.get_remaining_time_in_millis() - MARGIN_MS))
    drained = notifier.worker.drain(until=notifier.deps.clock.now() + budget)
    tools.count("NotificationsEnqueued", sum(report.enqueued.values()))
    tools.count("NotificationsSent", drained.steps[LaneStep.SENT])
    tools.count("NotificationsDropped", drained.steps[LaneStep.DROPPED] + drained.steps[LaneStep.EXPIRED])

    def check_delivered(record: SQSRecord) -> None:
        item = events.get(record.message_id)
        if item is not None and still_pending([item], notifier.deps):
            raise NotYetDelivered(item.detail_type)

    return process_partial_response(
        event=event, record_handler=check_delivered, processor=processor, context=context
    )

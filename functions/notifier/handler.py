"""Notifier queue (EventBridge rule -> SQS, batching window) -> notify_events -> delivery, partial failures.

Each record is one EventBridge event. The batch is rendered together (a bar close of 40 fills is one or a
few messages per channel), then delivered until the queues are empty or the time budget is spent. A record
whose event some channel has not received yet is reported failed: SQS brings it back after the visibility
timeout, and the channels that already have it do not get it again (see tradepipe.composition.notifier).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from tradepipe.composition import notifier as lambda_notifier
from tradepipe.contracts.events import DomainEvent, UnknownEventType, parse_bus_event
from tradepipe.notify.delivery import LaneStep
from tradepipe.notify.use_cases import notify_events, still_pending
from tradepipe.observability.redaction import RedactingFormatter

logger = Logger(service="notifier", logger_formatter=RedactingFormatter())
metrics = Metrics()
tracer = Tracer()
copy_config_to_registered_loggers(source_logger=logger, include={"tradepipe"})
processor = BatchProcessor(event_type=EventType.SQS)
MARGIN_MS = 10_000  # left for reporting the batch before the function's timeout


class NotYetDelivered(Exception):
    """A channel has not received this record's event: SQS will deliver the record again."""


def _event(record: SQSRecord) -> DomainEvent | None:
    try:
        return parse_bus_event(json.loads(record.body))
    except UnknownEventType:
        return None  # the rule routes only ours; anything else is not for a trader's phone
    except (ValueError, KeyError, TypeError, ValidationError):
        # A retry cannot fix a malformed event: count it (alarmed) instead of cycling it to the DLQ.
        logger.error("invalid event on the notifier queue", extra={"message_id": record.message_id})
        metrics.add_metric(name="NotificationEventsInvalid", unit=MetricUnit.Count, value=1)
        return None


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    notifier = lambda_notifier()
    events = {r["messageId"]: _event(SQSRecord(r)) for r in event.get("Records", [])}
    report = notify_events([e for e in events.values() if e is not None], notifier.deps)
    budget = timedelta(milliseconds=max(0, context.get_remaining_time_in_millis() - MARGIN_MS))
    drained = notifier.worker.drain(until=notifier.deps.clock.now() + budget)
    metrics.add_metric(
        name="NotificationsEnqueued", unit=MetricUnit.Count, value=sum(report.enqueued.values())
    )
    metrics.add_metric(name="NotificationsSent", unit=MetricUnit.Count, value=drained.steps[LaneStep.SENT])
    dropped = drained.steps[LaneStep.DROPPED] + drained.steps[LaneStep.EXPIRED]
    metrics.add_metric(name="NotificationsDropped", unit=MetricUnit.Count, value=dropped)

    def check_delivered(record: SQSRecord) -> None:
        item = events.get(record.message_id)
        if item is not None and still_pending([item], notifier.deps):
            raise NotYetDelivered(item.detail_type)

    return process_partial_response(
        event=event, record_handler=check_delivered, processor=processor, context=context
    )

"""DynamoDB streams -> OpenSearch, one bulk request per batch; failed records reported for retry."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from tradepipe import bootstrap
from tradepipe.adapters.dynamodb import from_stream_image
from tradepipe.app.index import TableChange, index_changes
from tradepipe.observability.redaction import RedactingFormatter
from tradepipe.settings import get_settings

logger = Logger(service="indexer", logger_formatter=RedactingFormatter())
metrics = Metrics()
tracer = Tracer()
copy_config_to_registered_loggers(source_logger=logger, include={"tradepipe"})


def _table_base_name(event_source_arn: str, stage: str) -> str:
    # arn:aws:dynamodb:REGION:ACCOUNT:table/tradepipe-STAGE-BASE/stream/...
    table = event_source_arn.split(":table/", 1)[1].split("/", 1)[0]
    return table.removeprefix(f"tradepipe-{stage}-")


def _image(record: dict[str, Any], name: str) -> dict[str, Any] | None:
    return from_stream_image(record[name]) if name in record else None


# clear_state: a scheduled run must not log the previous record's signal_id, ticker or strategy.
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    stage = get_settings().stage
    changes = [
        TableChange(
            table_base_name=_table_base_name(record.event_source_arn or "", stage),
            event_name=record.raw_event["eventName"],
            sequence_number=record.raw_event["dynamodb"]["SequenceNumber"],
            new_image=_image(record.raw_event["dynamodb"], "NewImage"),
            old_image=_image(record.raw_event["dynamodb"], "OldImage"),
        )
        for record in DynamoDBStreamEvent(event).records
    ]
    # Executions and fills copy their signal's stage times: one BatchGetItem on the signals table.
    failed = index_changes(changes, bootstrap.search_index(), signals=bootstrap.signal_store())
    metrics.add_metric(name="DocumentsIndexed", unit=MetricUnit.Count, value=len(changes) - len(failed))
    if failed:
        metrics.add_metric(name="DocumentsFailed", unit=MetricUnit.Count, value=len(failed))
    # Partial batch response: Lambda retries from the lowest failed sequence number.
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}

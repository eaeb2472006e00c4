"""Order-intents queue -> exactly one order at Alpaca -> orders and signals tables."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from tradepipe import bootstrap
from tradepipe.app.execute import ExecutorDeps, execute_intent
from tradepipe.app.reconcile import ReconcileDeps, reconcile
from tradepipe.brokers import AlpacaBrokerFactory
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Mode
from tradepipe.observability.redaction import RedactingFormatter

logger = Logger(service="executor", logger_formatter=RedactingFormatter())
metrics = Metrics()
tracer = Tracer()
copy_config_to_registered_loggers(source_logger=logger, include={"tradepipe"})
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
brokers = AlpacaBrokerFactory()


def record_handler(record: SQSRecord) -> None:
    intent = OrderIntent.model_validate_json(record.body)
    logger.append_keys(
        signal_id=intent.signal_id, client_order_id=intent.client_order_id, mode=intent.mode.value
    )
    deps = ExecutorDeps(
        signals=bootstrap.signal_store(),
        orders=bootstrap.order_store(),
        brokers=brokers,
        clock=bootstrap.clock(),
        risk_state=bootstrap.risk_state_store(),
    )
    result = execute_intent(intent, deps)
    name = "OrdersRejected" if result.rejected else "OrdersSubmitted"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def run_reconciler() -> dict[str, Any]:
    """Every minute (EventBridge schedule) and on demand: follow what the broker did after placement."""
    deps = ReconcileDeps(
        signals=bootstrap.signal_store(),
        orders=bootstrap.order_store(),
        fills=bootstrap.fill_store(),
        brokers=brokers,
        risk_state=bootstrap.risk_state_store(),
        events=bootstrap.event_publisher(),
        clock=bootstrap.clock(),
        snapshots=bootstrap.risk_state_store(),
    )
    summary: dict[str, Any] = {}
    for mode in Mode:
        report = reconcile(mode, deps)
        summary[mode.value] = dataclasses.asdict(report)
        for name, value in (
            ("OrdersReconciled", report.orders_updated),
            ("FillsRecorded", report.fills_recorded),
            ("AsyncRejections", report.signals_rejected),
            ("StopOuts", report.stop_outs),
            ("PositionDivergence", len(report.divergences)),
        ):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    return summary


# clear_state: a scheduled run must not log the previous record's signal_id, ticker or strategy.
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(
    event: dict[str, Any], context: LambdaContext
) -> PartialItemFailureResponse | dict[str, Any]:
    if event.get("source") == "aws.events":
        return run_reconciler()
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )

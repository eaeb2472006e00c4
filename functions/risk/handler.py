"""Signals queue -> risk decision -> order-intents queue. Rejections are successful records.

Also the scheduled entry point (EventBridge, every minute): at the open, release the entries queued while
the market was closed."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from tradepipe import bootstrap
from tradepipe.analytics.indicators import average_true_range
from tradepipe.app.assess import RiskDeps, assess_signal
from tradepipe.app.queued import release_queued_entries
from tradepipe.app.trading_state import halted_accounts
from tradepipe.brokers import AlpacaBrokerFactory
from tradepipe.contracts.messages import OrderIntent, SignalAccepted
from tradepipe.domain.model import Mode, Rejected
from tradepipe.observability.redaction import RedactingFormatter

logger = Logger(service="risk", logger_formatter=RedactingFormatter())
metrics = Metrics()
tracer = Tracer()
copy_config_to_registered_loggers(source_logger=logger, include={"tradepipe"})
# One failing ticker group stops only that group; the others go on.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
brokers = AlpacaBrokerFactory()


def _deps() -> RiskDeps:
    return RiskDeps(
        store=bootstrap.signal_store(),
        intents=bootstrap.intent_queue(),
        clock=bootstrap.clock(),
        config=bootstrap.risk_config(),
        brokers=brokers,
        risk_state=bootstrap.risk_state_store(),
        market_data=bootstrap.market_data(),
        events=bootstrap.event_publisher(),
        atr=average_true_range,
    )


def record_handler(record: SQSRecord) -> None:
    message = SignalAccepted.model_validate_json(record.body)
    logger.append_keys(
        signal_id=message.signal.signal_id,
        ticker=message.signal.ticker,
        strategy=message.signal.strategy,
        mode=message.signal.mode.value,
    )
    outcome = assess_signal(message, _deps())
    if isinstance(outcome, Rejected):
        metrics.add_metric(name="SignalsRejected", unit=MetricUnit.Count, value=1)
    elif isinstance(outcome, OrderIntent):
        metrics.add_metric(name="SignalsSized", unit=MetricUnit.Count, value=1)
    elif outcome is not None:
        metrics.add_metric(name="SignalsQueued", unit=MetricUnit.Count, value=1)


# clear_state: a scheduled run must not log the previous record's signal_id, ticker or strategy.
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(
    event: dict[str, Any], context: LambdaContext
) -> PartialItemFailureResponse | dict[str, Any]:
    if event.get("source") == "aws.events":  # the schedule: release queued entries once the market is open
        released = release_queued_entries(
            bootstrap.signal_store(), bootstrap.risk_state_store(), brokers, bootstrap.signal_queue()
        )
        metrics.add_metric(name="QueuedEntriesReleased", unit=MetricUnit.Count, value=released)
        # Sampled every minute so the TradingHalted alarm sees a halt whoever or whatever set it.
        halted = halted_accounts(bootstrap.risk_state_store(), tuple(mode.value for mode in Mode))
        metrics.add_metric(name="TradingHalted", unit=MetricUnit.Count, value=len(halted))
        return {"released": released, "halted": halted}
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )

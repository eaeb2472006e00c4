"""Signals queue -> risk decision -> order-intents queue. A rejection is a successful record.

Also the one-minute schedule (EventBridge): at the open, release the entries queued while the market was
closed, sample which accounts are HALTED for the TradingHalted alarm, and announce a silent pipeline."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from tradepipe.app.assess import assess_signal, outcome_metric
from tradepipe.app.minute_schedule import release_and_sample
from tradepipe.app.silence import watch_silence
from tradepipe.composition import release_deps, risk_deps, silence_deps
from tradepipe.contracts.messages import SignalAccepted
from tradepipe.observability.lambda_setup import lambda_tools

tools = lambda_tools("risk")
# One failing ticker group stops only that group; the others go on.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)


def record_handler(record: SQSRecord) -> None:
    message = SignalAccepted.model_validate_json(record.body)
    signal = message.signal
    tools.logger.append_keys(
        signal_id=signal.signal_id, ticker=signal.ticker, strategy=signal.strategy, mode=signal.mode.value
    )
    tools.count(outcome_metric(assess_signal(message, risk_deps())))


@tools.entry()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if event.get("source") == "aws.events":
        report = release_and_sample(release_deps())
        tools.count("QueuedEntriesReleased", report.released)
        tools.count("TradingHalted", len(report.halted))
        tools.count("PipelineSilent", int(watch_silence(silence_deps()) is not None))
        return dataclasses.asdict(report)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )

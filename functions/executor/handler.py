"""Order-intents queue -> exactly one order at Alpaca -> orders and signals tables; a message that waits for
the broker (NotYet) comes back in NOT_YET_RETRY_S (app/redelivery.py). Also the one-minute schedule
(EventBridge) and on demand: the reconciler follows what the broker did after placement."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from tradepipe.app.execute import execute_intent
from tradepipe.app.placement import NotYet
from tradepipe.app.reconcile import reconcile_accounts
from tradepipe.app.redelivery import WaitingGroups, with_redelivery
from tradepipe.composition import executor_deps, intent_redelivery, reconcile_deps
from tradepipe.contracts.messages import OrderIntent
from tradepipe.observability.lambda_setup import lambda_tools

tools = lambda_tools("executor")
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
NOT_YET_RETRY_S = 2
waiting = WaitingGroups()


def record_handler(record: SQSRecord) -> None:
    intent = OrderIntent.model_validate_json(record.body)
    tools.logger.append_keys(
        signal_id=intent.signal_id, client_order_id=intent.client_order_id, mode=intent.mode.value
    )
    try:
        result = execute_intent(intent, executor_deps())
    except NotYet:
        waiting.note(record.attributes.message_group_id)
        raise
    tools.count("OrdersRejected" if result.rejected else "OrdersSubmitted")


def run_reconciler() -> dict[str, Any]:
    reports = reconcile_accounts(reconcile_deps())
    for report in reports.values():
        for name, value in report.metrics().items():
            tools.count(name, value)
    return {mode.value: dataclasses.asdict(report) for mode, report in reports.items()}


@tools.entry()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    if event.get("source") == "aws.events":
        return run_reconciler()
    return with_redelivery(
        event,
        waiting,
        lambda: process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        ),
        lambda receipts: intent_redelivery().redeliver_in(receipts, NOT_YET_RETRY_S) if receipts else None,
    )

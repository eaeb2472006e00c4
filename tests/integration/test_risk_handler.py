"""The risk Lambda handler: a real SQS FIFO message in, a SIZED signal and an order intent out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from tests.integration.conftest import Aws
from tests.integration.events import sqs_event
from tests.support.lambda_context import LocalLambdaContext
from tests.support.metrics_sink import MetricsSink
from tests.unit.builders import signal
from tradepipe import composition
from tradepipe.contracts.items import SignalItem, StatusEntry
from tradepipe.contracts.messages import SignalAccepted
from tradepipe.domain.model import Side, SignalStatus

NOW = datetime(2024, 1, 2, 15, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("empty_queues")


@pytest.fixture(scope="module")
def handler(aws: Aws, paper_broker: Any) -> Any:
    """The risk stage reads the account, the clock, the asset and daily bars from the paper broker."""
    from functions.risk.handler import lambda_handler

    return lambda_handler


def _deliver(aws: Aws, message: SignalAccepted) -> dict[str, Any]:
    s = message.signal
    composition.backend().signal_store.record_new(
        SignalItem(
            signal_id=s.signal_id,
            status=SignalStatus.ENQUEUED,
            received_at=NOW,
            updated_at=NOW,
            expires_at=0,
            history=[StatusEntry(status=SignalStatus.ENQUEUED, at=NOW)],
            ticker=s.ticker,
        )
    )
    sqs: Any = aws.client("sqs")
    queue = aws.provisioned.queues["signals"]
    sqs.send_message(
        QueueUrl=queue.url,
        MessageBody=message.model_dump_json(),
        MessageGroupId="paper#AAPL",
        MessageDeduplicationId=s.signal_id,
    )
    return sqs_event(_take(sqs, queue.url), queue.arn)


def _take(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Receive and delete at once, as the event source would after a successful invocation."""
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
    for m in got["Messages"]:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return list(got["Messages"])


def _intents(aws: Aws) -> list[dict[str, Any]]:
    sqs: Any = aws.client("sqs")
    url = aws.provisioned.queues["order-intents"].url
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for m in got:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in got]


def test_risk_when_valid_signal_then_sized_and_intent_enqueued(handler: Any, aws: Aws) -> None:
    # AAPL closed at 430.47 on the broker's date, daily ATR(14) 11.9: a 10.47 stop on a daily alert is within
    # 0.5-5 ATR (on a 5-minute alert it would be measured on 5-minute bars: tests/unit/test_timeframe_atr.py).
    aapl = signal(entry="430.47", stop="420.00", target="450.00").model_copy(
        update={"signal_id": "r1" * 16, "timeframe": "D"}
    )

    response = handler(
        _deliver(aws, SignalAccepted(signal=aapl, received_at=NOW)), LocalLambdaContext("risk", 30)
    )

    assert response == {"batchItemFailures": []}
    item = composition.backend().signal_store.get("r1" * 16)
    assert item is not None
    assert item.status is SignalStatus.SIZED
    assert item.qty == 9  # floor(100 / 10.47)
    intents = _intents(aws)
    assert [(i["client_order_id"], i["qty"]) for i in intents] == [(f"tp-{'r1' * 16}-open", "9")]


def test_risk_when_short_form_then_entry_from_latest_close_and_stop_from_atr(handler: Any, aws: Aws) -> None:
    short = signal(entry="1", stop=None, target=None).model_copy(
        update={"signal_id": "r3" * 16, "entry_price": None, "strategy": "sma_cross", "timeframe": "D"}
    )

    handler(_deliver(aws, SignalAccepted(signal=short, received_at=NOW)), LocalLambdaContext("risk", 30))

    item = composition.backend().signal_store.get("r3" * 16)
    assert item is not None
    assert item.status is SignalStatus.SIZED
    assert item.stop_loss is not None
    stop = item.stop_loss
    assert Decimal("400") < stop < Decimal("410")  # 430.47 - 2 x ATR(14) of the real bars
    assert item.qty == (Decimal(100) / (Decimal("430.47") - stop)).to_integral_value(rounding=ROUND_FLOOR)
    assert [i["stop_loss"] for i in _intents(aws)] == [str(stop)]


def test_risk_when_stop_wrong_side_then_rejected_recorded_and_batch_succeeds(handler: Any, aws: Aws) -> None:
    # Its own strategy: one entry per bar per ticker and strategy would otherwise refuse it first.
    bad = signal(side=Side.SELL, stop="140").model_copy(
        update={"signal_id": "r2" * 16, "strategy": "wrong_side"}
    )

    response = handler(
        _deliver(aws, SignalAccepted(signal=bad, received_at=NOW)), LocalLambdaContext("risk", 30)
    )

    assert response == {"batchItemFailures": []}
    item = composition.backend().signal_store.get("r2" * 16)
    assert item is not None
    assert item.status is SignalStatus.REJECTED
    assert item.reject_reason == "STOP_WRONG_SIDE"
    assert _intents(aws) == []


def test_risk_when_message_is_not_a_contract_then_batch_fails_for_retry_and_dlq(
    handler: Any, aws: Aws
) -> None:
    sqs: Any = aws.client("sqs")
    queue = aws.provisioned.queues["signals"]
    sqs.send_message(
        QueueUrl=queue.url,
        MessageBody='{"schema_version": 99}',
        MessageGroupId="g",
        MessageDeduplicationId="garbage",
    )
    messages = _take(sqs, queue.url)

    # A whole batch failing raises, so Lambda retries it and, after maxReceiveCount, moves it to the DLQ.
    with pytest.raises(BatchProcessingError, match="All records failed"):
        handler(sqs_event(messages, queue.arn), LocalLambdaContext("risk", 30))


def test_schedule_when_an_account_is_halted_then_trading_halted_metric_counts_it(
    handler: Any, aws: Aws
) -> None:
    store = aws.risk_state()
    event = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    sink = MetricsSink()
    invoke = sink.wrap(handler)
    try:
        store.set_trading_state("paper", "HALTED", "manual", "test halt", NOW)
        assert invoke(event, LocalLambdaContext("risk", 30))["halted"] == ["paper"]
        assert sink.counts["TradingHalted"] == 1
        store.set_trading_state("paper", "ACTIVE", "manual", "test resume", NOW)
        assert invoke(event, LocalLambdaContext("risk", 30))["halted"] == []
        assert sink.counts["TradingHalted"] == 1  # the second sample added 0
    finally:
        store.set_trading_state("paper", "ACTIVE", "manual", "test resume", NOW)

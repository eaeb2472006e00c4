"""The executor against the paper broker (real alpaca-py), the indexer against osmem (real opensearch-py)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.requests import GetOrdersRequest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from opensearchpy import OpenSearch

from tests.integration.conftest import Aws
from tests.integration.events import sqs_event
from tests.support.intents import open_intent
from tests.support.lambda_context import LocalLambdaContext
from tradepipe import composition
from tradepipe.contracts.items import SignalItem, StatusEntry, StatusUpdate
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Mode, Side, SignalStatus

NOW = datetime(2024, 1, 2, 15, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("empty_queues")


@pytest.fixture(scope="module")
def executor(paper_broker: Any) -> Any:
    from functions.executor.handler import lambda_handler

    return lambda_handler


def _intent(
    signal_id: str, symbol: str = "IBM", side: Side = Side.BUY, mode: Mode = Mode.PAPER
) -> OrderIntent:
    composition.backend().signal_store.record_new(
        SignalItem(
            signal_id=signal_id,
            status=SignalStatus.SIZED,
            received_at=NOW,
            updated_at=NOW,
            expires_at=0,
            history=[StatusEntry(status=SignalStatus.SIZED, at=NOW)],
            ticker=symbol,
        )
    )
    return open_intent(
        signal_id,
        symbol,
        side=side,
        mode=mode,
        qty=10,
        take_profit=Decimal("210.00"),
        stop_loss=Decimal("198.00"),
    )


def _event(aws: Aws, intent: OrderIntent) -> dict[str, Any]:
    message = {
        "MessageId": intent.intent_id,
        "ReceiptHandle": "r",
        "Body": intent.model_dump_json(),
        "Attributes": {"MessageGroupId": f"{intent.mode}#{intent.symbol}"},
    }
    return sqs_event([message], aws.provisioned.queues["order-intents"].arn)


def _broker_orders(paper_broker: Any, coid: str) -> list[Any]:
    client = TradingClient(
        paper_broker.key_id, paper_broker.secret_key, paper=True, url_override=paper_broker.url
    )
    orders = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, limit=500, nested=False))
    return [o for o in orders if getattr(o, "client_order_id", None) == coid]


def test_executor_when_intent_then_one_bracket_order_submitted_then_filled(
    executor: Any, aws: Aws, paper_broker: Any
) -> None:
    intent = _intent("e1" * 16)

    assert executor(_event(aws, intent), LocalLambdaContext("executor", 30)) == {"batchItemFailures": []}

    orders = _broker_orders(paper_broker, intent.client_order_id)
    assert len(orders) == 1
    assert str(orders[0].order_class.value) == "bracket"
    item = composition.backend().signal_store.get(intent.signal_id)
    assert item is not None
    # Alpaca answers a market order pending_new and fills it later: SUBMITTED on the answer, FILLED once the
    # executor's one read after its fill wait sees the fill.
    assert [e.status for e in item.history] == [
        SignalStatus.SIZED,
        SignalStatus.SUBMITTED,
        SignalStatus.FILLED,
    ]
    assert "pending_new" in (item.history[1].detail or "")
    assert item.broker_order_id == str(orders[0].id)
    recorded = composition.backend().order_store.get(intent.client_order_id)
    assert recorded is not None
    assert recorded.status == "filled"
    assert recorded.filled_qty == 10


def test_executor_when_same_intent_delivered_twice_then_still_one_order(
    executor: Any, aws: Aws, paper_broker: Any
) -> None:
    intent = _intent("e2" * 16, symbol="MSFT", side=Side.BUY)
    intent = intent.model_copy(update={"take_profit": Decimal("29.00"), "stop_loss": Decimal("27.00")})

    executor(_event(aws, intent), LocalLambdaContext("executor", 30))
    executor(_event(aws, intent), LocalLambdaContext("executor", 30))

    assert len(_broker_orders(paper_broker, intent.client_order_id)) == 1


def test_executor_when_live_and_not_enabled_then_rejected_and_nothing_at_broker(
    executor: Any, aws: Aws, paper_broker: Any
) -> None:
    intent = _intent("e3" * 16, mode=Mode.LIVE)

    executor(_event(aws, intent), LocalLambdaContext("executor", 30))

    assert _broker_orders(paper_broker, intent.client_order_id) == []
    item = composition.backend().signal_store.get(intent.signal_id)
    assert item is not None
    assert item.reject_reason == "LIVE_TRADING_DISABLED"


def test_indexer_when_stream_records_then_documents_keyed_by_record_key(aws: Aws, search_url: str) -> None:
    from functions.indexer.handler import lambda_handler

    store = composition.backend().signal_store
    store.record_new(
        SignalItem(
            signal_id="i1" * 16,
            status=SignalStatus.RECEIVED,
            received_at=NOW,
            updated_at=NOW,
            expires_at=0,
            history=[StatusEntry(status=SignalStatus.RECEIVED, at=NOW)],
            ticker="AAPL",
        )
    )
    store.advance("i1" * 16, StatusUpdate.rejected(NOW, "STOP_WRONG_SIDE", "stop above entry"))
    streams: Any = aws.client("dynamodbstreams")
    arn = aws.provisioned.stream_arns["signals"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = [
        r
        for r in streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"]
        if r["dynamodb"]["Keys"]["signal_id"]["S"] == "i1" * 16
    ]
    event = {
        "Records": [
            {
                **r,
                "eventSourceARN": arn,
                "dynamodb": {k: v for k, v in r["dynamodb"].items() if k != "ApproximateCreationDateTime"},
            }
            for r in records
        ]
    }

    first = lambda_handler(event, LocalLambdaContext("indexer", 60))
    replay = lambda_handler(event, LocalLambdaContext("indexer", 60))

    assert first == replay == {"batchItemFailures": []}
    client = OpenSearch(hosts=[search_url])
    client.indices.refresh(index="trading-signals")
    hits = client.search(index="trading-signals", body={"query": {"term": {"signal_id": "i1" * 16}}})["hits"]
    assert hits["total"]["value"] == 1
    assert hits["hits"][0]["_source"]["status"] == "REJECTED"
    assert hits["hits"][0]["_source"]["reject_reason"] == "STOP_WRONG_SIDE"


def test_executor_when_the_ticker_waits_for_the_broker_then_its_message_comes_back_in_seconds(
    executor: Any, aws: Aws, paper_broker: Any
) -> None:
    sqs: Any = aws.client("sqs")
    queue = aws.provisioned.queues["order-intents"]
    intent = _intent("e4" * 16, symbol="GOOG")
    group = f"{intent.mode}#{intent.symbol}"
    sqs.send_message(
        QueueUrl=queue.url,
        MessageBody=intent.model_dump_json(),
        MessageGroupId=group,
        MessageDeduplicationId="e4-not-yet",
    )
    # Received as Lambda's poller would, invisible for a minute (the deployed queue: 360 s).
    (received,) = sqs.receive_message(QueueUrl=queue.url, AttributeNames=["All"], VisibilityTimeout=60)[
        "Messages"
    ]
    risk = aws.risk_state()
    # The reconciler is repairing GOOG: the executor must wait (NotYet), not work beside it.
    assert risk.acquire_lease("paper", "GOOG", "reconciler", datetime.now(UTC), 30)
    try:
        # Its only record failed: the invocation fails as a whole (Powertools); the record returns.
        with pytest.raises(BatchProcessingError, match="All records failed"):
            executor({"Records": [_record(received, queue.arn)]}, _context())
    finally:
        risk.release_lease("paper", "GOOG", "reconciler")

    # The executor asked for it back in 2 s.
    again = sqs.receive_message(QueueUrl=queue.url, WaitTimeSeconds=5).get("Messages", [])
    assert [m["MessageId"] for m in again] == [received["MessageId"]]
    sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=again[0]["ReceiptHandle"])


def _record(message: dict[str, Any], arn: str) -> dict[str, Any]:
    (record,) = sqs_event([message], arn)["Records"]
    return dict(record)


def _context() -> LocalLambdaContext:
    return LocalLambdaContext("executor", 30)

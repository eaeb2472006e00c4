"""`POST /flatten/{account}` on a deployed stage: the API function (the real handler, real-shaped API Gateway
events) against moto. The flatten is recorded as a signal and handed to the executor as one intent of kind
`flatten` on the intents FIFO queue, in the ticker's group; a bad ticker or account is refused before
anything is recorded or sent. Who may call it is API Gateway's (AWS_IAM, as the kill switch:
tests/infra/test_stack.py); what the executor does with it is tests/integration/test_strategy_lots.py's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import Aws
from tests.integration.events import rest_event
from tests.support.lambda_context import LocalLambdaContext
from tradepipe import composition
from tradepipe.domain.model import SignalStatus

OPERATOR_ARN = "arn:aws:sts::123456789012:assumed-role/tradepipe-operator/alice"


@pytest.fixture(scope="module")
def handler(aws: Aws) -> Any:
    from functions.api.handler import lambda_handler

    return lambda_handler


def _flatten(handler: Any, body: object, account: str = "paper") -> tuple[int, dict[str, Any]]:
    text = body if isinstance(body, str) else json.dumps(body)
    event = rest_event(
        text,
        path=f"/flatten/{account}",
        resource="/flatten/{account}",
        source_ip="10.0.0.7",
        path_parameters={"account": account},
    )
    event["requestContext"]["identity"]["userArn"] = OPERATOR_ARN  # what API Gateway sets for a SigV4 caller
    response = handler(event, LocalLambdaContext("webhook", 10))
    return response["statusCode"], json.loads(response["body"])


def _drain(aws: Aws, queue: str) -> list[dict[str, Any]]:
    sqs: Any = aws.client("sqs")
    url = aws.provisioned.queues[queue].url
    got: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    ).get("Messages", []):
        got.extend(batch)
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return got


def test_flatten_when_a_ticker_is_posted_then_202_a_recorded_signal_and_one_intent_in_its_group(
    handler: Any, empty_queues: Aws
) -> None:
    status, body = _flatten(handler, {"ticker": "msft", "by": "ops"})

    assert status == 202
    assert (body["account"], body["ticker"], body["status"]) == ("paper", "MSFT", "accepted")
    signal_id = body["signal_id"]
    recorded = composition.backend().signal_store.get(signal_id)
    assert recorded is not None
    assert (recorded.status, recorded.ticker, recorded.strategy) == (SignalStatus.SIZED, "MSFT", "(flatten)")
    assert recorded.history[-1].detail == "flatten MSFT by ops"
    (message,) = _drain(empty_queues, "order-intents")
    assert message["Attributes"]["MessageGroupId"] == "paper#MSFT"  # after the ticker's other intents
    assert message["Attributes"]["MessageDeduplicationId"] == f"{signal_id}-flatten"
    intent = json.loads(message["Body"])
    assert (intent["kind"], intent["symbol"], intent["mode"], intent["signal_id"]) == (
        "flatten",
        "MSFT",
        "paper",
        signal_id,
    )
    assert intent["close_client_order_id"] == recorded.client_order_id
    assert _drain(empty_queues, "signals") == []  # not an alert: risk never sees it


def test_flatten_when_no_by_then_the_trail_names_the_signed_caller(handler: Any, empty_queues: Aws) -> None:
    status, body = _flatten(handler, {"ticker": "BRK.B"})

    assert status == 202
    recorded = composition.backend().signal_store.get(body["signal_id"])
    assert recorded is not None
    assert recorded.history[-1].detail == f"flatten BRK.B by {OPERATOR_ARN}"
    assert len(_drain(empty_queues, "order-intents")) == 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"ticker": "<script>alert(1)</script>"}, id="markup"),
        pytest.param({"ticker": "BRK B"}, id="space"),
        pytest.param({"ticker": "ıbm"}, id="non-ascii-folds-to-IBM"),
        pytest.param({"ticker": "1AAPL"}, id="leading-digit"),
        pytest.param({"ticker": "ABCDEFGHIJK"}, id="eleven-characters"),
        pytest.param({"ticker": ""}, id="empty"),
        pytest.param({}, id="missing"),
        pytest.param({"ticker": "MSFT", "qty": 5}, id="unknown-field"),
        pytest.param("not json", id="not-json"),
    ],
)
def test_flatten_when_the_ticker_or_body_is_bad_then_422_and_nothing_sent(
    handler: Any, empty_queues: Aws, body: object
) -> None:
    status, answer = _flatten(handler, body)

    assert status == 422
    assert answer["status"] == "rejected"
    assert answer["errors"]
    assert "<script>" not in json.dumps(answer)
    assert _drain(empty_queues, "order-intents") == []


def test_flatten_when_the_account_is_unknown_then_404_and_nothing_sent(
    handler: Any, empty_queues: Aws
) -> None:
    status, answer = _flatten(handler, {"ticker": "MSFT"}, account="demo")

    assert status == 404
    assert answer["message"].startswith("no account 'demo'")  # the route's answer, not "no such route"
    assert _drain(empty_queues, "order-intents") == []


def test_flatten_when_get_then_no_such_route(handler: Any, empty_queues: Aws) -> None:
    event = rest_event("", path="/flatten/paper", method="GET", resource="/flatten/{account}")
    event["body"] = None

    assert handler(event, LocalLambdaContext("webhook", 10))["statusCode"] in (404, 405)
    assert _drain(empty_queues, "order-intents") == []

"""The webhook Lambda handler with real-shaped API Gateway events against moto."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from tests.integration.conftest import PASSPHRASE, Aws
from tests.integration.events import rest_event
from tests.support.lambda_context import LocalLambdaContext
from tests.unit.builders import alert_body, fresh_timestamp

pytestmark = pytest.mark.usefixtures("empty_queues")


@pytest.fixture(scope="module")
def handler(aws: Aws) -> Any:
    from functions.api.handler import lambda_handler

    return lambda_handler


def _post(handler: Any, body: str | bytes, **kw: Any) -> tuple[int, dict[str, Any]]:
    response = handler(rest_event(body, **kw), LocalLambdaContext("webhook", 10))
    return response["statusCode"], json.loads(response["body"])


def _queued(aws: Aws) -> list[dict[str, Any]]:
    sqs: Any = aws.client("sqs")
    url = aws.provisioned.queues["signals"].url
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
    for m in got.get("Messages", []):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return [
        json.loads(m["Body"]) | {"_group": m["Attributes"]["MessageGroupId"]} for m in got.get("Messages", [])
    ]


def _item(aws: Aws, signal_id: str) -> dict[str, Any] | None:
    ddb: Any = aws.client("dynamodb")
    return ddb.get_item(TableName="tradepipe-itest-signals", Key={"signal_id": {"S": signal_id}}).get("Item")


def test_webhook_when_valid_text_plain_alert_then_202_recorded_and_enqueued(handler: Any, aws: Aws) -> None:
    body = json.dumps(alert_body(passphrase=PASSPHRASE, timestamp=fresh_timestamp(1)))

    status, answer = _post(handler, body, content_type="text/plain; charset=utf-8")

    assert status == 202
    assert answer["status"] == "accepted"
    item = _item(aws, answer["signal_id"])
    assert item is not None
    assert item["status"]["S"] == "ENQUEUED"
    assert PASSPHRASE not in json.dumps(item)
    queued = _queued(aws)
    assert [q["signal"]["signal_id"] for q in queued] == [answer["signal_id"]]
    assert queued[0]["_group"] == "paper#AAPL"


def test_webhook_when_repeated_then_200_duplicate_same_id_one_message(handler: Any, aws: Aws) -> None:
    body = json.dumps(alert_body(passphrase=PASSPHRASE, timestamp=fresh_timestamp(2)))
    _, first = _post(handler, body)
    _queued(aws)

    status, second = _post(handler, body)

    assert (status, second) == (200, {"signal_id": first["signal_id"], "status": "duplicate"})
    assert _queued(aws) == []


def test_webhook_when_wrong_passphrase_then_401_nothing_recorded(handler: Any, aws: Aws) -> None:
    status, answer = _post(handler, json.dumps(alert_body(passphrase="nope", timestamp=fresh_timestamp(3))))

    assert status == 401
    assert "signal_id" not in answer
    assert _queued(aws) == []


def test_webhook_when_invalid_then_422_field_errors_recorded_rejected(handler: Any, aws: Aws) -> None:
    body = json.dumps(alert_body(passphrase=PASSPHRASE, riskAmount=None, timestamp=fresh_timestamp(4)))

    status, answer = _post(handler, body)

    assert status == 422
    assert answer["errors"] == [{"field": "riskAmount", "message": "Field required"}]
    item = _item(aws, answer["signal_id"])
    assert item is not None
    assert item["status"]["S"] == "REJECTED"
    assert item["reject_reason"]["S"] == "INVALID_ALERT"
    assert _queued(aws) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("x" * 20_000, 413, id="too-large"),
        pytest.param("BUY AAPL", 400, id="not-json"),
        pytest.param(b"\xff\xfe\x00", 400, id="binary-base64"),
        pytest.param("", 400, id="empty"),
    ],
)
def test_webhook_when_body_unusable_then_4xx_never_500(
    handler: Any, aws: Aws, body: str | bytes, expected: int
) -> None:
    status, answer = _post(handler, body)

    assert status == expected
    assert "Traceback" not in json.dumps(answer)


def test_webhook_when_route_unknown_then_404(handler: Any) -> None:
    status, _ = _post(handler, "{}", path="/other", resource="/other")

    assert status == 404


def test_webhook_logs_never_carry_a_passphrase_from_body_or_path(handler: Any, aws: Aws) -> None:
    from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

    from functions.api.handler import tools

    logger = tools.logger
    # What the function writes to stdout (CloudWatch Logs on AWS), at the most talkative level.
    stream = io.StringIO()
    previous_stream = logger.registered_handler.setStream(stream)
    previous_level = logger.log_level
    logger.setLevel("DEBUG")
    # The package's loggers write through the function's handler at its level, as in a webhook container
    # of its own (in this process other functions' modules, imported later, took them over, and the
    # backtest command quiets `tradepipe.app`): the intake use case logs the refusals.
    copy_config_to_registered_loggers(source_logger=logger, include={"tradepipe"})
    intake_log = logging.getLogger("tradepipe.app.intake")
    previous_intake_level = intake_log.level
    intake_log.setLevel(logging.DEBUG)
    wrong = "Wr0ng-Passphrase-5ecret"
    body = alert_body(passphrase=wrong, timestamp=fresh_timestamp())
    status_body, _ = _post(handler, json.dumps(body))
    status_path, _ = _post(
        handler,
        json.dumps({k: v for k, v in body.items() if k != "passphrase"}),
        path=f"/webhook/{wrong}",
        resource="/webhook/{token}",
        path_parameters={"token": wrong},
    )
    logger.setLevel(previous_level)
    logger.registered_handler.setStream(previous_stream)
    intake_log.setLevel(previous_intake_level)
    copy_config_to_registered_loggers(source_logger=logger, include={"tradepipe"})
    out = stream.getvalue()

    assert (status_body, status_path) == (401, 401)
    assert out.count("alert refused") == 2  # the refusals are logged...
    assert wrong not in out  # ...without the secret

"""The real webhook handler against moto: every corpus body gets its expected answer (never a 5xx), and
arbitrary bodies and headers never get a 5xx nor enqueue anything invalid."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.alert_corpus import answer_names, cases
from tests.integration.conftest import PASSPHRASE, Aws
from tests.integration.events import rest_event
from tests.support.lambda_context import LocalLambdaContext
from tests.unit.builders import alert_body, fresh_timestamp
from tradepipe.contracts.messages import SignalAccepted

pytestmark = pytest.mark.usefixtures("empty_queues")


@pytest.fixture(scope="module")
def handler(aws: Aws) -> Any:
    from functions.api.handler import lambda_handler

    return lambda_handler


def _call(
    handler: Any, body: bytes, content_type: str = "text/plain", token: str | None = None
) -> tuple[int, Any]:
    path = "/webhook" if token is None else f"/webhook/{token}"
    event = rest_event(
        body,
        path=path,
        resource="/webhook" if token is None else "/webhook/{token}",
        content_type=content_type,
        path_parameters=None if token is None else {"token": token},
    )
    response = handler(event, LocalLambdaContext("webhook", 10))
    return response["statusCode"], json.loads(response["body"])


def _drain(aws: Aws) -> list[SignalAccepted]:
    sqs: Any = aws.client("sqs")
    url = aws.provisioned.queues["signals"].url
    found: list[SignalAccepted] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in messages:
            found.append(SignalAccepted.model_validate_json(m["Body"]))  # every message is a valid contract
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return found


def test_every_corpus_body_gets_its_expected_answer_and_twins_share_a_signal(handler: Any, aws: Aws) -> None:
    timenow = fresh_timestamp()
    ids: dict[str, str] = {}
    statuses: dict[int, int] = {}
    for case in cases():
        status, answer = _call(handler, case.body(PASSPHRASE, timenow), case.content_type)
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, (case.file, answer)
        if case.expect == 202:
            assert status in (200, 202), (case.file, answer)  # a twin sent earlier makes it a duplicate
            ids[case.file] = answer["signal_id"]
            if case.twin:
                assert answer["signal_id"] == ids[case.twin], case.file
        else:
            assert status == case.expect, (case.file, answer)
        if case.names:
            assert answer_names(answer, case.names), (case.file, answer)
    enqueued = {m.signal.signal_id for m in _drain(aws)}
    assert enqueued == set(ids.values())
    assert statuses.get(422, 0) > 50


_FIELDS = [
    "passphrase",
    "secret",
    "signal",
    "ticker",
    "tradingMode",
    "riskAmount",
    "entryPrice",
    "stopLoss",
    "takeProfit",
    "timestamp",
    "strategy",
    "action",
    "sentiment",
    "quantity",
    "quantityType",
    "orderType",
    "limitPrice",
    "marketPosition",
    "positionSize",
    "contracts",
    "price",
    "time",
]
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(
        ["BUY", "sell", "exit", "{{close}}", "NaN", "AAPL", "2024-01-01T00:00:00Z", PASSPHRASE]
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_objects = st.dictionaries(st.sampled_from(_FIELDS) | st.text(max_size=10), _json_values, max_size=8)


@st.composite
def _mutated_alerts(draw: st.DrawFn) -> dict[str, Any]:
    body = alert_body(
        passphrase=PASSPHRASE, timestamp=fresh_timestamp(), strategy=f"fuzz{draw(st.integers(0, 10**6))}"
    )
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(_FIELDS))
        if draw(st.booleans()):
            body.pop(key, None)
        else:
            body[key] = draw(_json_values)
    return body


_bodies = (
    st.binary(max_size=512)
    | st.text(max_size=300).map(str.encode)
    | _objects.map(lambda o: json.dumps(o).encode())
    | _mutated_alerts().map(lambda o: json.dumps(o).encode())
    | _mutated_alerts().map(lambda o: " ".join(f"{k}={v}" for k, v in o.items()).encode())
)
_content_types = st.sampled_from(
    [
        "application/json",
        "text/plain",
        "text/plain; charset=utf-8",
        "",
        "text/html",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
    ]
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_bodies, content_type=_content_types, token=st.none() | st.just(PASSPHRASE) | st.text(max_size=8))
def test_arbitrary_body_and_headers_never_5xx_and_only_accepted_alerts_enqueued(
    handler: Any, aws: Aws, body: bytes, content_type: str, token: str | None
) -> None:
    if token is not None and (not token or "/" in token):
        token = None  # not a single path segment: API Gateway would route it elsewhere

    status, answer = _call(handler, body, content_type, token)

    assert 200 <= status < 500, answer
    enqueued = _drain(aws)
    if status == 202:
        assert [m.signal.signal_id for m in enqueued] == [answer["signal_id"]]
    else:
        assert enqueued == []

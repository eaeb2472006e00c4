"""The IAM check's two tables, without a template: boto3 call -> (action, resource), and how a policy's
wildcards, NotAction / NotResource and Deny are evaluated (infra/checks/iam.py)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.checks.aws_calls import AwsCall
from infra.checks.iam import Ref, Unmapped, actions_of, allows, search_needs

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/tradepipe-dev-signals"


def _call(service: str, operation: str, **params: Any) -> AwsCall:
    return AwsCall("fn", service, operation, params)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        pytest.param(
            _call("dynamodb", "PutItem", TableName="t", Item={}),
            [("dynamodb:PutItem", Ref("table", "t"))],
            id="operation-name",
        ),
        pytest.param(
            _call("dynamodb", "Query", TableName="t", IndexName="by-day"),
            [("dynamodb:Query", Ref("table", "t", "index/by-day"))],
            id="query-on-an-index",
        ),
        pytest.param(
            _call(
                "dynamodb",
                "TransactWriteItems",
                TransactItems=[
                    {"Update": {"TableName": "a"}},
                    {"Put": {"TableName": "b"}},
                    {"ConditionCheck": {"TableName": "a"}},
                ],
            ),
            [
                ("dynamodb:UpdateItem", Ref("table", "a")),
                ("dynamodb:PutItem", Ref("table", "b")),
                ("dynamodb:ConditionCheckItem", Ref("table", "a")),
            ],
            id="transaction-per-item",
        ),
        pytest.param(
            _call("dynamodb", "BatchGetItem", RequestItems={"a": {}, "b": {}}),
            [("dynamodb:BatchGetItem", Ref("table", "a")), ("dynamodb:BatchGetItem", Ref("table", "b"))],
            id="batch-per-table",
        ),
        pytest.param(
            _call("dynamodbstreams", "GetRecords", StreamArn=f"{TABLE}/stream/2024-01-01T00:00:00.000"),
            [("dynamodb:GetRecords", Ref("stream", "tradepipe-dev-signals"))],
            id="streams-under-the-dynamodb-prefix",
        ),
        pytest.param(
            _call(
                "sqs", "SendMessageBatch", QueueUrl="http://127.0.0.1:5000/123456789012/q.fifo", Entries=[]
            ),
            [("sqs:SendMessage", Ref("queue", "q.fifo"))],
            id="sqs-batch-is-the-single-action",
        ),
        pytest.param(
            _call(
                "secretsmanager",
                "GetSecretValue",
                SecretId="arn:aws:secretsmanager:us-east-1:123456789012:secret:tradepipe/dev/webhook-Ab12Cd",
            ),
            [("secretsmanager:GetSecretValue", Ref("secret", "tradepipe/dev/webhook"))],
            id="secret-arn-without-its-suffix",
        ),
        pytest.param(
            _call("events", "PutEvents", Entries=[{"EventBusName": "bus"}, {"Detail": "{}"}]),
            [
                ("events:PutEvents", Ref("event-bus", "bus")),
                ("events:PutEvents", Ref("event-bus", "default")),
            ],
            id="put-events-per-bus-default-when-absent",
        ),
    ],
)
def test_a_boto3_call_maps_to_the_actions_and_resources_iam_checks(
    call: AwsCall, expected: list[tuple[str, Ref]]
) -> None:
    assert actions_of(call) == expected


def test_a_call_without_a_row_is_an_error_not_a_pass() -> None:
    with pytest.raises(Unmapped, match="cloudwatch:PutMetricData"):
        actions_of(_call("cloudwatch", "PutMetricData", Namespace="TradePipe", MetricData=[]))


def test_a_signed_search_request_is_an_http_verb_on_the_domain_path() -> None:
    [need] = search_needs("fn", "arn:aws:es:us-east-1:1:domain/d", [("POST", "/_bulk")])

    assert (need.action, need.resource) == ("es:ESHttpPost", "arn:aws:es:us-east-1:1:domain/d/_bulk")


def _allow(action: Any, resource: Any, effect: str = "Allow", **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource, **extra}


@pytest.mark.parametrize(
    ("statements", "action", "resource", "allowed"),
    [
        pytest.param([_allow("dynamodb:PutItem", TABLE)], "dynamodb:PutItem", TABLE, True, id="exact"),
        pytest.param(
            [_allow("dynamodb:PutItem", TABLE)], "dynamodb:GetItem", TABLE, False, id="other-action"
        ),
        pytest.param(
            [_allow("dynamodb:PutItem", TABLE)], "dynamodb:PutItem", TABLE + "2", False, id="other-table"
        ),
        pytest.param(
            [_allow("DynamoDB:putitem", TABLE)], "dynamodb:PutItem", TABLE, True, id="action-any-case"
        ),
        pytest.param(
            [_allow("dynamodb:PutItem", TABLE.upper())],
            "dynamodb:PutItem",
            TABLE,
            False,
            id="resource-exact-case",
        ),
        pytest.param([_allow("dynamodb:*", "*")], "dynamodb:PutItem", TABLE, True, id="star-everything"),
        pytest.param(
            [_allow("dynamodb:Get?tem", TABLE)], "dynamodb:GetItem", TABLE, True, id="question-mark"
        ),
        pytest.param(
            [_allow("dynamodb:Query", f"{TABLE}/index/*")],
            "dynamodb:Query",
            f"{TABLE}/index/by-received-day",
            True,
            id="star-across-slashes",
        ),
        pytest.param(
            [_allow("dynamodb:Query", f"{TABLE}/index/*")],
            "dynamodb:Query",
            TABLE,
            False,
            id="index-grant-not-table",
        ),
        pytest.param(
            [_allow("dynamodb:GetItem", "arn:aws:dynamodb:*:123456789012:table/tradepipe-dev-signals")],
            "dynamodb:GetItem",
            TABLE,
            True,
            id="star-in-the-region-segment",
        ),
        pytest.param(
            [_allow("dynamodb:GetItem", "arn:aws:dynamodb:us-*-1:123456789012:table/tradepipe-dev-signals")],
            "dynamodb:GetItem",
            "arn:aws:dynamodb:us-east:x-1:123456789012:table/tradepipe-dev-signals",
            False,
            id="star-inside-a-segment-stops-at-colons",
        ),
        pytest.param(
            [_allow("logs:PutLogEvents", "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f:*")],
            "logs:PutLogEvents",
            "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f:log-stream:2024/01/01/x",
            True,
            id="trailing-star-runs-past-colons",
        ),
        pytest.param(
            [_allow("dynamodb:*", "*"), _allow("dynamodb:DeleteItem", TABLE, "Deny")],
            "dynamodb:DeleteItem",
            TABLE,
            False,
            id="deny-wins",
        ),
        pytest.param(
            [{"Effect": "Allow", "NotAction": "dynamodb:DeleteItem", "Resource": "*"}],
            "dynamodb:PutItem",
            TABLE,
            True,
            id="not-action-allows-the-rest",
        ),
        pytest.param(
            [{"Effect": "Allow", "NotAction": "dynamodb:DeleteItem", "Resource": "*"}],
            "dynamodb:DeleteItem",
            TABLE,
            False,
            id="not-action-not-the-named",
        ),
        pytest.param(
            [{"Effect": "Allow", "Action": "dynamodb:*", "NotResource": TABLE}],
            "dynamodb:GetItem",
            TABLE,
            False,
            id="not-resource",
        ),
        pytest.param([], "dynamodb:GetItem", TABLE, False, id="implicit-deny"),
    ],
)
def test_policy_evaluation_follows_iam(
    statements: list[dict[str, Any]], action: str, resource: str, allowed: bool
) -> None:
    assert allows(statements, action, resource) is allowed


def test_a_policy_variable_is_not_guessed() -> None:
    with pytest.raises(Unmapped, match="policy variable"):
        allows(
            [_allow("s3:GetObject", "arn:aws:s3:::b/${aws:username}/*")], "s3:GetObject", "arn:aws:s3:::b/x/y"
        )

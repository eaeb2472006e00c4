"""Real-shaped events for each of our functions, built from what the previous step left behind.

The pipeline runs in the order a deploy and a first alert would: the search setup (CloudFormation Create),
then an alert to the API function, the message it queued to risk, the intent risk queued to the executor,
and the tables' stream records to the indexer. Each recipe reads the local services (moto, the search
front), so the invocation goes down the same paths as on AWS, lazy imports included.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from infra.checks.emulated_aws import Provisioned, client
from infra.checks.search_front import SearchFront
from infra.checks.template import Function, Template
from tradepipe import resources

# AAPL on the paper broker's date: close 430.47, ATR(14) ~11.9, so a 10.47 stop is inside the default
# profile's ATR band and the signal is sized (tests/integration/test_risk_handler.py uses the same numbers).
ALERT = {
    "signal": "BUY",
    "ticker": "AAPL",
    "tradingMode": "Paper",
    "riskAmount": 100.0,
    "entryPrice": 430.47,
    "stopLoss": 420.0,
    "takeProfit": 450.0,
    "strategy": "packaging_check",
    "timeframe": "1D",
}


@dataclass
class Services:
    stage: str
    aws_url: str
    provisioned: Provisioned
    passphrase: str
    front: SearchFront
    master_secret_arn: str
    template: Template
    # The paper broker's key pair (it refuses any request without it, as Alpaca does), for its test routes.
    broker_headers: dict[str, str] = field(default_factory=dict)


Recipe = Callable[[Services, Function], tuple[dict[str, Any], str]]


def search_setup(services: Services, function: Function) -> tuple[dict[str, Any], str]:
    """CloudFormation's Create request for the custom resource whose provider invokes this function."""
    found = [
        (logical_id, resource)
        for logical_id, resource in services.template.resources.items()
        if resource["Type"].startswith("Custom::")
        and _provider_invokes(services.template, resource, function)
    ]
    if not found:
        raise LookupError(f"no custom resource of the template is served by {function.name}")
    logical_id, resource = found[0]

    def local(target: str, attribute: str | None) -> str | None:
        if attribute == "DomainEndpoint":
            return services.front.host
        if attribute is None and services.template.resources[target]["Type"] == "AWS::SecretsManager::Secret":
            return services.master_secret_arn
        return None

    properties = services.template.resolve(resource["Properties"], local)
    event = {
        "RequestType": "Create",
        "ServiceToken": properties.pop("ServiceToken"),
        "ResponseURL": "https://cloudformation-custom-resource-response.example/",
        "StackId": f"arn:aws:cloudformation:us-east-1:123456789012:stack/tradepipe-{services.stage}/x",
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": logical_id,
        "ResourceType": resource["Type"],
        "ResourceProperties": {"ServiceToken": "provider", **properties},
    }
    return event, f"CloudFormation Create of {logical_id}"


def _provider_invokes(template: Template, resource: dict[str, Any], function: Function) -> bool:
    # The provider framework's onEvent function carries the user function's ARN in its environment.
    token = resource["Properties"].get("ServiceToken", {})
    provider_id = token.get("Fn::GetAtt", [""])[0] if isinstance(token, dict) else ""
    provider = template.resources.get(provider_id, {}).get("Properties", {})
    target = provider.get("Environment", {}).get("Variables", {}).get("USER_ON_EVENT_FUNCTION_ARN", {})
    return isinstance(target, dict) and target.get("Fn::GetAtt", [""])[0] == function.logical_id


def webhook(services: Services, function: Function) -> tuple[dict[str, Any], str]:
    body = json.dumps({**ALERT, "passphrase": services.passphrase, "time": _now_iso()})
    event = {
        "resource": "/webhook",
        "path": "/webhook",
        "httpMethod": "POST",
        "headers": {"Content-Type": "text/plain; charset=utf-8", "User-Agent": "Go-http-client/1.1"},
        "multiValueHeaders": {"Content-Type": ["text/plain; charset=utf-8"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "packagingcheck",
            "resourcePath": "/webhook",
            "httpMethod": "POST",
            "path": f"/{services.stage}/webhook",
            "stage": services.stage,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(datetime.now(UTC).timestamp() * 1000),
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": resources.TRADINGVIEW_SOURCE_IPS[0], "userAgent": "Go-http-client/1.1"},
        },
        "body": body,
        "isBase64Encoded": False,
    }
    return event, "POST /webhook (a TradingView alert)"


def risk(services: Services, function: Function) -> tuple[dict[str, Any], str]:
    queue = services.provisioned.queues[resources.SIGNALS_QUEUE.base_name]
    messages = _take(services, queue.url)
    if not messages:
        _send_signal(services, queue.url)
        messages = _take(services, queue.url)
    return _sqs_event(
        messages, queue.arn
    ), f"{len(messages)} message(s) from {resources.SIGNALS_QUEUE.name(services.stage)}"


def executor(services: Services, function: Function) -> tuple[dict[str, Any], str]:
    queue = services.provisioned.queues[resources.INTENTS_QUEUE.base_name]
    messages = _take(services, queue.url)
    if messages:
        return _sqs_event(messages, queue.arn), f"{len(messages)} intent(s) from the order-intents queue"
    # No intent (risk rejected, or was not run): the executor's other entry point, its schedule.
    return _scheduled(), "the one-minute schedule (no intent was queued)"


def indexer(services: Services, function: Function) -> tuple[dict[str, Any], str]:
    streams: Any = client("dynamodbstreams", services.aws_url)
    records: list[dict[str, Any]] = []
    for table in (resources.SIGNALS_TABLE, resources.ORDERS_TABLE):
        arn = services.provisioned.stream_arns[table.base_name]
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for record in streams.get_records(ShardIterator=iterator, Limit=100)["Records"]:
                records.append({**_plain(record), "eventSourceARN": arn})
    return {"Records": records}, f"{len(records)} stream record(s) from the signals and orders tables"


def notifier(services: Services, function: Function) -> tuple[dict[str, Any], str]:
    """What the bus rule delivers to the notifier's queue: an EventBridge envelope per record."""
    from tradepipe.contracts.events import SignalRejected
    from tradepipe.domain.model import Mode, RejectReason

    event = SignalRejected(
        at=datetime.now(UTC),
        mode=Mode.PAPER,
        signal_id="d" * 32,
        ticker="AAPL",
        strategy="packaging_check",
        reason=RejectReason.STALE_ALERT,
        detail="alert is 600 s old (limit 60 s)",
    )
    envelope = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": event.detail_type,
        "source": resources.EVENT_SOURCE,
        "account": "123456789012",
        "time": _now_iso(),
        "region": "us-east-1",
        "resources": [],
        "detail": event.as_detail(),
    }
    body = json.dumps(envelope)
    message = {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": "packaging-check",
        "Body": body,
        "MD5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
    }
    queue_arn = f"arn:aws:sqs:us-east-1:123456789012:tradepipe-{services.stage}-notifications"
    return _sqs_event([message], queue_arn), "a SignalRejected from the bus rule (email topic only)"


RECIPES: dict[str, Recipe] = {
    "search-setup": search_setup,
    "webhook": webhook,
    "risk": risk,
    "executor": executor,
    "indexer": indexer,
    "notifier": notifier,
}
# The order a deploy and a first alert run them in.
ORDER = tuple(RECIPES)


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _take(services: Services, url: str) -> list[dict[str, Any]]:
    sqs: Any = client("sqs", services.aws_url)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
    messages = list(got.get("Messages", []))
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def _send_signal(services: Services, url: str) -> None:
    """When risk runs without the webhook before it (`--only risk`): the message the webhook would send."""
    from tradepipe.contracts.messages import SignalAccepted
    from tradepipe.domain.model import Action, Mode, Side, Signal, SizingMode

    now = datetime.now(UTC)
    signal = Signal(
        signal_id="c" * 32,
        action=Action.ENTER,
        side=Side.BUY,
        ticker="AAPL",
        mode=Mode.PAPER,
        sizing_mode=SizingMode.RISK_DOLLARS,
        sizing_value=Decimal("100"),
        entry_price=Decimal("430.47"),
        stop_loss=Decimal("420"),
        take_profit=Decimal("450"),
        alert_time=now,
        strategy="packaging_check",
        timeframe="1D",
    )
    sqs: Any = client("sqs", services.aws_url)
    sqs.send_message(
        QueueUrl=url,
        MessageBody=SignalAccepted(signal=signal, received_at=now).model_dump_json(),
        MessageGroupId="paper#AAPL",
        MessageDeduplicationId=signal.signal_id,
    )


def _sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": m.get("Attributes", {}).get("SentTimestamp", "0"),
                    "SenderId": "packaging-check",
                    "ApproximateFirstReceiveTimestamp": "0",
                    "SequenceNumber": m.get("Attributes", {}).get("SequenceNumber", "1"),
                    "MessageGroupId": m.get("Attributes", {}).get("MessageGroupId", "g"),
                    "MessageDeduplicationId": m.get("Attributes", {}).get("MessageDeduplicationId", "d"),
                },
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def _scheduled() -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": _now_iso(),
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }


def _plain(value: Any) -> Any:
    """boto3's record (datetimes) as the JSON Lambda delivers (epoch seconds)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return int(value.timestamp())
    return value

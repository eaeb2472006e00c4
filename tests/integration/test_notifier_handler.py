"""The notifier Lambda handler with real-shaped SQS records of EventBridge events: channel URLs from Secrets
Manager (moto), email through SNS (moto, read back from a subscribed queue), webhooks to local stand-ins;
partial batch failures while a channel is down, and no repeat to the others once it is back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.conftest import PASSPHRASE, STAGE, Aws
from tests.integration.events import rest_event, sqs_event
from tests.integration.notify_stand_ins import StandIn
from tests.notify_samples import SECRETS, fill, halt
from tests.support.lambda_context import LocalLambdaContext
from tests.unit.builders import alert_body
from tradepipe import composition, resources
from tradepipe.composition import notifier as lambda_notifier
from tradepipe.contracts.events import EVENT_TYPES, DomainEvent

KINDS = ("slack", "discord", "telegram", "webhook")


def _envelope(event: DomainEvent) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": event.detail_type,
        "source": "tradepipe",
        "account": "123456789012",
        "time": event.at.isoformat(),
        "region": "us-east-1",
        "resources": [],
        "detail": event.as_detail(),
    }


def _records(*bodies: str) -> dict[str, Any]:
    messages = [
        {"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": body} for i, body in enumerate(bodies)
    ]
    return sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:tradepipe-itest-notify")


@pytest.fixture
def services() -> Iterator[dict[str, StandIn]]:
    stand_ins = {kind: StandIn(kind) for kind in KINDS}
    yield stand_ins
    for stand_in in stand_ins.values():
        stand_in.stop()


@pytest.fixture
def email_inbox(aws: Aws) -> tuple[str, str]:
    """An SNS topic and an SQS queue subscribed to it: what an email subscriber would receive."""
    sns: Any = aws.client("sns")
    sqs: Any = aws.client("sqs")
    topic = sns.create_topic(Name=f"notify-{uuid.uuid4().hex[:8]}")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, queue_url


@pytest.fixture
def notifier_env(
    aws: Aws, services: dict[str, StandIn], email_inbox: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    topic, _ = email_inbox
    name = f"tradepipe/itest/notify-{uuid.uuid4().hex[:8]}"
    urls = [s.channel_url for s in services.values()] + [f"sns://{topic}"]
    secrets: Any = aws.client("secretsmanager")
    secrets.create_secret(Name=name, SecretString=json.dumps({"notify_urls": urls}))
    monkeypatch.setenv("TRADEPIPE_NOTIFY_SECRET_NAME", name)
    monkeypatch.setenv("TRADEPIPE_NOTIFY_TELEGRAM_API", services["telegram"].base)
    monkeypatch.setenv("TRADEPIPE_NOTIFY_PUBLIC_BASE_URL", "https://trader.example.com")
    composition.reset()
    lambda_notifier.cache_clear()
    yield
    lambda_notifier.cache_clear()
    composition.reset()


def _inbox(aws: Aws, queue_url: str) -> list[dict[str, Any]]:
    sqs: Any = aws.client("sqs")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


@pytest.mark.usefixtures("notifier_env")
def test_batch_is_grouped_sent_to_every_channel_and_emailed_through_sns(
    aws: Aws, services: dict[str, StandIn], email_inbox: tuple[str, str]
) -> None:
    from functions.notifier.handler import lambda_handler

    batch = _records(
        json.dumps(_envelope(fill())),
        json.dumps(_envelope(halt())),
        json.dumps({**_envelope(fill()), "detail-type": "SomethingElse"}),  # not ours: ignored
        "not json",  # malformed: counted, not retried
    )

    response = lambda_handler(batch, LocalLambdaContext("notifier", timeout_s=30))

    assert response == {"batchItemFailures": []}
    for stand_in in services.values():
        (text,) = stand_in.texts()  # the fill and the halt, one paper message
        assert "AAPL entry filled" in text
        assert "trading HALTED" in text
    (email,) = _inbox(aws, email_inbox[1])
    assert email["Subject"] == "[paper] tradepipe: 1 state switch, 1 entry fill"
    assert "AAPL entry filled" in email["Message"]
    bodies = b"".join(r.body for s in services.values() for r in s.received) + json.dumps(email).encode()
    for secret in SECRETS:
        assert secret.encode() not in bodies


@pytest.mark.usefixtures("notifier_env")
def test_records_are_failed_while_a_channel_is_down_and_its_recovery_repeats_nothing_elsewhere(
    aws: Aws, services: dict[str, StandIn], email_inbox: tuple[str, str]
) -> None:
    from functions.notifier.handler import lambda_handler

    services["telegram"].stop()
    batch = _records(json.dumps(_envelope(fill())), json.dumps(_envelope(halt())), "not json")

    first = lambda_handler(batch, LocalLambdaContext("notifier", timeout_s=11))  # ~1 s to deliver

    assert first == {"batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m1"}]}
    assert all(len(services[k].texts()) == 1 for k in ("slack", "discord", "webhook"))
    services["telegram"].start()

    second = lambda_handler(batch, LocalLambdaContext("notifier", timeout_s=30))  # SQS redelivers

    assert second == {"batchItemFailures": []}
    assert all(len(s.texts()) == 1 for s in services.values())
    assert len(_inbox(aws, email_inbox[1])) == 1


@pytest.fixture
def resumed_after(aws: Aws) -> Iterator[None]:
    """The test halts the paper account on the session's moto: the tests after it trade on it again."""
    yield
    aws.risk_state().set_trading_state("paper", "ACTIVE", "manual", "resumed by the test", datetime.now(UTC))


@pytest.mark.usefixtures("notifier_env", "resumed_after")
def test_what_the_api_publishes_reaches_the_channels_through_the_bus_rule(
    aws: Aws, services: dict[str, StandIn]
) -> None:
    # The deployed path on moto: the API function publishes to the stage's bus, a rule (as the CDK's) puts
    # each event on the notifier's queue, the notifier renders and sends.
    from functions.api.handler import lambda_handler as api
    from functions.notifier.handler import lambda_handler as notifier

    events: Any = aws.client("events")
    sqs: Any = aws.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"notify-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    bus = resources.EVENT_BUS.name(STAGE)
    rule = f"notify-{uuid.uuid4().hex[:8]}"
    pattern = {"source": [resources.EVENT_SOURCE], "detail-type": sorted(EVENT_TYPES)}
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "notifier", "Arn": queue_arn}])
    stale = (datetime.now(UTC) - timedelta(minutes=10)).replace(microsecond=0).isoformat()

    rejected = api(
        rest_event(json.dumps(alert_body(passphrase=PASSPHRASE, ticker="MSFT", timestamp=stale))),
        LocalLambdaContext("webhook", 10),
    )
    switch = json.dumps({"state": "HALTED", "reason": "bus test", "by": "itest"})
    halted = api(
        rest_event(
            switch,
            path="/trading-state/paper",
            method="POST",
            resource="/trading-state/{account}",
            source_ip="127.0.0.1",
            path_parameters={"account": "paper"},
        ),
        LocalLambdaContext("webhook", 10),
    )
    delivered = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    response = notifier(sqs_event(delivered, queue_arn), LocalLambdaContext("notifier", timeout_s=30))

    assert (rejected["statusCode"], halted["statusCode"]) == (422, 200)
    assert {json.loads(m["Body"])["detail-type"] for m in delivered} == {
        "SignalRejected",
        "TradingStateChanged",
    }
    assert response == {"batchItemFailures": []}
    for stand_in in services.values():
        text = "\n".join(stand_in.texts())
        assert "MSFT rejected STALE_ALERT" in text
        assert "trading HALTED by itest" in text
        assert PASSPHRASE not in text
    events.remove_targets(Rule=rule, EventBusName=bus, Ids=["notifier"])
    events.delete_rule(Name=rule, EventBusName=bus)

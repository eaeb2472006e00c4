"""The notifications component in the template: the notifier on the core layer, the bus rule onto a standard
queue with a batching window, its DLQ, the channel secret, the KMS-encrypted email topic with the stage's
subscriptions, the DLQ alarms becoming `MessageDeadLettered`, and a role that can do only its job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.app import build_app, cdk_json_context
from infra.components import notifications
from tests.infra.synth import Synth, actions_on, policy_of
from tradepipe import resources
from tradepipe.contracts.events import EVENT_TYPES, MessageDeadLettered, parse_bus_event
from tradepipe.notify.render import _line

pytestmark = pytest.mark.infra


def _rule(synth: Synth, construct: Any) -> dict[str, Any]:
    props: dict[str, Any] = synth.raw["Resources"][synth.logical_id(construct)]["Properties"]
    return props


def _resource(synth: Synth, construct: Any) -> dict[str, Any]:
    props: dict[str, Any] = synth.raw["Resources"][synth.logical_id(construct)]["Properties"]
    return props


def test_bus_rule_sends_every_contract_event_to_the_notifier_queue(dev: Synth) -> None:
    n = dev.stack.notifications
    rule = _rule(dev, n.events_rule)

    assert rule["EventBusName"] == {"Ref": dev.logical_id(dev.stack.events.bus)}
    assert rule["EventPattern"] == {"source": [resources.EVENT_SOURCE], "detail-type": sorted(EVENT_TYPES)}
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [dev.logical_id(n.queue), "Arn"]}
    assert "InputTransformer" not in target  # the envelope as EventBridge sends it: parse_bus_event reads it


def test_queue_is_standard_with_a_dlq_and_the_function_batches_with_a_window(dev: Synth) -> None:
    n = dev.stack.notifications
    queue = _resource(dev, n.queue)
    assert "FifoQueue" not in queue
    assert queue["VisibilityTimeout"] == 6 * resources.NOTIFIER_FUNCTION.timeout_s
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dev.logical_id(n.dlq), "Arn"]},
        "maxReceiveCount": notifications.MAX_RECEIVES,
    }
    assert queue["SqsManagedSseEnabled"] is True
    function_id = dev.logical_id(n.function)
    (mapping,) = [
        m["Properties"]
        for m in dev.resources_of("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [dev.logical_id(n.queue), "Arn"]}
    assert mapping["BatchSize"] == resources.NOTIFY_BATCH_SIZE
    assert mapping["MaximumBatchingWindowInSeconds"] == resources.NOTIFY_BATCH_WINDOW_S
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_notifier_reads_its_channels_from_the_secret_and_emails_through_the_topic(dev: Synth) -> None:
    n = dev.stack.notifications
    env = dev.function("notifier")["Properties"]["Environment"]["Variables"]
    assert env["TRADEPIPE_NOTIFY_SECRET_NAME"] == resources.NOTIFY_SECRET.name("dev")
    assert env["TRADEPIPE_NOTIFY_EMAIL_TOPIC_ARN"] == {"Ref": dev.logical_id(n.topic)}
    assert json.loads(env["TRADEPIPE_NOTIFY_EVENTS"])["duplicates"] is False
    secret = _resource(dev, n.secret)
    assert secret["Name"] == "tradepipe/dev/notify"
    assert json.loads(secret["SecretString"]) == {"notify_urls": []}  # no URL, no token in the template
    topic = _resource(dev, n.topic)
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [dev.logical_id(n.key), "Arn"]}
    assert dev.resources_of("AWS::SNS::Subscription") == {}  # dev lists no addresses


def test_notifier_role_reads_its_secret_and_publishes_to_its_topic_only(dev: Synth) -> None:
    n = dev.stack.notifications
    statements = policy_of(dev, "notifier")
    assert actions_on(statements, dev.logical_id(n.secret)) == {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
    }
    assert actions_on(statements, dev.logical_id(n.topic)) == {"sns:Publish"}
    assert actions_on(statements, dev.logical_id(n.key)) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    granted = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not [a for a in granted if a.startswith(("dynamodb:", "events:", "s3:"))]
    for other in ("webhook", "risk", "executor", "indexer"):
        assert actions_on(policy_of(dev, other), dev.logical_id(n.secret)) == set(), other


def test_the_pipeline_dlq_alarms_become_message_dead_lettered_on_the_notifier_queue(dev: Synth) -> None:
    n = dev.stack.notifications
    (rule,) = [
        r["Properties"]
        for r in dev.resources_of("AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.cloudwatch"]
    ]
    alarms = dev.stack.alarms.alarms
    watched = [alarms[name] for name in ("SignalsQueueDlqNotEmpty", "IntentsQueueDlqNotEmpty")]
    watched.append(alarms["IndexerFailuresNotEmpty"])
    assert rule["EventPattern"]["resources"] == [{"Fn::GetAtt": [dev.logical_id(a), "Arn"]} for a in watched]
    assert rule["EventPattern"]["detail"] == {"state": {"value": ["ALARM"]}}
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [dev.logical_id(n.queue), "Arn"]}

    # What EventBridge would deliver for the signals DLQ's alarm, through the same transformer.
    transformer = target["InputTransformer"]
    values = {"$.time": '"2024-01-02T15:00:00Z"'}
    values[notifications.DLQ_QUEUE_NAME_PATH] = json.dumps(resources.SIGNALS_QUEUE.dlq_name("dev"))
    body = transformer["InputTemplate"]
    for name, path in transformer["InputPathsMap"].items():
        body = body.replace(f"<{name}>", values[path])
    event = parse_bus_event(json.loads(body))

    assert isinstance(event, MessageDeadLettered)
    assert event.queue == "tradepipe-dev-signals-dlq.fifo"
    assert _line(event, None).startswith("☠️ messages dead-lettered on tradepipe-dev-signals-dlq.fifo")


def test_stage_emails_become_subscriptions_of_the_topic(tmp_path: Path) -> None:
    context = cdk_json_context()
    stages = dict(context["tradepipe:stages"])
    stages["dev"] = {**stages["dev"], "notifications": {"emails": ["trader@example.com"]}}
    app, stack = build_app({**context, "tradepipe:stages": stages, "stage": "dev"}, outdir=str(tmp_path))
    template = app.synth().get_stack_by_name(stack.stack_name).template

    subscriptions = [
        r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::SNS::Subscription"
    ]
    topic_id = stack.get_logical_id(stack.notifications.topic.node.default_child)  # type: ignore[arg-type]
    assert subscriptions == [
        {"Protocol": "email", "Endpoint": "trader@example.com", "TopicArn": {"Ref": topic_id}}
    ]

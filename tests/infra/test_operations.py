"""What on-call and DevOps rely on: alarms with their stage thresholds and runbook entries, the alarm topic,
the dashboard, the optional WAF, reserved concurrency, timeouts against visibility timeouts, and a webhook
bundle without the analytics stack."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra import layer_specs
from infra.app import cdk_json_context
from infra.components import observability, search_setup
from infra.config import ConfigError, load_stage_config
from tests.infra.synth import Synth, statements_of
from tradepipe import resources

pytestmark = pytest.mark.infra

OPERATIONS_MD = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def _alarm(synth: Synth, construct_id: str) -> dict[str, Any]:
    alarm = synth.stack.alarms.alarms[construct_id]
    props: dict[str, Any] = synth.raw["Resources"][synth.logical_id(alarm)]["Properties"]
    return props


def _expected_thresholds(synth: Synth) -> dict[str, float]:
    a = synth.stack.config.alarms
    expected: dict[str, float] = {
        "SignalsQueueDlqNotEmpty": a.dlq_visible_messages,
        "IntentsQueueDlqNotEmpty": a.dlq_visible_messages,
        "IndexerFailuresNotEmpty": a.dlq_visible_messages,
        "IndexerIteratorAge": a.stream_iterator_age_ms,
        "Api5xx": a.webhook_5xx_per_5_minutes,
        "ApiP99Latency": a.api_p99_latency_ms,
        "OrderRejectionRate": a.order_rejection_rate_percent,
        "TradingHalted": 1,
        "PositionDivergence": 1,
        "NotificationsDlqNotEmpty": a.dlq_visible_messages,
        "NotificationsDropped": synth.stack.config.notifications.dropped_per_5_minutes,
        "NotificationEventsInvalid": 1,
        "PositionUnprotected": 1,
    }
    for spec in resources.FUNCTIONS:
        expected[f"{spec.name.capitalize()}ErrorRate"] = a.function_error_rate_percent
        expected[f"{spec.name.capitalize()}Throttles"] = a.function_throttles_per_5_minutes
    return expected


class TestAlarms:
    @pytest.mark.parametrize("stage", ["dev", "prod"])
    def test_every_alarm_exists_with_its_stage_threshold(
        self, stage: str, request: pytest.FixtureRequest
    ) -> None:
        synth: Synth = request.getfixturevalue(stage)
        expected = _expected_thresholds(synth)

        assert set(synth.stack.alarms.alarms) == set(expected)
        for construct_id, threshold in expected.items():
            props = _alarm(synth, construct_id)
            assert props["AlarmName"] == f"tradepipe-{stage}-{construct_id}"
            assert props["Threshold"] == threshold, construct_id
            assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
            assert props["TreatMissingData"] == "notBreaching"

    def test_thresholds_differ_between_stages_as_configured(self, dev: Synth, prod: Synth) -> None:
        assert _alarm(dev, "ApiP99Latency")["Threshold"] == 3000
        assert _alarm(prod, "ApiP99Latency")["Threshold"] == 2000

    def test_every_alarm_notifies_the_topic_on_alarm_and_on_recovery(self, dev: Synth) -> None:
        topic = {"Ref": dev.logical_id(dev.stack.alarms.topic)}
        for construct_id in dev.stack.alarms.alarms:
            props = _alarm(dev, construct_id)
            assert props["AlarmActions"] == [topic], construct_id
            assert props["OKActions"] == [topic], construct_id

    def test_every_alarm_names_a_runbook_entry_that_exists(self, dev: Synth) -> None:
        headings = {
            re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
            for line in OPERATIONS_MD.read_text().splitlines()
            if line.startswith("### ")
        }
        assert set(observability.ALARM_RUNBOOK) <= headings
        for construct_id, anchor in dev.stack.alarms.runbook.items():
            assert f"docs/operations.md#{anchor}" in _alarm(dev, construct_id)["AlarmDescription"]

    def test_each_dead_letter_queue_alarms_on_visible_messages(self, dev: Synth) -> None:
        queues = [*dev.stack.queues.dlqs.values(), dev.stack.queues.indexer_failures]
        watched = {
            json.dumps(d["Value"])
            for construct_id, _ in dev.stack.alarms.runbook.items()
            if construct_id.endswith("NotEmpty")
            for d in _alarm(dev, construct_id)["Dimensions"]
        }
        for queue in queues:
            assert json.dumps({"Fn::GetAtt": [dev.logical_id(queue), "QueueName"]}) in watched
        props = _alarm(dev, "SignalsQueueDlqNotEmpty")
        assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert props["Namespace"] == "AWS/SQS"

    def test_custom_metric_alarms_read_powertools_metrics_by_service(self, dev: Synth) -> None:
        halted = _alarm(dev, "TradingHalted")
        assert (halted["Namespace"], halted["MetricName"]) == (resources.METRICS_NAMESPACE, "TradingHalted")
        assert halted["Dimensions"] == [{"Name": "service", "Value": "risk"}]
        divergence = _alarm(dev, "PositionDivergence")
        assert divergence["Dimensions"] == [{"Name": "service", "Value": "executor"}]

    def test_order_rejection_rate_counts_both_rejections_over_a_minimum_volume(self, dev: Synth) -> None:
        props = _alarm(dev, "OrderRejectionRate")
        expression = next(m["Expression"] for m in props["Metrics"] if "Expression" in m)
        names = {m["MetricStat"]["Metric"]["MetricName"] for m in props["Metrics"] if "MetricStat" in m}
        assert names == {"OrdersRejected", "AsyncRejections", "OrdersSubmitted"}
        assert f">= {dev.stack.config.alarms.order_rejection_min_orders}" in expression

    def test_function_error_alarm_is_a_rate_not_a_count(self, dev: Synth) -> None:
        props = _alarm(dev, "ExecutorErrorRate")
        expression = next(m["Expression"] for m in props["Metrics"] if "Expression" in m)
        assert "100 * errors / invocations" in expression


class TestTopicAndDashboard:
    def test_topic_is_encrypted_with_a_rotating_key_cloudwatch_may_use(self, dev: Synth) -> None:
        key_id = dev.logical_id(dev.stack.alarms.key)
        dev.template.has_resource_properties(
            "AWS::SNS::Topic",
            {"TopicName": "tradepipe-dev-alarms", "KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}},
        )
        key = dev.raw["Resources"][key_id]["Properties"]
        assert key["EnableKeyRotation"] is True
        assert any(
            s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
            for s in key["KeyPolicy"]["Statement"]
        )

    def test_topic_denies_plain_http(self, dev: Synth) -> None:
        dev.template.has_resource_properties(
            "AWS::SNS::TopicPolicy",
            {
                "PolicyDocument": Match.object_like(
                    {
                        "Statement": Match.array_with(
                            [
                                Match.object_like(
                                    {
                                        "Effect": "Deny",
                                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                    }
                                )
                            ]
                        )
                    }
                )
            },
        )

    def test_dashboard_shows_every_alarm(self, dev: Synth) -> None:
        (dashboard,) = dev.resources_of("AWS::CloudWatch::Dashboard").values()
        body = json.dumps(dashboard["Properties"]["DashboardBody"])
        assert dashboard["Properties"]["DashboardName"] == "tradepipe-dev-pipeline"
        for alarm in dev.stack.alarms.alarms.values():
            assert dev.logical_id(alarm) in body


class TestWaf:
    def test_prod_web_acl_rate_limits_and_blocks_bodies_over_the_webhook_limit(self, prod: Synth) -> None:
        (acl,) = prod.resources_of("AWS::WAFv2::WebACL").values()
        rules = {r["Name"]: r for r in acl["Properties"]["Rules"]}
        rate = rules["RatePerSourceIp"]["Statement"]["RateBasedStatement"]
        assert rate["Limit"] == prod.stack.config.waf.rate_limit_per_5_minutes
        assert rate["AggregateKeyType"] == "IP"
        assert "Block" in rules["RatePerSourceIp"]["Action"]
        size = rules["BodyOverLimit"]["Statement"]["SizeConstraintStatement"]
        assert size["Size"] == resources.WEBHOOK_MAX_BODY_BYTES
        assert size["FieldToMatch"]["Body"]["OversizeHandling"] == "MATCH"
        assert acl["Properties"]["AssociationConfig"]["RequestBody"]["API_GATEWAY"] == {
            "DefaultSizeInspectionLimit": "KB_16"
        }
        # Alert text is free-form: the common rule set may count, never block.
        assert rules["AWSManagedRulesCommonRuleSet"]["OverrideAction"] == {"Count": {}}

    def test_prod_web_acl_is_associated_with_the_api_stage(self, prod: Synth) -> None:
        (association,) = prod.resources_of("AWS::WAFv2::WebACLAssociation").values()
        assert prod.logical_id(prod.stack.api.api.deployment_stage) in json.dumps(
            association["Properties"]["ResourceArn"]
        )

    def test_dev_has_no_web_acl(self, dev: Synth) -> None:
        assert not dev.resources_of("AWS::WAFv2::WebACL")


class TestConcurrencyAndTimeouts:
    def test_no_stage_reserves_concurrency_by_default(self, prod: Synth, dev: Synth) -> None:
        # A new account's limit is 10 and 10 must stay unreserved: any reservation fails the deploy there.
        for synth in (dev, prod):
            for spec in resources.FUNCTIONS:
                assert "ReservedConcurrentExecutions" not in synth.function(spec.name)["Properties"]

    @pytest.mark.parametrize("function", [resources.RISK_FUNCTION, resources.EXECUTOR_FUNCTION])
    def test_queue_consumers_are_bounded_by_event_source_maximum_concurrency(
        self, prod: Synth, function: resources.FunctionSpec
    ) -> None:
        function_id = prod.logical_id(prod.stack.functions.by_name[function.name].function)
        (mapping,) = [
            m["Properties"]
            for m in prod.resources_of("AWS::Lambda::EventSourceMapping").values()
            if m["Properties"]["FunctionName"] == {"Ref": function_id}
        ]
        assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}
        assert mapping["BatchSize"] == 5
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

    @pytest.mark.parametrize(
        ("function", "queue"),
        [
            (resources.RISK_FUNCTION, resources.SIGNALS_QUEUE),
            (resources.EXECUTOR_FUNCTION, resources.INTENTS_QUEUE),
        ],
    )
    def test_queue_visibility_is_at_least_six_function_timeouts(
        self, dev: Synth, function: resources.FunctionSpec, queue: resources.QueueSpec
    ) -> None:
        # AWS's guidance for SQS event sources: a message must not reappear while a (retried) batch runs.
        timeout = dev.function(function.name)["Properties"]["Timeout"]
        dev.template.has_resource_properties(
            "AWS::SQS::Queue",
            {"QueueName": queue.name("dev"), "VisibilityTimeout": queue.visibility_timeout_s},
        )
        assert queue.visibility_timeout_s >= 6 * timeout

    def test_unknown_function_in_reserved_concurrency_fails_loudly(self) -> None:
        context = json.loads(json.dumps(cdk_json_context()))
        context["tradepipe:stages"]["dev"]["functions"] = {"reserved_concurrency": {"webhok": 2}}
        with pytest.raises(ConfigError, match="unknown function 'webhok'"):
            load_stage_config(context, "dev")


class TestWebhookBundle:
    FORBIDDEN = ("pandas", "numpy", "talib", "alpaca")

    def test_webhook_asset_and_layers_carry_no_analytics_or_broker_packages(self, dev: Synth) -> None:
        props = dev.function("webhook")["Properties"]
        asset = dev.outdir / f"asset.{props['Code']['S3Key'].removesuffix('.zip')}"
        assert (asset / "handler.py").is_file()
        shipped = {p.relative_to(asset).parts[0].lower() for p in asset.rglob("*")}
        assert not {name for name in shipped for bad in self.FORBIDDEN if name.startswith(bad)}
        for spec in layer_specs.layers_for("webhook"):
            assert not [r for r in spec.requirements for bad in self.FORBIDDEN if bad in r.replace("-", "")]
            assert not spec.build_script


def test_no_synthesized_template_is_checked_in() -> None:
    # Templates are built on demand (`make synth`); a checked-in copy would drift from the code.
    root = OPERATIONS_MD.parents[1]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout: nothing is tracked")
    listed = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True)  # noqa: S607
    tracked = listed.stdout.splitlines()
    assert "cdk.json" in tracked
    assert not [
        p for p in tracked if p.startswith("cdk.out/") or p.endswith((".template.json", ".assets.json"))
    ]


class TestSearchSetup:
    def test_custom_resource_maps_the_indexer_role_and_tracks_the_templates(self, dev: Synth) -> None:
        (resource,) = dev.resources_of("Custom::TradepipeSearchSetup").values()
        props = resource["Properties"]
        indexer_role = dev.stack.functions.by_name["indexer"].role
        assert props["IndexerRoleArn"] == {"Fn::GetAtt": [dev.logical_id(indexer_role), "Arn"]}
        assert props["TemplatesDigest"] == search_setup.templates_digest()
        assert dev.logical_id(dev.stack.search.domain) in resource.get("DependsOn", [])

    def test_only_the_setup_role_may_read_the_master_user_secret(self, dev: Synth) -> None:
        master = dev.stack.search.domain.node.find_child("MasterUser")
        master_id = dev.logical_id(master)
        readers = {
            logical_id
            for logical_id, statement in statements_of(dev)
            if master_id in json.dumps(statement.get("Resource"))
            and "secretsmanager:GetSecretValue" in json.dumps(statement["Action"])
        }
        setup_policy = dev.stack.search_setup.role.node.find_child("DefaultPolicy")
        assert readers == {dev.logical_id(setup_policy)}

    def test_setup_runs_its_own_code_with_the_indexer_layers(self, dev: Synth) -> None:
        fn = dev.raw["Resources"][dev.logical_id(dev.stack.search_setup.function)]["Properties"]
        indexer = dev.function("indexer")["Properties"]
        assert fn["Handler"] == "handler.lambda_handler"
        assert fn["Code"]["S3Key"] != indexer["Code"]["S3Key"]  # functions/search_setup, its own folder
        assert fn["Layers"] == indexer["Layers"]

    def test_indexer_and_its_stream_mappings_wait_for_the_setup(self, dev: Synth) -> None:
        # The indexer only writes through aliases the setup creates: CloudFormation must create (and on an
        # update, apply) the setup before the mappings start the indexer or its new code runs.
        (setup_id,) = dev.resources_of("Custom::TradepipeSearchSetup")
        indexer_id = dev.logical_id(dev.stack.functions.indexer)
        mappings = [
            resource
            for resource in dev.resources_of("AWS::Lambda::EventSourceMapping").values()
            if resource["Properties"]["FunctionName"] == {"Ref": indexer_id}
        ]
        assert len(mappings) == 4  # one per streamed table
        assert all(setup_id in resource.get("DependsOn", []) for resource in mappings)
        assert setup_id in dev.raw["Resources"][indexer_id].get("DependsOn", [])

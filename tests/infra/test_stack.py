"""CDK template assertions per construct: API, queues, tables, functions, event sources, search, IAM, nag."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match

from infra import layer_specs
from infra.app import build_app, cdk_json_context
from tests.infra.synth import Synth, actions_on, policy_of, statements_of
from tradepipe import resources

pytestmark = pytest.mark.infra


class TestApi:
    def test_webhook_routes_are_open_lambda_proxies_and_the_read_route_is_iam(self, dev: Synth) -> None:
        webhook_id = dev.logical_id(dev.stack.functions.webhook)
        dev.template.has_resource_properties("AWS::ApiGateway::Resource", {"PathPart": "webhook"})
        dev.template.has_resource_properties("AWS::ApiGateway::Resource", {"PathPart": "{token}"})
        dev.template.has_resource_properties("AWS::ApiGateway::Resource", {"PathPart": "{signal_id}"})
        dev.template.has_resource_properties("AWS::ApiGateway::Resource", {"PathPart": "trading-state"})
        dev.template.has_resource_properties("AWS::ApiGateway::Resource", {"PathPart": "flatten"})
        methods = [m["Properties"] for m in dev.resources_of("AWS::ApiGateway::Method").values()]
        by_auth = sorted((p["HttpMethod"], p["AuthorizationType"]) for p in methods)
        # Only the two webhook routes are open; the list, the trail, the kill switch and flatten need SigV4.
        assert by_auth == [
            ("GET", "AWS_IAM"),
            ("GET", "AWS_IAM"),
            ("GET", "AWS_IAM"),
            ("POST", "AWS_IAM"),
            ("POST", "AWS_IAM"),
            ("POST", "NONE"),
            ("POST", "NONE"),
        ]
        for props in methods:
            assert props["Integration"]["Type"] == "AWS_PROXY"
            assert json.dumps({"Fn::GetAtt": [webhook_id, "Arn"]}) in json.dumps(props["Integration"]["Uri"])

    def test_flatten_route_is_a_post_under_flatten_account_signed_with_sigv4(self, dev: Synth) -> None:
        # Flatten moves money: the webhook passphrase alone must never reach it.
        method = dev.resources_of("AWS::ApiGateway::Method")[dev.logical_id(dev.stack.api.flatten_method)]
        props = method["Properties"]
        resources_ = dev.resources_of("AWS::ApiGateway::Resource")
        account = resources_[props["ResourceId"]["Ref"]]["Properties"]
        parent = resources_[account["ParentId"]["Ref"]]["Properties"]
        assert (parent["PathPart"], account["PathPart"]) == ("flatten", "{account}")
        assert (props["HttpMethod"], props["AuthorizationType"]) == ("POST", "AWS_IAM")

    def test_access_log_format_never_carries_the_path_token(self, dev: Synth) -> None:
        (stage,) = dev.resources_of("AWS::ApiGateway::Stage").values()
        log_format = stage["Properties"]["AccessLogSetting"]["Format"]
        assert "$context.resourcePath" in log_format
        assert "$context.path" not in log_format

    def test_allowlist_when_configured_then_resource_policy_allows_only_the_webhook_from_them(
        self, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        context = cdk_json_context()
        stages = json.loads(json.dumps(context["tradepipe:stages"]))
        stages["dev"]["api"]["allowed_source_ips"] = list(resources.TRADINGVIEW_SOURCE_IPS)
        outdir = tmp_path_factory.mktemp("cdk-allowlist")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(layer_specs, "LAYER_BUILD_DIR", outdir / "no-layers-built")
            app, stack = build_app(
                {**context, "tradepipe:stages": stages, "stage": "dev"}, outdir=str(outdir)
            )
            template = app.synth().get_stack_by_name(stack.stack_name).template
        (api,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
        (statement,) = api["Properties"]["Policy"]["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Condition"] == {
            "IpAddress": {"aws:SourceIp": list(resources.TRADINGVIEW_SOURCE_IPS)}
        }
        # Only the webhook routes: nothing here may open /signals or /trading-state (the kill switch) to
        # principals of other accounts; those routes stay with the caller's own IAM policy.
        assert statement["Resource"] == ["execute-api:/*/POST/webhook", "execute-api:/*/POST/webhook/*"]

    def test_allowlist_when_not_configured_then_no_resource_policy(self, dev: Synth) -> None:
        (api,) = dev.resources_of("AWS::ApiGateway::RestApi").values()
        assert "Policy" not in api["Properties"]

    def test_stage_has_throttling_access_logs_and_no_tracing(self, dev: Synth) -> None:
        # No X-Ray on the stage: a trace records the request path, /webhook/{token} included.
        api = dev.stack.config.api
        dev.template.has_resource_properties(
            "AWS::ApiGateway::Stage",
            {
                "StageName": "dev",
                "TracingEnabled": False,
                "AccessLogSetting": {"DestinationArn": Match.any_value(), "Format": Match.any_value()},
                "MethodSettings": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "HttpMethod": "*",
                                "ResourcePath": "/*",
                                "ThrottlingRateLimit": api.throttle_rate_limit,
                                "ThrottlingBurstLimit": api.throttle_burst_limit,
                                "DataTraceEnabled": False,
                            }
                        )
                    ]
                ),
            },
        )


class TestQueues:
    @pytest.mark.parametrize("spec", resources.QUEUES, ids=lambda s: s.base_name)
    def test_fifo_queue_without_content_dedup_redrives_to_fifo_dlq(self, dev: Synth, spec: Any) -> None:
        dlq_id = dev.logical_id(dev.stack.queues.dlqs[spec.logical_id])
        dev.template.has_resource_properties(
            "AWS::SQS::Queue",
            {
                "QueueName": spec.name("dev"),
                "FifoQueue": True,
                "ContentBasedDeduplication": False,
                "VisibilityTimeout": spec.visibility_timeout_s,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
                    "maxReceiveCount": spec.max_receive_count,
                },
            },
        )
        dev.template.has_resource_properties(
            "AWS::SQS::Queue",
            {"QueueName": spec.dlq_name("dev"), "FifoQueue": True, "SqsManagedSseEnabled": True},
        )

    def test_two_fifo_queues_and_two_fifo_dlqs(self, dev: Synth) -> None:
        fifo = [q for q in dev.resources_of("AWS::SQS::Queue").values() if q["Properties"].get("FifoQueue")]
        with_redrive = [q for q in fifo if "RedrivePolicy" in q["Properties"]]
        assert len(fifo) == 4
        assert len(with_redrive) == 2

    def test_every_queue_denies_plain_http(self, dev: Synth) -> None:
        queues = dev.resources_of("AWS::SQS::Queue")
        policies = dev.resources_of("AWS::SQS::QueuePolicy").values()
        secured = {
            ref["Ref"]
            for policy in policies
            if '"aws:SecureTransport": "false"' in json.dumps(policy["Properties"]["PolicyDocument"])
            for ref in policy["Properties"]["Queues"]
        }
        assert secured == set(queues)


class TestTables:
    @pytest.mark.parametrize("spec", resources.TABLES, ids=lambda s: s.base_name)
    def test_table_streams_new_and_old_images_with_pitr(self, dev: Synth, spec: Any) -> None:
        keys = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
        if spec.sort_key:
            keys.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
        dev.template.has_resource_properties(
            "AWS::DynamoDB::Table",
            {
                "TableName": spec.name("dev"),
                "KeySchema": keys,
                "BillingMode": "PAY_PER_REQUEST",
                "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
            },
        )

    @pytest.mark.parametrize(
        "spec", [t for t in resources.TABLES if t.ttl_attribute], ids=lambda s: s.base_name
    )
    def test_table_with_ttl_attribute_expires_items_by_ttl(self, dev: Synth, spec: Any) -> None:
        # signals: dedupe records; risk-state: per-minute order counters.
        dev.template.has_resource_properties(
            "AWS::DynamoDB::Table",
            {
                "TableName": spec.name("dev"),
                "TimeToLiveSpecification": {"AttributeName": spec.ttl_attribute, "Enabled": True},
            },
        )

    def test_risk_state_table_has_pitr_stream_ttl_and_a_string_sort_key(self, dev: Synth) -> None:
        spec = resources.RISK_STATE_TABLE
        (table,) = [
            t["Properties"]
            for t in dev.resources_of("AWS::DynamoDB::Table").values()
            if t["Properties"]["TableName"] == spec.name("dev")
        ]
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
        assert {"AttributeName": "sk", "AttributeType": "S"} in table["AttributeDefinitions"]

    def test_dev_tables_are_destroyed_and_prod_tables_retained(self, dev: Synth, prod: Synth) -> None:
        assert {t["DeletionPolicy"] for t in dev.resources_of("AWS::DynamoDB::Table").values()} == {"Delete"}
        assert {t["DeletionPolicy"] for t in prod.resources_of("AWS::DynamoDB::Table").values()} == {"Retain"}
        assert all(
            t["Properties"]["DeletionProtectionEnabled"]
            for t in prod.resources_of("AWS::DynamoDB::Table").values()
        )


class TestFunctions:
    @pytest.mark.parametrize("spec", resources.FUNCTIONS, ids=lambda s: s.name)
    def test_function_is_arm64_python_with_handler_and_spec_limits(self, dev: Synth, spec: Any) -> None:
        props = dev.function(spec.name)["Properties"]
        assert props["Architectures"] == ["arm64"]
        assert props["Handler"] == "handler.lambda_handler"
        assert props["Runtime"] == f"python{layer_specs.LAMBDA_PYTHON_VERSION}"
        assert props["Timeout"] == spec.timeout_s
        assert props["MemorySize"] == spec.memory_mb
        # The API function runs untraced (no X-Ray SDK on its cold start); the queue consumers are traced.
        if spec.name == "webhook":
            assert "TracingConfig" not in props or props["TracingConfig"] == {"Mode": "PassThrough"}
            assert props["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"
        else:
            assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["FunctionName"] == f"tradepipe-dev-{spec.name}"

    @pytest.mark.parametrize("spec", resources.FUNCTIONS, ids=lambda s: s.name)
    def test_function_has_its_own_role_and_log_group(self, dev: Synth, spec: Any) -> None:
        built = dev.stack.function_constructs[spec.name]
        props = dev.function(spec.name)["Properties"]
        assert props["Role"] == {"Fn::GetAtt": [dev.logical_id(built.role), "Arn"]}
        assert props["LoggingConfig"]["LogGroup"] == {"Ref": dev.logical_id(built.log_group)}
        dev.template.has_resource_properties(
            "AWS::Logs::LogGroup",
            {"LogGroupName": f"/aws/lambda/tradepipe-dev-{spec.name}", "RetentionInDays": 14},
        )

    def test_common_environment(self, dev: Synth) -> None:
        for spec in resources.FUNCTIONS:
            env = dev.function(spec.name)["Properties"]["Environment"]["Variables"]
            assert env["TRADEPIPE_STAGE"] == "dev"
            assert env["TRADEPIPE_REGION"] == {"Ref": "AWS::Region"}
            assert env["TRADEPIPE_LIVE_TRADING_ENABLED"] == "false"
            assert env["POWERTOOLS_SERVICE_NAME"] == spec.name
            assert env["POWERTOOLS_METRICS_NAMESPACE"] == resources.METRICS_NAMESPACE
            assert env["PYDANTIC_DISABLE_PLUGINS"] == "__all__"  # no entry-point scan on a cold start
            assert env["POWERTOOLS_LOG_LEVEL"] == "DEBUG"

    def test_queue_urls_and_search_endpoint_go_to_the_functions_that_use_them(self, dev: Synth) -> None:
        def env(name: str) -> dict[str, Any]:
            return dict(dev.function(name)["Properties"]["Environment"]["Variables"])

        queues = dev.stack.queues
        assert env("webhook")["TRADEPIPE_SIGNALS_QUEUE_URL"] == {"Ref": dev.logical_id(queues.signals)}
        assert env("risk")["TRADEPIPE_INTENTS_QUEUE_URL"] == {"Ref": dev.logical_id(queues.intents)}
        # POST /flatten/{account} sends the operator's flatten to the executor.
        assert env("webhook")["TRADEPIPE_INTENTS_QUEUE_URL"] == {"Ref": dev.logical_id(queues.intents)}
        # Released queued entries go back through the signals queue.
        assert env("risk")["TRADEPIPE_SIGNALS_QUEUE_URL"] == {"Ref": dev.logical_id(queues.signals)}
        endpoint = env("indexer")["TRADEPIPE_OPENSEARCH_ENDPOINT"]
        assert endpoint["Fn::Join"][1][0] == "https://"
        assert env("indexer")["TRADEPIPE_OPENSEARCH_AUTH"] == "sigv4"
        assert "TRADEPIPE_OPENSEARCH_ENDPOINT" not in env("webhook")


class TestEventSources:
    @pytest.mark.parametrize(
        ("function_name", "queue_attr"),
        [("risk", "signals"), ("executor", "intents")],
        ids=["risk", "executor"],
    )
    def test_fifo_queue_feeds_function_with_partial_batch_failures(
        self, dev: Synth, function_name: str, queue_attr: str
    ) -> None:
        dev.template.has_resource_properties(
            "AWS::Lambda::EventSourceMapping",
            {
                "FunctionName": {"Ref": dev.logical_id(dev.stack.functions.by_name[function_name].function)},
                "EventSourceArn": {
                    "Fn::GetAtt": [dev.logical_id(getattr(dev.stack.queues, queue_attr)), "Arn"]
                },
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "BatchSize": 5,
            },
        )

    @pytest.mark.parametrize("spec", resources.TABLES, ids=lambda s: s.base_name)
    def test_table_stream_feeds_indexer_with_bisect_retries_and_failure_queue(
        self, dev: Synth, spec: Any
    ) -> None:
        table_id = dev.logical_id(dev.stack.tables.by_spec[spec.logical_id])
        dev.template.has_resource_properties(
            "AWS::Lambda::EventSourceMapping",
            {
                "FunctionName": {"Ref": dev.logical_id(dev.stack.functions.indexer)},
                "EventSourceArn": {"Fn::GetAtt": [table_id, "StreamArn"]},
                "StartingPosition": "TRIM_HORIZON",
                "BisectBatchOnFunctionError": True,
                "MaximumRetryAttempts": Match.any_value(),
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "DestinationConfig": {
                    "OnFailure": {
                        "Destination": {
                            "Fn::GetAtt": [dev.logical_id(dev.stack.queues.indexer_failures), "Arn"]
                        }
                    }
                },
            },
        )

    def test_risk_runs_every_minute_to_release_queued_entries(self, dev: Synth) -> None:
        risk_arn = {"Fn::GetAtt": [dev.logical_id(dev.stack.functions.risk), "Arn"]}
        (rule,) = [
            r["Properties"]
            for r in dev.resources_of("AWS::Events::Rule").values()
            if "ScheduleExpression" in r["Properties"] and r["Properties"]["Targets"][0]["Arn"] == risk_arn
        ]
        assert rule["ScheduleExpression"] == "rate(1 minute)"
        (target,) = rule["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [dev.logical_id(dev.stack.functions.risk), "Arn"]}
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == 0
        dev.template.has_resource_properties(
            "AWS::Lambda::Permission",
            {
                "Action": "lambda:InvokeFunction",
                "Principal": "events.amazonaws.com",
                "FunctionName": {"Fn::GetAtt": [dev.logical_id(dev.stack.functions.risk), "Arn"]},
            },
        )

    def test_every_mapping_reports_batch_item_failures(self, dev: Synth) -> None:
        mappings = dev.resources_of("AWS::Lambda::EventSourceMapping").values()
        streamed = [t for t in resources.TABLES if t.stream and t.index_name]
        # The two FIFO queues, the notifier's queue, the streams.
        assert len(mappings) == len(resources.QUEUES) + 1 + len(streamed) == 7
        assert all(m["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for m in mappings)

    def test_risk_state_stream_reaches_the_indexer_only_for_what_it_indexes(self, dev: Synth) -> None:
        """The request budget is written before every broker request: its changes (and counters, lots,
        queued entries) must not invoke the indexer, as the local change triggers do not feed them."""
        risk_state = dev.logical_id(dev.stack.tables.risk_state)
        filters = {
            json.dumps(m["Properties"]["EventSourceArn"]): m["Properties"].get("FilterCriteria")
            for m in dev.resources_of("AWS::Lambda::EventSourceMapping").values()
            if "StreamArn" in json.dumps(m["Properties"]["EventSourceArn"])
        }
        (risk_filter,) = [f for arn, f in filters.items() if risk_state in arn]
        (pattern,) = [json.loads(f["Pattern"]) for f in risk_filter["Filters"]]
        assert pattern == {"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "STATE#"}, {"prefix": "EQUITY#"}]}}}}
        assert [f for arn, f in filters.items() if risk_state not in arn] == [None, None, None]


class TestEvents:
    def test_bus_is_named_by_resources(self, dev: Synth) -> None:
        (bus,) = dev.resources_of("AWS::Events::EventBus").values()
        assert bus["Properties"]["Name"] == resources.EVENT_BUS.name("dev")

    @pytest.mark.parametrize(("stage", "days"), [("dev", 30), ("prod", 365)])
    def test_bus_has_an_archive_of_pipeline_events_kept_per_stage(
        self, dev: Synth, prod: Synth, stage: str, days: int
    ) -> None:
        synth = dev if stage == "dev" else prod
        bus_id = synth.logical_id(synth.stack.events.bus)
        (archive,) = synth.resources_of("AWS::Events::Archive").values()
        props = archive["Properties"]
        assert props["SourceArn"] == {"Fn::GetAtt": [bus_id, "Arn"]}
        assert props["RetentionDays"] == days == synth.stack.config.events.archive_retention_days
        assert props["EventPattern"] == {"source": [resources.EVENT_SOURCE]}
        assert props["ArchiveName"] == resources.EVENT_BUS.archive_name(stage)

    def test_prod_bus_and_archive_are_retained(self, dev: Synth, prod: Synth) -> None:
        for cfn_type in ("AWS::Events::EventBus", "AWS::Events::Archive"):
            assert {r["DeletionPolicy"] for r in prod.resources_of(cfn_type).values()} == {"Retain"}
            assert {r["DeletionPolicy"] for r in dev.resources_of(cfn_type).values()} == {"Delete"}


class TestSearch:
    def test_domain_is_encrypted_https_only_with_fine_grained_access(self, dev: Synth) -> None:
        dev.template.has_resource_properties(
            "AWS::OpenSearchService::Domain",
            {
                "EngineVersion": Match.string_like_regexp(r"^OpenSearch_2\.\d+$"),
                "EncryptionAtRestOptions": {"Enabled": True},
                "NodeToNodeEncryptionOptions": {"Enabled": True},
                "DomainEndpointOptions": {
                    "EnforceHTTPS": True,
                    "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07",
                },
                "AdvancedSecurityOptions": Match.object_like(
                    {"Enabled": True, "InternalUserDatabaseEnabled": True}
                ),
            },
        )

    def test_domain_policy_admits_http_verbs_on_this_domain_only(self, dev: Synth) -> None:
        (domain,) = dev.resources_of("AWS::OpenSearchService::Domain").values()
        (statement,) = domain["Properties"]["AccessPolicies"]["Statement"]
        assert statement["Action"] == "es:ESHttp*"
        assert json.dumps(statement["Resource"]).endswith(':domain/tradepipe-dev-search/*"]]}')

    def test_capacity_follows_stage_config(self, dev: Synth, prod: Synth) -> None:
        for synth in (dev, prod):
            search = synth.stack.config.opensearch
            synth.template.has_resource_properties(
                "AWS::OpenSearchService::Domain",
                {
                    "ClusterConfig": Match.object_like(
                        {
                            "InstanceType": search.instance_type,
                            "InstanceCount": search.instance_count,
                            "ZoneAwarenessEnabled": search.zone_awareness,
                        }
                    ),
                    "EBSOptions": Match.object_like({"VolumeSize": search.volume_size_gb}),
                },
            )

    def test_indexer_may_only_use_http_verbs_on_the_domain(self, dev: Synth) -> None:
        domain_id = dev.logical_id(dev.stack.search.domain)
        actions = actions_on(policy_of(dev, "indexer"), domain_id)
        assert actions == {"es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"}
        for other in ("webhook", "risk", "executor"):
            assert not actions_on(policy_of(dev, other), domain_id)


class TestSecrets:
    def test_named_secrets_the_notifiers_and_the_search_master_user(self, dev: Synth) -> None:
        names = [
            s["Properties"].get("Name") for s in dev.resources_of("AWS::SecretsManager::Secret").values()
        ]
        for spec in (*resources.SECRETS, resources.NOTIFY_SECRET):
            assert spec.name("dev") in names
        assert len(names) == len(resources.SECRETS) + 2

    def test_webhook_secret_is_generated_under_default(self, dev: Synth) -> None:
        dev.template.has_resource_properties(
            "AWS::SecretsManager::Secret",
            {
                "Name": resources.WEBHOOK_SECRET.name("dev"),
                "GenerateSecretString": Match.object_like(
                    {"SecretStringTemplate": "{}", "GenerateStringKey": "default"}
                ),
            },
        )


class TestLayers:
    def _layer_ids(self, synth: Synth, function_name: str) -> set[str]:
        return {layer["Ref"] for layer in synth.function(function_name)["Properties"]["Layers"]}

    def test_webhook_gets_core_layer_only(self, dev: Synth) -> None:
        layers = dev.stack.layers
        assert self._layer_ids(dev, "webhook") == {dev.logical_id(layers.core)}
        assert dev.logical_id(layers.talib) not in self._layer_ids(dev, "webhook")

    def test_only_risk_gets_talib_layer(self, dev: Synth) -> None:
        talib_id = dev.logical_id(dev.stack.layers.talib)
        holders = [spec.name for spec in resources.FUNCTIONS if talib_id in self._layer_ids(dev, spec.name)]
        assert holders == ["risk"]

    def test_every_function_gets_core_layer(self, dev: Synth) -> None:
        core_id = dev.logical_id(dev.stack.layers.core)
        assert all(core_id in self._layer_ids(dev, spec.name) for spec in resources.FUNCTIONS)

    def test_layers_target_arm64_and_the_function_runtime(self, dev: Synth) -> None:
        for layer in dev.resources_of("AWS::Lambda::LayerVersion").values():
            assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
            assert layer["Properties"]["CompatibleRuntimes"] == [f"python{layer_specs.LAMBDA_PYTHON_VERSION}"]

    def test_unbuilt_layers_synthesize_with_a_placeholder_warning(self, dev: Synth) -> None:
        report = json.loads((dev.outdir / "validation-report.json").read_text())
        annotations = [
            violation
            for plugin in report["pluginReports"]
            for violation in plugin["violations"]
            if violation["ruleName"].endswith("tradepipe:layer-placeholder")
        ]
        assert len(annotations) == 1
        assert "make layers" in annotations[0]["description"]


class TestIam:
    def test_no_statement_allows_every_action(self, dev: Synth, prod: Synth) -> None:
        for synth in (dev, prod):
            for logical_id, statement in statements_of(synth):
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                assert "*" not in actions, logical_id
                assert not [a for a in actions if a.endswith(":*")], logical_id

    def test_webhook_may_record_signals_enqueue_and_read_its_secret_only(self, dev: Synth) -> None:
        statements = policy_of(dev, "webhook")
        signals_id = dev.logical_id(dev.stack.tables.signals)
        on_table = [s for s in statements if s["Resource"] == {"Fn::GetAtt": [signals_id, "Arn"]}]
        assert actions_on(on_table, signals_id) == {
            "dynamodb:PutItem",
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
        }
        # GET /signals queries the by-received-day index, by name, and nothing else does.
        index_arn = f"/index/{resources.SIGNALS_BY_DAY.name}"
        assert actions_on(statements, index_arn) == {"dynamodb:Query"}
        for other in ("indexer", "notifier"):
            assert actions_on(policy_of(dev, other), "/index/") == set()
        # The reconciler (in the executor) queries the orders it still follows, and no other index.
        executor = policy_of(dev, "executor")
        assert actions_on(executor, f"/index/{resources.ORDERS_WORKING.name}") == {"dynamodb:Query"}
        assert actions_on(executor, index_arn) == set()
        # The risk schedule reads the newest alert there, for the silence check.
        assert actions_on(policy_of(dev, "risk"), index_arn) == {"dynamodb:Query"}
        # GET /signals/{id} reads the signal's orders; nothing else.
        assert actions_on(statements, dev.logical_id(dev.stack.tables.orders)) == {"dynamodb:GetItem"}
        assert "sqs:SendMessage" in actions_on(statements, dev.logical_id(dev.stack.queues.signals))
        # POST /flatten/{account}: send to the intents queue, nothing else on it (it is consumed by the
        # executor only); SQS-managed encryption, so no KMS key to use.
        assert actions_on(statements, dev.logical_id(dev.stack.queues.intents)) == {
            "sqs:SendMessage",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
        }
        assert "kms:" not in json.dumps([s["Action"] for s in statements])
        assert "secretsmanager:GetSecretValue" in actions_on(
            statements, dev.logical_id(dev.stack.secrets.webhook)
        )
        assert actions_on(statements, dev.logical_id(dev.stack.secrets.alpaca_paper)) == set()

    def test_executor_reads_live_keys_only_where_live_trading_is_allowed(self, dev: Synth) -> None:
        statements = policy_of(dev, "executor")
        assert "secretsmanager:GetSecretValue" in actions_on(
            statements, dev.logical_id(dev.stack.secrets.alpaca_paper)
        )
        assert not dev.stack.config.live_trading_allowed
        assert actions_on(statements, dev.logical_id(dev.stack.secrets.alpaca_live)) == set()

    def test_no_wildcard_action_on_a_data_resource(self, dev: Synth, prod: Synth) -> None:
        for synth in (dev, prod):
            stack = synth.stack
            data = [
                *stack.tables.by_spec.values(),
                *stack.queues.by_spec.values(),
                *stack.queues.dlqs.values(),
                *stack.secrets.by_spec.values(),
                stack.events.bus,
            ]
            data_ids = [synth.logical_id(resource) for resource in data]
            checked = 0
            for logical_id, statement in statements_of(synth):
                resource = json.dumps(statement["Resource"])
                if not any(data_id in resource for data_id in data_ids):
                    continue
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                assert not [a for a in actions if "*" in a], (logical_id, actions)
                checked += 1
            assert checked >= len(resources.FUNCTIONS)  # every function touches some data resource

    def test_risk_state_grants_follow_each_function_use(self, dev: Synth) -> None:
        table_id = dev.logical_id(dev.stack.tables.risk_state)
        assert actions_on(policy_of(dev, "risk"), table_id) == {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
        }
        # halt / resume route; recorded exits.
        assert actions_on(policy_of(dev, "webhook"), table_id) == {"dynamodb:GetItem", "dynamodb:UpdateItem"}
        # recorded exits, the reconciler's reading of the strategies' reported positions, equity snapshots;
        # the ticker leases (conditional put, conditional delete), closes queued for the open, dropping the
        # ticker's queued entry on an exit.
        assert actions_on(policy_of(dev, "executor"), table_id) == {
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
        }

        # The indexer reads the stream (StreamArn), never the items; on signals only BatchGetItem.
        indexer = policy_of(dev, "indexer")
        signals_id = dev.logical_id(dev.stack.tables.signals)
        assert actions_on(indexer, json.dumps({"Fn::GetAtt": [signals_id, "Arn"]})) == {
            "dynamodb:BatchGetItem"
        }
        assert not [
            s for s in indexer if json.dumps({"Fn::GetAtt": [table_id, "Arn"]}) in json.dumps(s["Resource"])
        ]

    def test_executor_reconciles_every_minute_and_records_fills(self, dev: Synth) -> None:
        executor_arn = {"Fn::GetAtt": [dev.logical_id(dev.stack.functions.executor), "Arn"]}
        rules = [
            r["Properties"]
            for r in dev.resources_of("AWS::Events::Rule").values()
            if "ScheduleExpression" in r["Properties"]
            and r["Properties"]["Targets"][0]["Arn"] == executor_arn
        ]
        assert [r["ScheduleExpression"] for r in rules] == ["rate(1 minute)"]
        fills = dev.logical_id(dev.stack.tables.fills)
        assert actions_on(policy_of(dev, "executor"), fills) == {"dynamodb:PutItem", "dynamodb:Query"}

    @pytest.mark.parametrize("function_name", ["risk", "executor", "webhook"])
    def test_publishers_may_put_events_on_the_bus_only(self, dev: Synth, function_name: str) -> None:
        bus_arn = {"Fn::GetAtt": [dev.logical_id(dev.stack.events.bus), "Arn"]}
        put_events = [
            s
            for s in policy_of(dev, function_name)
            if "events:PutEvents" in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        ]
        assert put_events
        for statement in put_events:
            assert statement["Resource"] == bus_arn
            assert statement["Action"] == "events:PutEvents"

    def test_risk_may_send_released_entries_to_the_signals_queue_only(self, dev: Synth) -> None:
        statements = policy_of(dev, "risk")
        assert "sqs:SendMessage" in actions_on(statements, dev.logical_id(dev.stack.queues.signals))
        assert "sqs:SendMessage" in actions_on(statements, dev.logical_id(dev.stack.queues.intents))
        for dlq in dev.stack.queues.dlqs.values():
            assert actions_on(statements, dev.logical_id(dlq)) == set()

    def test_indexer_may_not_put_events(self, dev: Synth) -> None:
        assert "events:PutEvents" not in json.dumps(policy_of(dev, "indexer"))

    def test_risk_reads_paper_keys_for_market_data_but_never_live_keys(self, dev: Synth) -> None:
        statements = policy_of(dev, "risk")
        assert "secretsmanager:GetSecretValue" in actions_on(
            statements, dev.logical_id(dev.stack.secrets.alpaca_paper)
        )
        assert actions_on(statements, dev.logical_id(dev.stack.secrets.alpaca_live)) == set()

    def test_no_function_role_uses_a_managed_policy(self, dev: Synth) -> None:
        for built in dev.stack.functions.by_name.values():
            role = dev.raw["Resources"][dev.logical_id(built.role)]
            assert "ManagedPolicyArns" not in role["Properties"]


class TestNag:
    # Every synth (the dev and prod fixtures too) raises on an unacknowledged AwsSolutions finding, so a
    # clean synth is the "no finding" check. The validation report lists a plugin only when it has
    # something to say, so reading "no violations" from it passed with the plugin gone as well; instead,
    # this proves the plugin is registered by the very build_app the fixtures use.
    def test_build_app_runs_awssolutions_so_an_unacknowledged_finding_fails_the_synth(
        self, tmp_path: Path
    ) -> None:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(layer_specs, "LAYER_BUILD_DIR", tmp_path / "no-layers-built")
            app, stack = build_app({**cdk_json_context(), "stage": "dev"}, outdir=str(tmp_path))
        sqs.Queue(stack, "Careless", encryption=sqs.QueueEncryption.UNENCRYPTED)

        with pytest.raises(RuntimeError, match="ValidationFailed"):
            app.synth()

        report = json.loads((tmp_path / "validation-report.json").read_text())
        (nag,) = [plugin for plugin in report["pluginReports"] if plugin["pluginName"] == "AwsSolutions"]
        assert {v["ruleName"] for v in nag["violations"]} >= {"AwsSolutions-SQS3", "AwsSolutions-SQS4"}


def test_orders_table_has_the_reconcilers_sparse_index_of_open_orders(dev: Synth) -> None:
    spec = resources.ORDERS_WORKING
    dev.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": resources.ORDERS_TABLE.name("dev"),
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": spec.name,
                    "KeySchema": [
                        {"AttributeName": spec.partition_key, "KeyType": "HASH"},
                        {"AttributeName": spec.sort_key, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        },
    )


def test_signals_table_has_the_read_api_index(dev: Synth) -> None:
    spec = resources.SIGNALS_BY_DAY
    dev.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": resources.SIGNALS_TABLE.name("dev"),
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": spec.name,
                    "KeySchema": [
                        {"AttributeName": spec.partition_key, "KeyType": "HASH"},
                        {"AttributeName": spec.sort_key, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        },
    )

"""PipelineFunctions: the four pipeline functions, each with its own role and log group, and their triggers
(the notifier, the fifth, is in notifications.py).

    webhook  <- API Gateway (wired in api.py); sends alerts to the signals queue, flattens to the intents one
    risk     <- signals FIFO queue; a one-minute schedule (release entries queued for the open)
    executor <- order-intents FIFO queue
    indexer  <- both tables' DynamoDB streams

Data-access grants are not here: the stack grants where a function meets a table, queue or secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.conventions import acknowledge, log_retention, removal_policy
from infra.components.layers import ARCHITECTURE, ASSET_EXCLUDES, RUNTIME, PipelineLayers
from infra.config import StageConfig
from infra.paths import FUNCTIONS_DIR
from tradepipe import resources
from tradepipe.contracts.items import EQUITY_PK_PREFIX, STATE_PK_PREFIX
from tradepipe.settings import Settings

HANDLER = "handler.lambda_handler"
# Stream mapping: a poison record is isolated by bisecting, retried a few times, then its position goes to
# the failure queue and the shard moves on (the table, not the index, is the record of truth).
INDEXER_BATCH_SIZE = 100
INDEXER_RETRY_ATTEMPTS = 5
INDEXER_MAX_BATCHING_WINDOW = Duration.seconds(2)
# The risk function releases entries queued while the market was closed once the broker's clock says open.
RELEASE_QUEUED_SCHEDULE = events.Schedule.rate(Duration.minutes(1))
# SQS event source maximum concurrency (Lambda's minimum is 2) instead of reserved concurrency: it bounds
# the concurrent broker and market-data calls (Alpaca: 200 requests a minute per account) without taking
# concurrency away from the account, which a new account (limit 10, 10 always unreserved) cannot give.
QUEUE_MAX_CONCURRENCY = 2
# The API function runs without X-Ray (see api.py): no Tracer, no SDK import on its cold start.
UNTRACED = frozenset({resources.WEBHOOK_FUNCTION.name})


def function_environment(
    scope: Construct, config: StageConfig, spec: resources.FunctionSpec, **settings: object
) -> dict[str, str]:
    """A function's environment: the settings every function shares, its own, and Powertools'."""
    common = {
        "stage": config.stage,
        "region": Stack.of(scope).region,
        "live_trading_enabled": config.live_trading_allowed,
    }
    return {
        **Settings.explicit(**common, **settings).to_environment(),
        "POWERTOOLS_METRICS_NAMESPACE": resources.METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": config.log_level,
        "POWERTOOLS_SERVICE_NAME": spec.name,
        **({"POWERTOOLS_TRACE_DISABLED": "true"} if spec.name in UNTRACED else {}),
        # pydantic looks for plugins in every installed distribution's entry points at its first schema,
        # on the cold start's path (~10 ms on the webhook); we install none.
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }


class PipelineFunction(Construct):
    """One function: its role (nothing attached but its own log group and X-Ray), log group and code."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: resources.FunctionSpec,
        config: StageConfig,
        layers: list[lambda_.ILayerVersion],
        environment: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        missing = set(spec.environment_keys) - set(environment)
        if missing:
            raise ValueError(f"function {spec.name!r} needs environment {sorted(missing)} (resources.py)")
        function_name = f"{config.name_prefix}-{spec.name}"
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=log_retention(config),
            removal_policy=removal_policy(config),
        )
        # An explicit role instead of the default one: the default attaches AWSLambdaBasicExecutionRole,
        # which may write to every log group in the account.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"tradepipe {config.stage} {spec.name} function",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR / spec.code_dir), exclude=ASSET_EXCLUDES),
            layers=layers,
            timeout=Duration.seconds(spec.timeout_s),
            memory_size=spec.memory_mb,
            tracing=lambda_.Tracing.DISABLED if spec.name in UNTRACED else lambda_.Tracing.ACTIVE,
            role=self.role,
            log_group=self.log_group,
            environment=dict(environment),
            reserved_concurrent_executions=config.functions.reserved_concurrency.get(spec.name),
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions "
            "(added by tracing=ACTIVE).",
        )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "The runtime is pinned to the Python version the dependency layers are built for (cp312 wheels, "
            "infra/layer_specs.py); bump the runtime and the layer builds together.",
        )


class PipelineFunctions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        layers: PipelineLayers,
        signals_queue: sqs.IQueue,
        intents_queue: sqs.IQueue,
        streamed_tables: list[dynamodb.Table],
        stream_failure_queue: sqs.IQueue,
        search_endpoint: str,
    ) -> None:
        super().__init__(scope, construct_id)
        own: dict[str, dict[str, object]] = {
            resources.WEBHOOK_FUNCTION.name: {
                "signals_queue_url": signals_queue.queue_url,
                # POST /flatten/{account} hands the operator's flatten to the executor on the intents queue.
                "intents_queue_url": intents_queue.queue_url,
                # Defense in depth: the API resource policy enforces the same list before the function runs.
                "allowed_source_cidrs": list(config.api.allowed_source_ips),
            },
            resources.RISK_FUNCTION.name: {
                "intents_queue_url": intents_queue.queue_url,
                # Released queued entries go back through the signals queue.
                "signals_queue_url": signals_queue.queue_url,
                # Its minute schedule also announces a silent pipeline.
                "notify_silence_minutes": config.notifications.silence_minutes,
            },
            resources.EXECUTOR_FUNCTION.name: {},
            resources.INDEXER_FUNCTION.name: {
                "opensearch_endpoint": f"https://{search_endpoint}",
                "opensearch_auth": "sigv4",
            },
        }
        self.by_name: dict[str, PipelineFunction] = {}
        for spec in resources.PIPELINE_FUNCTIONS:
            self.by_name[spec.name] = PipelineFunction(
                self,
                spec.name.capitalize(),
                spec=spec,
                config=config,
                layers=layers.for_function(spec.name),
                environment=function_environment(self, config, spec, **own[spec.name]),
            )
        self.webhook = self.by_name[resources.WEBHOOK_FUNCTION.name].function
        self.risk = self.by_name[resources.RISK_FUNCTION.name].function
        self.executor = self.by_name[resources.EXECUTOR_FUNCTION.name].function
        self.indexer = self.by_name[resources.INDEXER_FUNCTION.name].function

        # FIFO queue -> function. Partial batch responses: one failed ticker group does not redeliver the
        # others. (FIFO event sources take no batching window.) The mapping grants the consume actions.
        for function, queue, queue_spec in (
            (self.risk, signals_queue, resources.SIGNALS_QUEUE),
            (self.executor, intents_queue, resources.INTENTS_QUEUE),
        ):
            function.add_event_source(
                event_sources.SqsEventSource(
                    queue,
                    batch_size=queue_spec.batch_size,
                    report_batch_item_failures=True,
                    max_concurrency=QUEUE_MAX_CONCURRENCY,
                )
            )

        self.release_queued_rule = events.Rule(
            self,
            "ReleaseQueuedSchedule",
            description="At the open, release the entries queued while the market was closed",
            schedule=RELEASE_QUEUED_SCHEDULE,
            # A missed tick is retried by the next one a minute later.
            targets=[targets.LambdaFunction(self.risk, retry_attempts=0)],
        )

        self.reconcile_rule = events.Rule(
            self,
            "ReconcileSchedule",
            description="Follow the broker: partial fills, asynchronous rejections, legs, fills, divergence",
            schedule=RELEASE_QUEUED_SCHEDULE,
            targets=[targets.LambdaFunction(self.executor, retry_attempts=0)],
        )

        for table in streamed_tables:
            self.indexer.add_event_source(
                event_sources.DynamoEventSource(
                    table,
                    filters=_stream_filters(table),
                    starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                    batch_size=INDEXER_BATCH_SIZE,
                    max_batching_window=INDEXER_MAX_BATCHING_WINDOW,
                    bisect_batch_on_error=True,
                    retry_attempts=INDEXER_RETRY_ATTEMPTS,
                    report_batch_item_failures=True,
                    on_failure=event_sources.SqsDlq(stream_failure_queue),
                )
            )
        acknowledge(
            self.by_name[resources.INDEXER_FUNCTION.name].role,
            "AwsSolutions-IAM5[Resource::*]",
            "dynamodb:ListStreams (added by the stream event source) has no resource-level permissions; "
            "X-Ray likewise.",
        )


def _stream_filters(table: dynamodb.ITable) -> list[Mapping[str, Any]] | None:
    """The risk-state table is mostly working state the indexer ignores (the request budget, written before
    every broker request; order counters, cooldowns, queued entries, lots): only the items it turns into
    documents reach it, as the single-machine runtime's change triggers feed only those."""
    if table.node.id != resources.RISK_STATE_TABLE.logical_id:
        return None
    prefixes = [{"prefix": p} for p in (STATE_PK_PREFIX, EQUITY_PK_PREFIX)]
    key = resources.RISK_STATE_TABLE.partition_key
    return [lambda_.FilterCriteria.filter({"dynamodb": {"Keys": {key: {"S": prefixes}}}})]

"""TradepipeStack: composes the constructs and grants where two of them meet. No resource is defined here.

POST /webhook -> webhook -> signals.fifo -> risk -> order-intents.fifo -> executor -> Alpaca
                    |                        |                             |
                    +---- signals table <----+------ orders table <--------+
                    +-- risk-state table, event bus (halt/resume, switches, exits) --+
                                 \\____ streams ____/
                                           v
                                        indexer -> OpenSearch
event bus -> notifications queue -> notifier -> Slack, Discord, Telegram, webhooks, email (notifications.py)
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.api import WebhookApi
from infra.components.conventions import acknowledge
from infra.components.events import DomainEvents
from infra.components.functions import PipelineFunction, PipelineFunctions
from infra.components.layers import PipelineLayers
from infra.components.notifications import Notifications
from infra.components.observability import PipelineAlarms
from infra.components.queues import SignalQueues
from infra.components.search import SearchDomain
from infra.components.search_setup import SearchSetup
from infra.components.secrets import TradingSecrets
from infra.components.tables import TradeTables
from infra.config import StageConfig
from tradepipe import resources

# Least privilege per use case, in trading terms (see tradepipe.ports).
RECORD_SIGNAL = ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem")  # record_new, get, advance
ADVANCE_SIGNAL = ("dynamodb:GetItem", "dynamodb:UpdateItem")  # get, advance
RECORD_ORDER = ("dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem")  # record_intent, get, update
READ_ITEM = ("dynamodb:GetItem",)
# Risk state (tradepipe.adapters.risk_state): the risk stage reads and switches the trading state, raises the
# high-water mark, counts orders (UpdateItem ADD), queues entries (PutItem) and drains them at the open
# (Query, conditional DeleteItem). Exits are recorded in a transaction of two UpdateItems. The account's
# request budget (adapters/request_budget.py) is one conditional UpdateItem before every broker request.
RISK_STATE_RW = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
)
SWITCH_TRADING_STATE = ("dynamodb:GetItem", "dynamodb:UpdateItem")  # trading_state, set_trading_state
# record_exit, reported positions (Get/Update/Query); the reconciler's equity snapshot each run (PutItem);
# the account's request budget before every broker request (conditional UpdateItem).
RECORD_EXIT = ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:PutItem")
# The executor and the reconciler also take and give back the per-ticker lease (conditional PutItem with an
# expiry, conditional DeleteItem), queue an exit's close for the open (PutItem) and drop the ticker's queued
# entry or close (DeleteItem).
EXECUTOR_RISK_STATE = (*RECORD_EXIT, "dynamodb:DeleteItem")
LIST_SIGNALS = ("dynamodb:Query",)
LIST_WORKING_ORDERS = ("dynamodb:Query",)  # OrderStore.working
LOOKUP_SIGNALS = ("dynamodb:BatchGetItem",)
RECORD_FILL = ("dynamodb:PutItem", "dynamodb:Query")  # record_fill (conditional put), net_quantity


class TradepipeStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        require_layers: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        Tags.of(self).add("project", "tradepipe")
        Tags.of(self).add("stage", config.stage)

        self.tables = TradeTables(self, "Tables", config=config)
        self.queues = SignalQueues(self, "Queues", config=config)
        self.secrets = TradingSecrets(self, "Secrets", config=config)
        self.search = SearchDomain(self, "Search", config=config)
        self.events = DomainEvents(self, "Events", config=config)
        self.layers = PipelineLayers(self, "Layers", config=config, require_built=require_layers)
        self.functions = PipelineFunctions(
            self,
            "Functions",
            config=config,
            layers=self.layers,
            signals_queue=self.queues.signals,
            intents_queue=self.queues.intents,
            streamed_tables=self.tables.streamed,
            stream_failure_queue=self.queues.indexer_failures,
            search_endpoint=self.search.endpoint,
        )
        self.api = WebhookApi(self, "WebhookApi", config=config, webhook=self.functions.webhook)
        self.notifications = Notifications(
            self, "Notifications", config=config, layers=self.layers, bus=self.events.bus
        )
        self.search_setup = SearchSetup(
            self,
            "SearchSetup",
            config=config,
            layers=self.layers,
            domain=self.search.domain,
            indexer_role=self.functions.by_name["indexer"].role,
        )
        # The indexer only writes through its aliases: its stream mappings (and a new version of its code)
        # wait for the setup to apply templates, indices and aliases, so it never writes before they exist.
        indexer = self.functions.indexer
        for child in indexer.node.children:
            if isinstance(child, lambda_.EventSourceMapping):
                child.node.add_dependency(self.search_setup.resource)
        indexer.node.add_dependency(self.search_setup.resource)
        pipeline_dlqs: dict[str, sqs.IQueue] = {
            **{f"{logical_id}Dlq": dlq for logical_id, dlq in self.queues.dlqs.items()},
            "IndexerFailures": self.queues.indexer_failures,
        }
        self.alarms = PipelineAlarms(
            self,
            "Alarms",
            config=config,
            functions={name: fn.function for name, fn in self.function_constructs.items()},
            dead_letter_queues={**pipeline_dlqs, "NotificationsDlq": self.notifications.dlq},
            api=self.api.api,
        )
        # A message dead-lettered in the pipeline is news for the trader too (orders may be stuck).
        self.notifications.announce_dead_letters(
            [self.alarms.alarms[f"{name}NotEmpty"] for name in pipeline_dlqs]
        )

        self._grant()
        self._outputs()

    @property
    def function_constructs(self) -> dict[str, PipelineFunction]:
        """Every function of the stack by name: the pipeline's four and the notifier."""
        return {**self.functions.by_name, resources.NOTIFIER_FUNCTION.name: self.notifications.notifier}

    def _grant(self) -> None:
        fn = self.functions
        signals, orders, risk_state = self.tables.signals, self.tables.orders, self.tables.risk_state

        # webhook: record the signal (dedupe by conditional put), enqueue it, read the passphrases.
        _grant_table(signals, fn.webhook, RECORD_SIGNAL)
        # ... and serve GET /signals/{id}: the trail reads the signal's orders.
        _grant_table(orders, fn.webhook, READ_ITEM)
        # ... and GET /signals: newest first from the by-received-day index.
        _grant_index(signals, resources.SIGNALS_BY_DAY.name, fn.webhook, LIST_SIGNALS)
        self.queues.signals.grant_send_messages(fn.webhook)
        self.secrets.webhook.grant_read(fn.webhook)
        # ... and the halt / resume route: switch the trading state and announce it.
        _grant_table(risk_state, fn.webhook, SWITCH_TRADING_STATE)
        self.events.grant_publish(fn.webhook)
        # ... and POST /flatten/{account}: record the flatten's signal (RECORD_SIGNAL above) and send its
        # intent to the executor. The queue is SQS-managed encryption: no KMS key to grant.
        self.queues.intents.grant_send_messages(fn.webhook)

        # risk: consumes signals (event source mapping), advances the signal, enqueues the intent.
        _grant_table(signals, fn.risk, ADVANCE_SIGNAL)
        self.queues.intents.grant_send_messages(fn.risk)
        # ... decides against the risk state, publishes switches and caps, reads daily bars (paper keys).
        _grant_table(risk_state, fn.risk, RISK_STATE_RW)
        # ... and, on its schedule, sends the entries queued for the open back through the signals queue.
        self.queues.signals.grant_send_messages(fn.risk)
        # ... and finds the newest alert (the by-received-day index) to announce a silent pipeline.
        _grant_index(signals, resources.SIGNALS_BY_DAY.name, fn.risk, LIST_SIGNALS)
        self.events.grant_publish(fn.risk)
        self.secrets.alpaca_paper.grant_read(fn.risk)

        # executor: consumes intents (event source mapping), records the order, advances the signal.
        _grant_table(orders, fn.executor, RECORD_ORDER)
        _grant_table(signals, fn.executor, ADVANCE_SIGNAL)
        self.secrets.alpaca_paper.grant_read(fn.executor)
        # ... and on its schedule reconciles: one fill item per execution; the orders it still follows come
        # from the sparse orders-working index (one Query per run, whatever the account's history).
        _grant_table(self.tables.fills, fn.executor, RECORD_FILL)
        _grant_index(orders, resources.ORDERS_WORKING.name, fn.executor, LIST_WORKING_ORDERS)
        # ... records exits (cooldowns, losing streak), holds the ticker leases, queues closes for the open,
        # and publishes what it observed.
        _grant_table(risk_state, fn.executor, EXECUTOR_RISK_STATE)
        self.events.grant_publish(fn.executor)
        # The live keys are readable only where the stage allows live trading: a dev executor cannot
        # trade real money even if its environment were changed by hand.
        if self.config.live_trading_allowed:
            self.secrets.alpaca_live.grant_read(fn.executor)

        # indexer: stream reads come with the event source mappings; writes to the domain here.
        self.search.grant_indexer(fn.indexer)
        # ... and one BatchGetItem per batch for the signals' stage times on executions and fills.
        _grant_table(signals, fn.indexer, LOOKUP_SIGNALS)
        domain_id = self.get_logical_id(self.search.cfn_domain)
        acknowledge(
            self.functions.by_name["indexer"].role,
            f"AwsSolutions-IAM5[Resource::<{domain_id}.Arn>/*]",
            "Index and document paths (trading-signals/_doc/<id>, _bulk, templates) are created at run "
            "time; the grant is scoped to this one domain.",
        )

    def _outputs(self) -> None:
        CfnOutput(self, "WebhookUrl", value=self.api.webhook_url, description="TradingView webhook URL")
        CfnOutput(self, "SearchEndpoint", value=f"https://{self.search.endpoint}")
        CfnOutput(
            self, "AlarmTopicArn", value=self.alarms.topic.topic_arn, description="Subscribe on-call here"
        )
        CfnOutput(self, "DashboardUrl", value=self.alarms.dashboard_url, description="CloudWatch dashboard")
        CfnOutput(
            self,
            "IndexerRoleArn",
            value=self.functions.by_name["indexer"].role.role_arn,
            description="Mapped to the tradepipe_indexer OpenSearch role at deploy (SearchSetup)",
        )


def _grant_table(table: dynamodb.ITable, grantee: iam.IGrantable, actions: tuple[str, ...]) -> None:
    """The actions on the table itself. `Table.grant` would add `<table>/index/*` as soon as the table has
    an index; a use case that queries an index gets that index by name (`_grant_index`)."""
    iam.Grant.add_to_principal(grantee=grantee, actions=list(actions), resource_arns=[table.table_arn])


def _grant_index(
    table: dynamodb.ITable, index_name: str, grantee: iam.IGrantable, actions: tuple[str, ...]
) -> None:
    iam.Grant.add_to_principal(
        grantee=grantee, actions=list(actions), resource_arns=[f"{table.table_arn}/index/{index_name}"]
    )

"""Names, keys and shapes of every AWS resource: the one source of truth for `infra/` and the local stack.

The CDK app and `tradepipe.local` both read these definitions, so a table key or a stream view type cannot
drift between what is deployed and what the embedded default emulates.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index (projection ALL): string keys, the sort key optional."""

    name: str
    partition_key: str
    sort_key: str | None = None


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    base_name: str
    partition_key: str
    stream: bool = True
    ttl_attribute: str | None = None
    index_name: str | None = None  # the alias of the OpenSearch index fed from this table's stream
    sort_key: str | None = None  # string range key, for tables that query a partition
    indexes: tuple[IndexSpec, ...] = ()

    def name(self, stage: str) -> str:
        return f"tradepipe-{stage}-{self.base_name}"


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    base_name: str
    visibility_timeout_s: int
    max_receive_count: int = 5
    batch_size: int = 10

    def name(self, stage: str) -> str:
        return f"tradepipe-{stage}-{self.base_name}.fifo"

    def dlq_name(self, stage: str) -> str:
        return f"tradepipe-{stage}-{self.base_name}-dlq.fifo"


@dataclass(frozen=True)
class SecretSpec:
    logical_id: str
    base_name: str
    description: str

    def name(self, stage: str) -> str:
        return f"tradepipe/{stage}/{self.base_name}"


@dataclass(frozen=True)
class EventBusSpec:
    logical_id: str
    base_name: str

    def name(self, stage: str) -> str:
        return f"tradepipe-{stage}-{self.base_name}"

    def archive_name(self, stage: str) -> str:
        return f"tradepipe-{stage}-{self.base_name}-archive"


@dataclass(frozen=True)
class SearchIndexSpec:
    """One OpenSearch index: the alias everything names (the indexer writes through it, dashboards read it),
    the mapping version behind it and the time field its dashboards chart by. Its document model is
    `contracts.documents.DOCUMENT_MODELS[alias]`; its mapper is in `app/documents.py`."""

    alias: str
    time_field: str
    version: int = 1  # bump on any mapping change: a new index, then a reindex into it (no outage)

    @property
    def concrete(self) -> str:
        return f"{self.alias}-v{self.version}"

    @property
    def pattern(self) -> str:
        return f"{self.alias}-v*"

    @property
    def template_name(self) -> str:
        return f"tradepipe-{self.alias}"


# The index registry, beside the table registry below: the first five are fed by the tables' streams.
SIGNALS_INDEX = SearchIndexSpec("trading-signals", time_field="received_at")
EXECUTIONS_INDEX = SearchIndexSpec("trade-executions", time_field="created_at")
FILLS_INDEX = SearchIndexSpec("fills", time_field="executed_at")
RISK_EVENTS_INDEX = SearchIndexSpec("risk-events", time_field="at")  # risk-state STATE# items and caps
EQUITY_SNAPSHOTS_INDEX = SearchIndexSpec("equity-snapshots", time_field="sampled_at")  # risk-state EQUITY#
# Daily performance per mode/strategy/ticker, written by `tradepipe report --publish-snapshots` and the demo
# (analytics, not a stream): realized/unrealized P&L, win rate, drawdown, Sharpe...
PERFORMANCE_INDEX = SearchIndexSpec("performance-daily", time_field="day")
INDEXES: tuple[SearchIndexSpec, ...] = (
    SIGNALS_INDEX,
    EXECUTIONS_INDEX,
    FILLS_INDEX,
    RISK_EVENTS_INDEX,
    EQUITY_SNAPSHOTS_INDEX,
    PERFORMANCE_INDEX,
)

# The read API (GET /signals, newest first): one GSI partition per UTC day of receipt, sorted by the ISO
# receive time. A day partition takes every alert of that day; at TradingView volumes (Alpaca itself caps
# an account at 200 requests a minute) that is far below a partition's 1,000 writes/s. The signal adapter
# writes `received_day`; an item without it (written before the index existed) is simply not listed.
SIGNALS_BY_DAY = IndexSpec(name="by-received-day", partition_key="received_day", sort_key="received_at")
SIGNALS_TABLE = TableSpec(
    logical_id="SignalsTable",
    base_name="signals",
    partition_key="signal_id",
    ttl_attribute="expires_at",
    index_name=SIGNALS_INDEX.alias,
    indexes=(SIGNALS_BY_DAY,),
)
# The reconciler's index of open orders: sparse, an order carries `working_account` (its account) from the
# moment it is recorded until the reconciler has recorded its end and its legs', so one Query per run finds
# every order that can still change (a GTC leg weeks old included) and settled orders are never read again.
ORDERS_WORKING = IndexSpec(name="orders-working", partition_key="working_account", sort_key="client_order_id")
ORDERS_TABLE = TableSpec(
    logical_id="OrdersTable",
    base_name="orders",
    partition_key="client_order_id",
    index_name=EXECUTIONS_INDEX.alias,
    indexes=(ORDERS_WORKING,),
)
# Single-table design (adapters/risk_keys.py): per-account trading state, per account#ticker#strategy
# history, per-minute order counters (TTL) and queued entries (partition per account, one row per ticker:
# the sort key lets the open drain an account's queue with one Query).
RISK_STATE_TABLE = TableSpec(
    logical_id="RiskStateTable",
    base_name="risk-state",
    partition_key="pk",
    sort_key="sk",
    stream=True,
    ttl_attribute="expires_at",
    index_name=RISK_EVENTS_INDEX.alias,
)
# One item per broker execution, keyed <mode>#<symbol> + execution id: a redelivered fill is one item, and
# a position is the sum of its fills (the reconciler checks that against the broker).
FILLS_TABLE = TableSpec(
    logical_id="FillsTable",
    base_name="fills",
    partition_key="pk",
    sort_key="execution_id",
    stream=True,
    index_name=FILLS_INDEX.alias,
)
TABLES: tuple[TableSpec, ...] = (SIGNALS_TABLE, ORDERS_TABLE, RISK_STATE_TABLE, FILLS_TABLE)

# Visibility timeouts are six times the consumer's Lambda timeout (AWS's guidance for SQS event sources).
# Batch size 5 with a 60 s timeout: one order whose broker calls all hit the 5 s client timeout takes at
# most ~40 s inside the executor (4 attempts + 3 lookups + backoff), and four good messages ~2 s each fit
# in what is left, so one slow broker call cannot time the whole batch out (docs/architecture.md).
SIGNALS_QUEUE = QueueSpec(
    logical_id="SignalsQueue", base_name="signals", visibility_timeout_s=360, batch_size=5
)
INTENTS_QUEUE = QueueSpec(
    logical_id="IntentsQueue", base_name="order-intents", visibility_timeout_s=360, batch_size=5
)
QUEUES: tuple[QueueSpec, ...] = (SIGNALS_QUEUE, INTENTS_QUEUE)

# Domain events (trading-state switches, caps applied, divergences): unordered fan-out, archived for replay.
# Orders never travel here: they need the FIFO queues' per-ticker order.
EVENT_BUS = EventBusSpec(logical_id="EventBus", base_name="events")
EVENT_SOURCE = "tradepipe"

WEBHOOK_SECRET = SecretSpec(
    logical_id="WebhookSecret",
    base_name="webhook",
    description="TradingView webhook passphrases: JSON object {name: passphrase}",
)
ALPACA_PAPER_SECRET = SecretSpec(
    logical_id="AlpacaPaperSecret",
    base_name="alpaca/paper",
    description="Alpaca paper trading keys: JSON {api_key, secret_key}",
)
ALPACA_LIVE_SECRET = SecretSpec(
    logical_id="AlpacaLiveSecret",
    base_name="alpaca/live",
    description="Alpaca live keys: JSON {api_key, secret_key}; read only when live trading is enabled",
)
SECRETS: tuple[SecretSpec, ...] = (WEBHOOK_SECRET, ALPACA_PAPER_SECRET, ALPACA_LIVE_SECRET)
# The notifier's (infra/components/notifications.py owns it): written by the operator, read by the notifier.
NOTIFY_SECRET = SecretSpec(
    logical_id="NotifySecret",
    base_name="notify",
    description='Notification channel URLs (tokens inside): JSON {"notify_urls": ["slack+https://...", ...]}',
)

# Notifications: bus rule -> a standard queue (order does not matter: the outbox keys events, messages are
# grouped per batch) -> the notifier. The batching window lets a bar close's burst of fills arrive before
# the batch is rendered (one or a few messages instead of forty); the local runtime waits the same.
NOTIFY_QUEUE_BASE_NAME = "notifications"


def notify_topic_name(stage: str) -> str:
    """The email topic (SNS): its confirmed subscriptions are the recipients."""
    return f"tradepipe-{stage}-notifications"


NOTIFY_BATCH_WINDOW_S = 5
NOTIFY_BATCH_SIZE = 100


@dataclass(frozen=True)
class FunctionSpec:
    name: str  # the deployed name (tradepipe-<stage>-<name>, its log group): kept, so nothing is replaced
    timeout_s: int
    memory_mb: int
    environment_keys: tuple[str, ...] = field(default_factory=tuple)
    folder: str = ""  # its code under functions/, named for what it serves; default: the name

    @property
    def code_dir(self) -> str:
        return self.folder or self.name


# The API function: alerts, reads and the kill switch (functions/api/); deployed as `webhook`, its first name.
WEBHOOK_FUNCTION = FunctionSpec(name="webhook", timeout_s=10, memory_mb=512, folder="api")
RISK_FUNCTION = FunctionSpec(name="risk", timeout_s=60, memory_mb=1024)
EXECUTOR_FUNCTION = FunctionSpec(name="executor", timeout_s=60, memory_mb=1024)
INDEXER_FUNCTION = FunctionSpec(name="indexer", timeout_s=60, memory_mb=512)
# Renders and sends notifications (infra/components/notifications.py); its queue's visibility timeout is
# six times this.
NOTIFIER_FUNCTION = FunctionSpec(name="notifier", timeout_s=60, memory_mb=256)
PIPELINE_FUNCTIONS: tuple[FunctionSpec, ...] = (
    WEBHOOK_FUNCTION,
    RISK_FUNCTION,
    EXECUTOR_FUNCTION,
    INDEXER_FUNCTION,
)
FUNCTIONS: tuple[FunctionSpec, ...] = (*PIPELINE_FUNCTIONS, NOTIFIER_FUNCTION)

METRICS_NAMESPACE = "TradePipe"
# TradingView's published webhook source addresses (TradingView help: "About webhooks"), for the optional
# allowlist: the API resource policy on AWS, the handler locally.
TRADINGVIEW_SOURCE_IPS = ("52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7")
WEBHOOK_MAX_BODY_BYTES = 16 * 1024
# A batch's elements: a Pine script requests at most 40 tickers, so one bar's batch holds at most 40 alerts;
# 50 leaves room without letting one request turn into thousands of records.
WEBHOOK_MAX_BATCH_ALERTS = 50

"""PipelineAlarms: what pages on-call, sent to one SNS topic, and a CloudWatch dashboard of the same.

Every alarm here has a runbook entry in docs/operations.md under its `ALARM_RUNBOOK` anchor, and
tests/infra asserts that each exists with its stage threshold. The custom metrics come from Powertools
(EMF, namespace `resources.METRICS_NAMESPACE`, dimension `service` = the function's name).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.conventions import removal_policy
from infra.config import StageConfig
from tradepipe import resources

FIVE_MINUTES = Duration.minutes(5)
ONE_MINUTE = Duration.minutes(1)
FIFTEEN_MINUTES = Duration.minutes(15)


# The runbook anchors (docs/operations.md headings); tests check that each heading exists.
DLQ = "dlq-not-empty"
FUNCTION_ERRORS = "function-errors"
FUNCTION_THROTTLES = "function-throttles"
ITERATOR_AGE = "stream-iterator-age"
API_5XX = "api-5xx"
API_LATENCY = "api-p99-latency"
ORDER_REJECTIONS = "order-rejection-rate"
TRADING_HALTED = "trading-halted"
POSITION_DIVERGENCE = "position-divergence"
NOTIFICATIONS_DROPPED = "notifications-dropped"
NOTIFICATION_EVENTS_INVALID = "notification-events-invalid"
POSITION_UNPROTECTED = "position-unprotected"
ALARM_RUNBOOK = (
    DLQ,
    FUNCTION_ERRORS,
    FUNCTION_THROTTLES,
    ITERATOR_AGE,
    API_5XX,
    API_LATENCY,
    ORDER_REJECTIONS,
    TRADING_HALTED,
    POSITION_DIVERGENCE,
    NOTIFICATIONS_DROPPED,
    NOTIFICATION_EVENTS_INVALID,
    POSITION_UNPROTECTED,
)


def custom_metric(
    name: str, service: str, *, statistic: str = "Sum", period: Duration = ONE_MINUTE
) -> cloudwatch.Metric:
    """A Powertools metric: namespace TradePipe, dimension service=<function name>."""
    return cloudwatch.Metric(
        namespace=resources.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": service},
        statistic=statistic,
        period=period,
    )


class PipelineAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        functions: Mapping[str, lambda_.IFunction],
        dead_letter_queues: Mapping[str, sqs.IQueue],
        api: apigw.RestApi,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._prefix = config.name_prefix
        thresholds = config.alarms

        # CloudWatch can only publish to an encrypted topic through a customer-managed key whose policy
        # lets it use the key (the AWS-managed SNS key does not).
        self.key = kms.Key(
            self,
            "TopicKey",
            description=f"tradepipe {config.stage} alarm topic",
            enable_key_rotation=True,
            removal_policy=removal_policy(config),
        )
        self.key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=f"{self._prefix}-alarms",
            display_name=f"tradepipe {config.stage} alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        for email in thresholds.notify_emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self.runbook: dict[str, str] = {}  # alarm construct id -> runbook anchor

        for name, queue in dead_letter_queues.items():
            self._alarm(
                f"{name}NotEmpty",
                DLQ,
                queue.metric_approximate_number_of_messages_visible(period=ONE_MINUTE, statistic="Maximum"),
                threshold=thresholds.dlq_visible_messages,
                description=f"{name}: messages wait in a dead-letter queue; each one is an alert that did "
                "not finish (signal, order intent or index batch).",
            )
        for name, function in functions.items():
            errors = function.metric_errors(period=FIVE_MINUTES, statistic="Sum")
            invocations = function.metric_invocations(period=FIVE_MINUTES, statistic="Sum")
            self._alarm(
                f"{name.capitalize()}ErrorRate",
                FUNCTION_ERRORS,
                cloudwatch.MathExpression(
                    expression="IF(invocations > 0, 100 * errors / invocations, 0)",
                    using_metrics={"errors": errors, "invocations": invocations},
                    label=f"{name} error rate %",
                    period=FIVE_MINUTES,
                ),
                threshold=thresholds.function_error_rate_percent,
                description=f"{name}: more than {thresholds.function_error_rate_percent}% of invocations "
                "failed in five minutes.",
            )
            self._alarm(
                f"{name.capitalize()}Throttles",
                FUNCTION_THROTTLES,
                function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
                threshold=thresholds.function_throttles_per_5_minutes,
                description=f"{name}: invocations throttled (reserved or account concurrency).",
            )
        indexer = functions[resources.INDEXER_FUNCTION.name]
        self._alarm(
            "IndexerIteratorAge",
            ITERATOR_AGE,
            indexer.metric("IteratorAge", period=FIVE_MINUTES, statistic="Maximum"),
            threshold=thresholds.stream_iterator_age_ms,
            description="OpenSearch lags the tables: the indexer's stream iterator is old.",
        )
        self._alarm(
            "Api5xx",
            API_5XX,
            api.metric_server_error(period=FIVE_MINUTES, statistic="Sum"),
            threshold=thresholds.webhook_5xx_per_5_minutes,
            description="The API answered 5xx: bad alerts get 4xx, so a 5xx is a fault on our side and the "
            "alert may be lost unless TradingView retries.",
        )
        self._alarm(
            "ApiP99Latency",
            API_LATENCY,
            api.metric_latency(period=FIVE_MINUTES, statistic="p99"),
            threshold=thresholds.api_p99_latency_ms,
            description="Webhook p99 latency is high; TradingView abandons slow webhooks.",
        )
        executor = resources.EXECUTOR_FUNCTION.name
        rejected = custom_metric("OrdersRejected", executor, period=FIFTEEN_MINUTES)
        late = custom_metric("AsyncRejections", executor, period=FIFTEEN_MINUTES)
        submitted = custom_metric("OrdersSubmitted", executor, period=FIFTEEN_MINUTES)
        self._alarm(
            "OrderRejectionRate",
            ORDER_REJECTIONS,
            cloudwatch.MathExpression(
                expression=(
                    f"IF((rejected + submitted) >= {thresholds.order_rejection_min_orders}, "
                    "100 * (rejected + late) / (rejected + submitted), 0)"
                ),
                using_metrics={"rejected": rejected, "late": late, "submitted": submitted},
                label="order rejection rate %",
                period=FIFTEEN_MINUTES,
            ),
            threshold=thresholds.order_rejection_rate_percent,
            description="The broker rejects many orders (at submission or after a 200): buying power, "
            "wash trades, halted symbols or a bad risk profile.",
        )
        self._alarm(
            "TradingHalted",
            TRADING_HALTED,
            custom_metric("TradingHalted", resources.RISK_FUNCTION.name, statistic="Maximum"),
            threshold=1,
            description="An account's trading state is HALTED (daily loss, drawdown, losing streak or by "
            "hand): no order goes out until someone resumes it.",
        )
        self._alarm(
            "PositionDivergence",
            POSITION_DIVERGENCE,
            custom_metric("PositionDivergence", executor, statistic="Maximum"),
            threshold=1,
            description="The strategy's reported position differs from the broker's: a lost or doubled "
            "fill, or an order placed outside tradepipe.",
        )
        notifier = resources.NOTIFIER_FUNCTION.name
        if notifier in functions:
            self._alarm(
                "NotificationsDropped",
                NOTIFICATIONS_DROPPED,
                custom_metric("NotificationsDropped", notifier, period=FIVE_MINUTES),
                threshold=config.notifications.dropped_per_5_minutes,
                description="A channel refused notifications (a revoked webhook, a bad chat id) or they "
                "waited more than a day: the trader is not being told what happens.",
            )
            self._alarm(
                "NotificationEventsInvalid",
                NOTIFICATION_EVENTS_INVALID,
                custom_metric("NotificationEventsInvalid", notifier, period=FIVE_MINUTES),
                threshold=1,
                description="The notifier received events it cannot parse: a publisher and the contracts "
                "(contracts/events.py) disagree, so those notices are lost.",
            )
        self._alarm(
            "PositionUnprotected",
            POSITION_UNPROTECTED,
            custom_metric("PositionUnprotected", executor, statistic="Maximum"),
            threshold=1,
            description="The reconciler found a position without stop orders covering all of it (a leg "
            "cancelled by hand, a close that failed, a manual trade): it re-arms ours at the recorded stop.",
        )
        self.dashboard = self._dashboard(functions, dead_letter_queues, api)

    def _alarm(
        self,
        construct_id: str,
        runbook: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=f"{self._prefix}-{construct_id}",
            alarm_description=f"{description} Runbook: docs/operations.md#{runbook}",
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No data means nothing happened (no orders, an idle queue): not a reason to page.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        # Recovery is news too: on-call closes the page when the condition clears.
        alarm.add_ok_action(cw_actions.SnsAction(self.topic))
        self.alarms[construct_id] = alarm
        self.runbook[construct_id] = runbook
        return alarm

    def _dashboard(
        self,
        functions: Mapping[str, lambda_.IFunction],
        dead_letter_queues: Mapping[str, sqs.IQueue],
        api: apigw.RestApi,
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{self._prefix}-pipeline",
            default_interval=Duration.hours(6),
        )
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=list(self.alarms.values()), width=24, height=4
            )
        )
        webhook = resources.WEBHOOK_FUNCTION.name
        alerts = [
            custom_metric(name, webhook, period=FIVE_MINUTES)
            for name in ("AlertsAccepted", "AlertsDuplicate", "AlertsRejected", "AlertsUnauthorized")
        ]
        risk = resources.RISK_FUNCTION.name
        executor = resources.EXECUTOR_FUNCTION.name
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Alerts at the webhook", left=alerts, width=8),
            cloudwatch.GraphWidget(
                title="Risk decisions",
                left=[
                    custom_metric(name, risk, period=FIVE_MINUTES)
                    for name in ("SignalsSized", "SignalsRejected", "SignalsQueued")
                ],
                right=[custom_metric("TradingHalted", risk, statistic="Maximum", period=FIVE_MINUTES)],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Orders",
                left=[
                    custom_metric(name, executor, period=FIVE_MINUTES)
                    for name in ("OrdersSubmitted", "OrdersRejected", "AsyncRejections", "FillsRecorded")
                ],
                right=[
                    custom_metric("PositionDivergence", executor, statistic="Maximum", period=FIVE_MINUTES)
                ],
                width=8,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API",
                left=[
                    api.metric_count(period=FIVE_MINUTES),
                    api.metric_server_error(period=FIVE_MINUTES),
                    api.metric_client_error(period=FIVE_MINUTES),
                ],
                right=[api.metric_latency(period=FIVE_MINUTES, statistic=stat) for stat in ("p50", "p99")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Function errors and throttles",
                left=[
                    f.metric_errors(period=FIVE_MINUTES, label=f"{n} errors") for n, f in functions.items()
                ],
                right=[
                    f.metric_throttles(period=FIVE_MINUTES, label=f"{n} throttles")
                    for n, f in functions.items()
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Dead letters and index lag",
                left=[
                    q.metric_approximate_number_of_messages_visible(
                        period=ONE_MINUTE, statistic="Maximum", label=name
                    )
                    for name, q in dead_letter_queues.items()
                ],
                right=[
                    functions[resources.INDEXER_FUNCTION.name].metric(
                        "IteratorAge", period=FIVE_MINUTES, statistic="Maximum"
                    )
                ],
                width=8,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function duration p99 (ms)",
                left=[
                    f.metric_duration(period=FIVE_MINUTES, statistic="p99", label=n)
                    for n, f in functions.items()
                ],
                width=24,
            )
        )
        stack = Stack.of(self)
        self.dashboard_url = (
            f"https://{stack.region}.console.aws.amazon.com/cloudwatch/home?region={stack.region}"
            f"#dashboards:name={self._prefix}-pipeline"
        )
        return dashboard

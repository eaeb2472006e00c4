"""Notifications: what happened, on the trader's phone (src/tradepipe/notify/, docs/architecture.md).

    bus tradepipe-<stage>-events ──rule: our detail-types──┐
    a DLQ alarm enters ALARM ──rule on the default bus ─────┤ (input transformer -> MessageDeadLettered)
                                                            v
        SQS tradepipe-<stage>-notifications (standard, batching window) ──> λ notifier
        └─ after MAX_RECEIVES: …-notifications-dlq (alarmed)       ├─ secret tradepipe/<stage>/notify
                                                                   └─ SNS …-notifications (KMS): email

A standard queue, not FIFO: the outbox keys each event (a repeat is dropped) and a batch is rendered
together, so order across events does not matter, and only a standard queue takes a batching window
(FIFO event sources do not), which is what groups a bar close's forty fills into one batch. A record stays
failed while a channel still lacks its event (ReportBatchItemFailures): SQS brings it back after the
visibility timeout, for at most MAX_RECEIVES deliveries, then the DLQ (alarmed) holds it for a redrive.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import Duration, SecretValue
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.conventions import acknowledge, removal_policy
from infra.components.functions import QUEUE_MAX_CONCURRENCY, PipelineFunction, function_environment
from infra.components.layers import PipelineLayers
from infra.config import StageConfig
from tradepipe import resources
from tradepipe.contracts.events import EVENT_TYPES, MessageDeadLettered
from tradepipe.notify.toggles import NotifyToggles

# Six times the function's timeout (AWS's guidance for SQS event sources).
VISIBILITY_TIMEOUT = Duration.seconds(6 * resources.NOTIFIER_FUNCTION.timeout_s)
# A channel down for longer than MAX_RECEIVES x 6 minutes (~2 hours) sends its records to the DLQ, where
# the alarm tells the operator; a day is as long as a notice is worth anything (the delivery policy drops
# older ones too), so the queues keep no more.
MAX_RECEIVES = 20
RETENTION = Duration.days(1)
DLQ_RETENTION = Duration.days(14)  # the SQS maximum: time to fix the channel and redrive
# What an alarm state change becomes (the CloudWatch event's fields: EventBridge user guide, "Alarm events
# and EventBridge"; array indices are valid input paths: "Amazon EventBridge input transformation").
DLQ_QUEUE_NAME_PATH = "$.detail.configuration.metrics[0].metricStat.metric.dimensions.QueueName"


class Notifications(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        layers: PipelineLayers,
        bus: events.IEventBus,
    ) -> None:
        super().__init__(scope, construct_id)
        prefix = config.name_prefix
        settings = config.notifications

        # The channel URLs (tokens inside): the operator writes them, nothing in the template knows them.
        self.secret = secretsmanager.Secret(
            self,
            resources.NOTIFY_SECRET.logical_id,
            secret_name=resources.NOTIFY_SECRET.name(config.stage),
            description=resources.NOTIFY_SECRET.description,
            secret_string_value=SecretValue.unsafe_plain_text(json.dumps({"notify_urls": []})),
            removal_policy=removal_policy(config),
        )
        acknowledge(
            self.secret,
            "AwsSolutions-SMG4",
            "Webhook URLs and bot tokens are issued and revoked in Slack, Discord and Telegram; no API a "
            "rotation Lambda could call. The initial value is an empty list, not a credential.",
        )

        # Email: the topic's confirmed subscriptions are the recipients.
        self.key = kms.Key(
            self,
            "TopicKey",
            description=f"tradepipe {config.stage} notification topic",
            enable_key_rotation=True,
            removal_policy=removal_policy(config),
        )
        self.topic = sns.Topic(
            self,
            "EmailTopic",
            topic_name=resources.notify_topic_name(config.stage),
            display_name=f"tradepipe {config.stage}",
            master_key=self.key,
            enforce_ssl=True,
        )
        for email in settings.emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

        self.dlq = sqs.Queue(
            self,
            "NotificationsDlq",
            queue_name=f"{prefix}-{resources.NOTIFY_QUEUE_BASE_NAME}-dlq",
            retention_period=DLQ_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        self.queue = sqs.Queue(
            self,
            "NotificationsQueue",
            queue_name=f"{prefix}-{resources.NOTIFY_QUEUE_BASE_NAME}",
            visibility_timeout=VISIBILITY_TIMEOUT,
            retention_period=RETENTION,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dlq, max_receive_count=MAX_RECEIVES),
            # SQS-managed keys: EventBridge can send to it without a key policy of ours.
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )

        spec = resources.NOTIFIER_FUNCTION
        self.notifier = PipelineFunction(
            self,
            "Notifier",
            spec=spec,
            config=config,
            layers=layers.for_function(spec.name),
            environment=function_environment(
                self,
                config,
                spec,
                notify_secret_name=resources.NOTIFY_SECRET.name(config.stage),
                notify_email_topic_arn=self.topic.topic_arn,
                notify_events=NotifyToggles.model_validate(settings.events),
                **({"notify_public_base_url": settings.public_base_url} if settings.public_base_url else {}),
            ),
        )
        self.function = self.notifier.function
        self.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=resources.NOTIFY_BATCH_SIZE,
                max_batching_window=Duration.seconds(resources.NOTIFY_BATCH_WINDOW_S),
                report_batch_item_failures=True,
                # One batch at a time is what keeps each channel's pace; two is Lambda's minimum.
                max_concurrency=QUEUE_MAX_CONCURRENCY,
            )
        )
        # Least privilege: read its one secret, publish to its one topic (and use that topic's key).
        self.secret.grant_read(self.function)
        self.topic.grant_publish(self.function)
        self.key.grant(self.function, "kms:Decrypt", "kms:GenerateDataKey*")
        acknowledge(
            self.notifier.role,
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "Publishing to a KMS-encrypted topic needs kms:GenerateDataKey* and kms:Decrypt on its key (SNS "
            "Developer Guide, 'Managing Amazon SNS encryption keys'); the grant names this topic's key only.",
        )

        self.events_rule = events.Rule(
            self,
            "EventsRule",
            description="Domain events the notifier renders for the trader's channels",
            event_bus=bus,
            event_pattern=events.EventPattern(
                source=[resources.EVENT_SOURCE], detail_type=sorted(EVENT_TYPES)
            ),
            targets=[targets.SqsQueue(self.queue)],
        )

    def announce_dead_letters(self, alarms: Sequence[cloudwatch.IAlarm]) -> events.Rule:
        """A dead-letter queue's alarm entering ALARM becomes `MessageDeadLettered` on the notifier's queue
        (CloudWatch publishes alarm state changes to the default bus). Not the notifier's own DLQ: a broken
        notifier cannot announce itself; that alarm pages through the alarm topic."""
        detail = {
            "schema_version": 1,
            "at": events.EventField.time,
            "queue": events.EventField.from_path(DLQ_QUEUE_NAME_PATH),
        }
        return events.Rule(
            self,
            "DeadLetterRule",
            description="A dead-letter queue received messages: tell the trader (orders may be stuck)",
            event_pattern=events.EventPattern(
                source=["aws.cloudwatch"],
                detail_type=["CloudWatch Alarm State Change"],
                resources=[alarm.alarm_arn for alarm in alarms],
                detail={"state": {"value": ["ALARM"]}},
            ),
            targets=[
                targets.SqsQueue(
                    self.queue,
                    message=events.RuleTargetInput.from_object(
                        {"detail-type": MessageDeadLettered.detail_type, "detail": detail}
                    ),
                )
            ],
        )

"""SignalQueues: the FIFO queues between the functions, each with its FIFO dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.conventions import acknowledge
from infra.config import StageConfig
from tradepipe import resources

DLQ_RETENTION = Duration.days(14)  # the SQS maximum: time to notice, fix and redrive
STREAM_FAILURE_RETENTION = Duration.days(14)


class SignalQueues(Construct):
    """`signals` (webhook -> risk) and `order-intents` (risk -> executor), plus the indexer's failure queue.

    FIFO keeps one ticker's signals in order (message group = ticker). Content-based deduplication is off:
    producers pass a deduplication id derived from the signal, so a replayed alert with a new timestamp
    still dedupes.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.by_spec: dict[str, sqs.Queue] = {}
        self.dlqs: dict[str, sqs.Queue] = {}
        for spec in resources.QUEUES:
            dlq = sqs.Queue(
                self,
                f"{spec.logical_id}Dlq",
                queue_name=spec.dlq_name(config.stage),
                fifo=True,
                content_based_deduplication=False,
                retention_period=DLQ_RETENTION,
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
            )
            self.dlqs[spec.logical_id] = dlq
            self.by_spec[spec.logical_id] = sqs.Queue(
                self,
                spec.logical_id,
                queue_name=spec.name(config.stage),
                fifo=True,
                content_based_deduplication=False,
                visibility_timeout=Duration.seconds(spec.visibility_timeout_s),
                dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=spec.max_receive_count),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
            )
        self.signals = self.by_spec[resources.SIGNALS_QUEUE.logical_id]
        self.intents = self.by_spec[resources.INTENTS_QUEUE.logical_id]

        # DynamoDB stream event sources only accept a standard queue as their on-failure destination. It
        # receives a pointer to the failed batch (shard, sequence numbers), not the records themselves.
        self.indexer_failures = sqs.Queue(
            self,
            "IndexerFailures",
            queue_name=f"{config.name_prefix}-indexer-failures",
            retention_period=STREAM_FAILURE_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        acknowledge(
            self.indexer_failures,
            "AwsSolutions-SQS3",
            "This queue is itself the terminal failure destination of the indexer's stream mappings; "
            "a DLQ behind it would only move the same pointers one hop further.",
        )

"""TradeTables: one DynamoDB table per `tradepipe.resources.TABLES` spec."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.components.conventions import removal_policy
from infra.config import StageConfig
from tradepipe import resources


class TradeTables(Construct):
    """Signals, orders and risk state. Streams (new and old images) feed the indexer; PITR guards against
    bad writes."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.by_spec: dict[str, dynamodb.Table] = {}
        for spec in resources.TABLES:
            self.by_spec[spec.logical_id] = dynamodb.Table(
                self,
                spec.logical_id,
                table_name=spec.name(config.stage),
                partition_key=dynamodb.Attribute(name=spec.partition_key, type=dynamodb.AttributeType.STRING),
                sort_key=None
                if spec.sort_key is None
                else dynamodb.Attribute(name=spec.sort_key, type=dynamodb.AttributeType.STRING),
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES if spec.stream else None,
                time_to_live_attribute=spec.ttl_attribute,
                encryption=dynamodb.TableEncryption.AWS_MANAGED,
                removal_policy=removal_policy(config),
                deletion_protection=config.retain_data,
            )
            for index in spec.indexes:
                # Projection ALL: the read API renders rows from the index without a GetItem per row.
                self.by_spec[spec.logical_id].add_global_secondary_index(
                    index_name=index.name,
                    partition_key=dynamodb.Attribute(
                        name=index.partition_key, type=dynamodb.AttributeType.STRING
                    ),
                    sort_key=None
                    if index.sort_key is None
                    else dynamodb.Attribute(name=index.sort_key, type=dynamodb.AttributeType.STRING),
                    projection_type=dynamodb.ProjectionType.ALL,
                )
        self.signals = self.by_spec[resources.SIGNALS_TABLE.logical_id]
        self.orders = self.by_spec[resources.ORDERS_TABLE.logical_id]
        self.risk_state = self.by_spec[resources.RISK_STATE_TABLE.logical_id]
        self.fills = self.by_spec[resources.FILLS_TABLE.logical_id]

    @property
    def streamed(self) -> list[dynamodb.Table]:
        """Tables whose stream the indexer reads, in resources.TABLES order."""
        return [self.by_spec[spec.logical_id] for spec in resources.TABLES if spec.stream and spec.index_name]

"""DomainEvents: the EventBridge bus for domain events (trading-state switches, caps applied) and its archive.

Orders never travel here (they need the FIFO queues' per-ticker order). The archive keeps every event the
pipeline published for the stage's retention, so a new consumer or a fixed rule can be replayed from it
(`aws events start-replay`).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.components.conventions import removal_policy
from infra.config import StageConfig
from tradepipe import resources


class DomainEvents(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        policy = removal_policy(config)
        self.bus = events.EventBus(self, "Bus", event_bus_name=resources.EVENT_BUS.name(config.stage))
        self.bus.apply_removal_policy(policy)
        self.archive = events.Archive(
            self,
            "Archive",
            source_event_bus=self.bus,
            archive_name=resources.EVENT_BUS.archive_name(config.stage),
            description=f"tradepipe {config.stage} domain events, for replay",
            event_pattern=events.EventPattern(source=[resources.EVENT_SOURCE]),
            retention=Duration.days(config.events.archive_retention_days),
        )
        self.archive.apply_removal_policy(policy)

    def grant_publish(self, grantee: iam.IGrantable) -> None:
        """events:PutEvents on this bus only."""
        self.bus.grant_put_events_to(grantee)

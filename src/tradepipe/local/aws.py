"""AWS on one machine: moto's server, with resources created from `tradepipe.resources`, the same
definitions the CDK app deploys."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from tradepipe import resources

LOCAL_REGION = "us-east-1"
# moto accepts any credentials; these only keep boto3 from looking for real ones.
FAKE_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}  # noqa: S105


@dataclass(frozen=True)
class ProvisionedQueue:
    spec: resources.QueueSpec
    url: str
    arn: str
    dlq_url: str


@dataclass(frozen=True)
class Provisioned:
    queues: dict[str, ProvisionedQueue]  # by base name
    stream_arns: dict[str, str]  # table base name -> stream ARN
    event_bus_arn: str = ""


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 4566) -> None:
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.url = f"http://{host}:{port}"

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=LOCAL_REGION, **FAKE_CREDENTIALS)  # type: ignore[call-overload]


def provision(
    endpoint: str,
    stage: str,
    passphrases: dict[str, str],
    alpaca_paper_keys: dict[str, str],
    visibility_timeout_s: int | None = None,
) -> Provisioned:
    """Create tables (with streams and TTL), FIFO queues with DLQs, the event bus and the secrets.
    Idempotent enough for one fresh moto server; `visibility_timeout_s` shortens retries for local runs."""
    ddb = client("dynamodb", endpoint)
    stream_arns: dict[str, str] = {}
    for table in resources.TABLES:
        keys = [(table.partition_key, "HASH")] + ([(table.sort_key, "RANGE")] if table.sort_key else [])
        desc = ddb.create_table(
            TableName=table.name(stage),
            KeySchema=[{"AttributeName": name, "KeyType": kind} for name, kind in keys],
            AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name, _ in keys],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": table.stream, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        if table.ttl_attribute:
            ddb.update_time_to_live(
                TableName=table.name(stage),
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
        if table.stream:
            stream_arns[table.base_name] = desc["LatestStreamArn"]

    sqs = client("sqs", endpoint)
    queues: dict[str, ProvisionedQueue] = {}
    for queue in resources.QUEUES:
        dlq_url = sqs.create_queue(QueueName=queue.dlq_name(stage), Attributes={"FifoQueue": "true"})[
            "QueueUrl"
        ]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        url = sqs.create_queue(
            QueueName=queue.name(stage),
            Attributes={
                "FifoQueue": "true",
                "VisibilityTimeout": str(visibility_timeout_s or queue.visibility_timeout_s),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue.max_receive_count)}
                ),
            },
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queues[queue.base_name] = ProvisionedQueue(queue, url, arn, dlq_url)

    events = client("events", endpoint)
    event_bus_arn = events.create_event_bus(Name=resources.EVENT_BUS.name(stage))["EventBusArn"]

    sm = client("secretsmanager", endpoint)
    sm.create_secret(Name=resources.WEBHOOK_SECRET.name(stage), SecretString=json.dumps(passphrases))
    sm.create_secret(
        Name=resources.ALPACA_PAPER_SECRET.name(stage), SecretString=json.dumps(alpaca_paper_keys)
    )
    return Provisioned(queues=queues, stream_arns=stream_arns, event_bus_arn=event_bus_arn)


def new_paper_keys() -> dict[str, str]:
    return {"api_key": "PKLOCAL" + secrets.token_hex(6).upper(), "secret_key": secrets.token_urlsafe(24)}

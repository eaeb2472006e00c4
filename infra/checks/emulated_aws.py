"""AWS emulated on one machine for the tests of the AWS adapters and handlers and for the packaging check:
moto's server, with resources created from `tradepipe.resources`, the same definitions the CDK app deploys.
Never part of the single-machine runtime (that runs on SQLite)."""

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
        desc = create_table(ddb, table, table.name(stage))
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
    # The notifier's, as deployed: no channel URL yet, and the email topic.
    sm.create_secret(Name=resources.NOTIFY_SECRET.name(stage), SecretString=json.dumps({"notify_urls": []}))
    client("sns", endpoint).create_topic(Name=resources.notify_topic_name(stage))
    return Provisioned(queues=queues, stream_arns=stream_arns, event_bus_arn=event_bus_arn)


def create_table(ddb: Any, table: resources.TableSpec, name: str) -> dict[str, Any]:
    """One table from its spec: keys, global secondary indexes (projection ALL), stream, TTL."""
    keys = _key_schema(table.partition_key, table.sort_key)
    index_keys = {index.name: _key_schema(index.partition_key, index.sort_key) for index in table.indexes}
    indexes = [
        {"IndexName": index, "KeySchema": schema, "Projection": {"ProjectionType": "ALL"}}
        for index, schema in index_keys.items()
    ]
    attributes = dict.fromkeys(k["AttributeName"] for schema in (keys, *index_keys.values()) for k in schema)
    desc: dict[str, Any] = ddb.create_table(
        TableName=name,
        KeySchema=keys,
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attributes],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": table.stream, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
    )["TableDescription"]
    if table.ttl_attribute:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
        )
    return desc


def _key_schema(partition_key: str, sort_key: str | None) -> list[dict[str, str]]:
    keys = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    return keys + ([{"AttributeName": sort_key, "KeyType": "RANGE"}] if sort_key else [])


def new_paper_keys() -> dict[str, str]:
    return {"api_key": "PKLOCAL" + secrets.token_hex(6).upper(), "secret_key": secrets.token_urlsafe(24)}

"""One moto server per test run, resources created from `tradepipe.resources` as the CDK app does."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from infra.checks.emulated_aws import (
    MotoServer,
    Provisioned,
    client,
    new_paper_keys,
    provision,
)
from tradepipe import composition, resources
from tradepipe.adapters.dynamodb_table import DynamoTable, python_values_client
from tradepipe.adapters.risk_state import DynamoRiskStateStore
from tradepipe.local.http_server import free_port
from tradepipe.settings import Settings

STAGE = "itest"
PASSPHRASE = "integration passphrase"


@dataclass(frozen=True)
class Aws:
    endpoint: str
    provisioned: Provisioned
    paper_keys: dict[str, str]

    def client(self, service: str) -> object:
        return client(service, self.endpoint)

    def risk_state(self) -> DynamoRiskStateStore:
        """The risk-state table's adapter, every aggregate at once (the functions see one port each)."""
        dynamodb = python_values_client(self.client("dynamodb"))
        table = DynamoTable(dynamodb, resources.RISK_STATE_TABLE.name(STAGE))
        return DynamoRiskStateStore(table)


@pytest.fixture(scope="session")
def aws() -> Iterator[Aws]:
    server = MotoServer(port=free_port())
    server.start()
    keys = new_paper_keys()
    provisioned = provision(server.url, STAGE, {"default": PASSPHRASE}, keys, visibility_timeout_s=1)
    settings = Settings.explicit(
        stage=STAGE,
        aws_endpoint_url=server.url,
        signals_queue_url=provisioned.queues["signals"].url,
        intents_queue_url=provisioned.queues["order-intents"].url,
    )
    env = {
        **settings.to_environment(),
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "TradePipe",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    composition.reset()
    yield Aws(server.url, provisioned, keys)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    composition.reset()
    server.stop()


@pytest.fixture
def empty_queues(aws: Aws) -> Aws:
    """Handler tests read the queues directly: start each with nothing on them (tests delete what they
    receive, so nothing is left in flight; PurgeQueue is limited to once a minute)."""
    sqs: Any = aws.client("sqs")
    for queue in aws.provisioned.queues.values():
        for url in (queue.url, queue.dlq_url):
            while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                for m in messages:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return aws


@pytest.fixture
def empty_tables(aws: Aws) -> Aws:
    """For tests that read a whole table back (reports): the session's tables start empty again."""
    dynamodb: Any = aws.client("dynamodb")
    for spec in resources.TABLES:
        keys = [spec.partition_key, *([spec.sort_key] if spec.sort_key else [])]
        name = spec.name(STAGE)
        pages = dynamodb.get_paginator("scan").paginate(TableName=name, ProjectionExpression=", ".join(keys))
        for page in pages:
            for item in page["Items"]:
                dynamodb.delete_item(TableName=name, Key={k: item[k] for k in keys})
    return aws


# The paper broker on its own (no AWS), for the broker's own tests: Alpaca-like, on a clock the tests move
# by hand, pinned inside a regular session (Wednesday 2026-12-02, 10:00 New York).
BROKER_KEY = "PKTESTLOCAL"
BROKER_SECRET = "local-test-secret"
BROKER_HEADERS = {"APCA-API-KEY-ID": BROKER_KEY, "APCA-API-SECRET-KEY": BROKER_SECRET}
SESSION_START = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def broker_clock() -> Any:
    from tradepipe.local.paper_broker import ManualClock

    return ManualClock(SESSION_START)


@pytest.fixture(scope="module")
def running_broker(broker_clock: Any) -> Iterator[Any]:
    from tradepipe.local.paper_broker import BrokerBehaviour, PaperBroker
    from tradepipe.local.paper_broker.server import PaperBrokerServer

    engine = PaperBroker(behaviour=BrokerBehaviour.alpaca(), now=broker_clock)
    with PaperBrokerServer(engine, key_id=BROKER_KEY, secret_key=BROKER_SECRET) as server:
        yield server


@pytest.fixture
def admin(running_broker: Any, broker_clock: Any) -> Iterator[httpx.Client]:
    """The broker's admin routes, on a broker reset to its start (cash, cursor, no orders, no faults), its
    clock back at the session's start (tests may move it anywhere) and a fresh rate-limit window."""
    broker_clock.set(SESSION_START)
    with httpx.Client(base_url=running_broker.url, timeout=5.0, headers=BROKER_HEADERS) as client:
        client.post("/_paper/reset").raise_for_status()
        yield client


@pytest.fixture(scope="session")
def paper_broker(aws: Aws) -> Iterator[Any]:
    """The local Alpaca-compatible broker; the executor reaches it through the real alpaca-py client, with
    the keys the stack's secret holds."""
    from tradepipe.local.paper_broker import BrokerBehaviour, PaperBroker
    from tradepipe.local.paper_broker.server import PaperBrokerServer

    # Alpaca's asynchronous lifecycle (fills and cancels on the broker's own clock, tens of ms later), with
    # the market always open: these tests run at any hour; after-hours behaviour has tests of its own that
    # move the broker's market clock. The rate limit is raised: the whole session shares one key and sends
    # far more than 200 requests a minute; the limit itself is tested in test_paper_broker_rules.py and the
    # pipeline's answer to 429 in test_async_lifecycle.py (injected 429s).
    engine = PaperBroker(behaviour=BrokerBehaviour.alpaca(always_open=True, rate_limit_per_minute=100_000))
    keys = aws.paper_keys
    with PaperBrokerServer(engine, key_id=keys["api_key"], secret_key=keys["secret_key"]) as server:
        os.environ["TRADEPIPE_ALPACA_URL_OVERRIDE"] = server.url
        os.environ["TRADEPIPE_ALPACA_DATA_URL_OVERRIDE"] = server.url  # it serves /v2/stocks/bars too
        composition.reset()
        yield server
        os.environ.pop("TRADEPIPE_ALPACA_URL_OVERRIDE", None)
        os.environ.pop("TRADEPIPE_ALPACA_DATA_URL_OVERRIDE", None)


@pytest.fixture(scope="session")
def search_url(aws: Aws, osmem_server: Any) -> Iterator[str]:
    from tradepipe.adapters.opensearch import OpenSearchIndex, build_client

    os.environ["TRADEPIPE_OPENSEARCH_ENDPOINT"] = osmem_server.url
    composition.reset()
    # What SearchSetup does at deploy: the indexer itself only writes through the aliases.
    OpenSearchIndex(build_client(osmem_server.url, "none", "us-east-1")).ensure_templates()
    yield osmem_server.url
    os.environ.pop("TRADEPIPE_OPENSEARCH_ENDPOINT", None)

"""Deploy-time backfill of the orders-working index on DynamoDB (items written before it carry no
`working_account`): what the reconciler must go on following is put in the index, settled orders are not.
A table of its own on the session's moto server (the shared orders table holds other tests' orders)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import boto3

from infra.checks.emulated_aws import FAKE_CREDENTIALS, LOCAL_REGION, create_table
from tests.integration.conftest import Aws
from tradepipe import resources
from tradepipe.adapters.dynamodb import DynamoOrderStore

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def _item(coid: str, status: str, order_class: str = "bracket") -> dict[str, object]:
    """An orders-table item as the adapter wrote it before the index existed."""
    return {
        "client_order_id": coid,
        "intent_id": f"{coid}:open",
        "signal_id": coid,
        "mode": "paper",
        "strategy": "s",
        "symbol": "IBM",
        "side": "BUY",
        "qty": Decimal(10),
        "order_class": order_class,
        "status": status,
        "created_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
    }


def test_follow_unsettled_puts_what_may_still_change_in_the_index_once(aws: Aws) -> None:
    name = f"backfill-{uuid.uuid4().hex[:8]}"
    client = boto3.client("dynamodb", endpoint_url=aws.endpoint, region_name=LOCAL_REGION, **FAKE_CREDENTIALS)
    create_table(client, resources.ORDERS_TABLE, name)
    table = boto3.resource(
        "dynamodb", endpoint_url=aws.endpoint, region_name=LOCAL_REGION, **FAKE_CREDENTIALS
    ).Table(name)
    for item in (
        _item("gtc-bracket", "filled"),  # its legs may still work, five weeks on
        _item("resting", "new"),
        _item("never-sent", "pending_submit"),
        _item("gone", "canceled"),
        _item("closed", "filled", order_class="simple"),
    ):
        table.put_item(Item=item)
    store = DynamoOrderStore(table)

    assert store.follow_unsettled() == 3
    assert store.follow_unsettled() == 0  # already followed: nothing twice

    assert [o.client_order_id for o in store.working("paper")] == ["gtc-bracket", "never-sent", "resting"]

"""The indexer handler on real-shaped stream events from moto's DynamoDB streams, writing all five document
kinds through their aliases into osmem with the real opensearch-py client. The equity snapshot comes from
the reconciler (the executor's scheduled path) sampling the paper broker through alpaca-py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from opensearchpy import OpenSearch

from tests.integration.conftest import Aws
from tests.support.lambda_context import LocalLambdaContext
from tradepipe import composition
from tradepipe.contracts.items import OrderItem, SignalItem, StatusEntry, StatusUpdate
from tradepipe.domain.model import CapApplied, Mode, Side, SignalStatus
from tradepipe.ports.broker import FillView

NOW = datetime(2024, 1, 2, 15, tzinfo=UTC)
SID = "d0" * 16
COID = f"tp-{SID}-open"
CAP = CapApplied(cap="max_notional_per_position", qty_before=Decimal(20), qty_after=Decimal(10), limit="2000")


def _stream_event(aws: Aws, table: str, keep: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    streams: Any = aws.client("dynamodbstreams")
    arn = aws.provisioned.stream_arns[table]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records += streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    kept = [r for r in records if keep(r["dynamodb"]["Keys"])]
    return {
        "Records": [
            {
                **r,
                "eventSourceARN": arn,
                "dynamodb": {k: v for k, v in r["dynamodb"].items() if k != "ApproximateCreationDateTime"},
            }
            for r in kept
        ]
    }


def _write_items(aws: Aws) -> None:
    signals = composition.backend().signal_store
    signals.record_new(
        SignalItem(
            signal_id=SID,
            status=SignalStatus.RECEIVED,
            received_at=NOW,
            updated_at=NOW,
            expires_at=0,
            history=[StatusEntry(status=SignalStatus.RECEIVED, at=NOW)],
            mode=Mode.PAPER,
            ticker="MSFT",
            strategy="itest-dash",
            side=Side.BUY,
        )
    )
    signals.advance(
        SID,
        StatusUpdate.to(
            SignalStatus.SIZED, NOW.replace(second=1), qty=Decimal(10), risk_caps=[CAP], client_order_id=COID
        ),
    )
    composition.backend().order_store.record_intent(
        OrderItem(
            client_order_id=COID,
            intent_id=f"{SID}:open",
            signal_id=SID,
            mode=Mode.PAPER,
            strategy="itest-dash",
            symbol="MSFT",
            side=Side.BUY,
            qty=Decimal(10),
            order_class="simple",
            status="pending_submit",
            created_at=NOW.replace(second=2),
            updated_at=NOW.replace(second=2),
        )
    )
    composition.backend().fill_store.record_fill(
        FillView("itest-dash-x1", "b-itest-dash", "MSFT", "buy", Decimal(10), Decimal("30.5"), NOW),
        Mode.PAPER.value,
        COID,
        SID,
    )
    risk = aws.risk_state()
    risk.set_trading_state("paper", "HALTED", "manual", "itest halt", NOW.replace(minute=1))
    risk.set_trading_state("paper", "ACTIVE", "manual", "itest resume", NOW.replace(minute=2))


@pytest.fixture(scope="module")
def indexed(aws: Aws, search_url: str, paper_broker: Any) -> OpenSearch:
    from functions.executor.handler import lambda_handler as executor
    from functions.indexer.handler import lambda_handler as indexer

    _write_items(aws)
    summary = executor(
        {"source": "aws.events", "detail-type": "Scheduled Event"}, LocalLambdaContext("executor", 30)
    )
    assert summary["paper"]["equity_sampled"] is True
    assert summary["live"]["equity_sampled"] is False  # live is not enabled: no broker, no sample
    events = {
        "signals": _stream_event(aws, "signals", lambda k: k["signal_id"]["S"] == SID),
        "orders": _stream_event(aws, "orders", lambda k: k["client_order_id"]["S"] == COID),
        "fills": _stream_event(aws, "fills", lambda k: k["execution_id"]["S"] == "itest-dash-x1"),
        "risk-state": _stream_event(
            aws, "risk-state", lambda k: k["pk"]["S"] in ("STATE#paper", "EQUITY#paper")
        ),
    }
    for table, event in events.items():
        assert event["Records"], table
        # One invocation per table, as Lambda's event source mappings do; then a replay of each.
        assert indexer(event, LocalLambdaContext("indexer", 60)) == {"batchItemFailures": []}
        assert indexer(event, LocalLambdaContext("indexer", 60)) == {"batchItemFailures": []}
    client = OpenSearch(hosts=[search_url])
    client.indices.refresh(index="_all")
    return client


def _hits(client: OpenSearch, alias: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    found = client.search(index=alias, body={"query": query, "size": 100})["hits"]["hits"]
    return list(found)


@pytest.mark.parametrize(
    ("alias", "query"),
    [
        pytest.param("trading-signals", {"term": {"signal_id": SID}}, id="signal"),
        pytest.param("trade-executions", {"term": {"client_order_id": COID}}, id="execution"),
        pytest.param("fills", {"term": {"execution_id": "itest-dash-x1"}}, id="fill"),
        pytest.param("risk-events", {"term": {"signal_id": SID}}, id="cap"),
        pytest.param("risk-events", {"term": {"detail.raw": "itest halt"}}, id="state-switch"),
        pytest.param("equity-snapshots", {"term": {"kind": "account"}}, id="equity"),
    ],
)
def test_each_document_kind_lands_once_in_the_versioned_index_behind_its_alias(
    indexed: OpenSearch, alias: str, query: dict[str, Any]
) -> None:
    hits = _hits(indexed, alias, query)

    assert len(hits) >= 1
    assert {h["_index"] for h in hits} == {f"{alias}-v1"}
    assert len({h["_id"] for h in hits}) == len(hits)  # the replay overwrote instead of duplicating
    for hit in hits:
        assert {"mode", "strategy", "ticker", "sector"} <= set(hit["_source"]), alias
    write = indexed.indices.get_alias(name=alias)[f"{alias}-v1"]["aliases"][alias]
    assert write.get("is_write_index", True) is True


def test_execution_and_fill_carry_the_signals_stage_times_and_strategy(indexed: OpenSearch) -> None:
    [execution] = _hits(indexed, "trade-executions", {"term": {"client_order_id": COID}})
    [fill] = _hits(indexed, "fills", {"term": {"execution_id": "itest-dash-x1"}})

    for doc in (execution["_source"], fill["_source"]):
        assert doc["received_at"].startswith("2024-01-02T15:00:00")
        assert doc["sized_at"].startswith("2024-01-02T15:00:01")
        assert doc["sector"] == "Information Technology"
    assert fill["_source"]["strategy"] == "itest-dash"
    assert fill["_source"]["cash_flow"] == pytest.approx(-305.0)


def test_state_switches_and_caps_are_risk_events(indexed: OpenSearch) -> None:
    [cap] = _hits(indexed, "risk-events", {"term": {"signal_id": SID}})
    switches = _hits(indexed, "risk-events", {"terms": {"detail.raw": ["itest halt", "itest resume"]}})

    assert (cap["_source"]["kind"], cap["_source"]["rule"], cap["_source"]["qty_after"]) == (
        "cap_applied",
        "max_notional_per_position",
        10,
    )
    levels = sorted((h["_source"]["at"], h["_source"]["state_level"]) for h in switches)
    assert [level for _, level in levels] == [2, 0]


def test_equity_snapshot_from_the_paper_broker_account(indexed: OpenSearch) -> None:
    [account, *_] = _hits(indexed, "equity-snapshots", {"term": {"kind": "account"}})

    assert account["_source"]["mode"] == "paper"
    assert account["_source"]["equity"] > 0
    assert account["_source"]["ticker"] == "*"


def test_a_document_outside_the_mapping_is_rejected_not_guessed(indexed: OpenSearch) -> None:
    from tradepipe.adapters.opensearch import OpenSearchIndex
    from tradepipe.ports.search import IndexAction

    search = OpenSearchIndex(indexed)

    failed = search.bulk([IndexAction("fills", "bad", {"ticker": "MSFT", "surprise": 1})])

    assert failed == ["fills/bad"]
    assert _hits(indexed, "fills", {"term": {"_id": "bad"}}) == []

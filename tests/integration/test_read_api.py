"""The read API, `GET /signals`: paging, newest first, filters and `since` over the signals table's
by-received-day index in moto, through the real boto3; the handler's 422 / 400 answers."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from infra.checks.emulated_aws import create_table
from tests.integration.conftest import PASSPHRASE, Aws
from tests.integration.events import rest_event
from tests.support.lambda_context import LocalLambdaContext
from tests.unit.builders import alert_body, fresh_timestamp
from tradepipe import resources
from tradepipe.adapters.dynamodb import DynamoSignalStore
from tradepipe.adapters.memory import FixedClock
from tradepipe.app import signal_feed
from tradepipe.app.signal_feed import BadPageToken, FeedDeps, list_signals
from tradepipe.contracts.api import SignalPage, SignalQuery
from tradepipe.contracts.items import SignalItem, StatusEntry
from tradepipe.domain.model import Mode, Side, SignalStatus

NOW = datetime(2024, 3, 6, 14, 30, tzinfo=UTC)
WEEK = 7 * 24 * 3600


# --- the use case over the real adapter: a table of its own, items placed at known times --------------


@pytest.fixture
def store(aws: Aws) -> Iterator[DynamoSignalStore]:
    import boto3

    ddb: Any = aws.client("dynamodb")
    name = f"read-api-{uuid.uuid4().hex[:8]}"
    create_table(ddb, resources.SIGNALS_TABLE, name)
    table = boto3.resource(
        "dynamodb",
        endpoint_url=aws.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    ).Table(name)
    yield DynamoSignalStore(table)
    ddb.delete_table(TableName=name)


def _record(
    store: DynamoSignalStore,
    n: int,
    at: datetime,
    status: SignalStatus = SignalStatus.FILLED,
    ticker: str = "AAPL",
    strategy: str = "s1",
    mode: Mode = Mode.PAPER,
) -> str:
    signal_id = f"{n:032x}"
    assert store.record_new(
        SignalItem(
            signal_id=signal_id,
            status=status,
            received_at=at,
            updated_at=at,
            expires_at=int((at + timedelta(days=3650)).timestamp()),
            history=[StatusEntry(status=SignalStatus.RECEIVED, at=at)],
            ticker=ticker,
            strategy=strategy,
            mode=mode,
            side=Side.BUY,
            qty=Decimal("3"),
            reject_reason="TRADING_HALTED" if status is SignalStatus.REJECTED else None,
        )
    )
    return signal_id


def _all_pages(store: DynamoSignalStore, **query: Any) -> tuple[list[str], list[SignalPage]]:
    deps = FeedDeps(store, FixedClock(NOW), WEEK)
    pages = [list_signals(SignalQuery(**query), deps)]
    while pages[-1].next_token and len(pages) < 50:
        pages.append(list_signals(SignalQuery(**query, page_token=pages[-1].next_token), deps))
    return [i.signal_id for p in pages for i in p.items], pages


def test_list_when_signals_span_days_then_newest_first_paged_without_gaps_or_repeats(
    store: DynamoSignalStore,
) -> None:
    times = [NOW - timedelta(days=d, minutes=7 * k) for d in (0, 1, 3) for k in range(6)]
    ids_by_time = {_record(store, n, at): at for n, at in enumerate(times)}
    expected = sorted(ids_by_time, key=lambda i: ids_by_time[i], reverse=True)

    got, pages = _all_pages(store, limit=5)

    assert got == expected
    assert all(len(p.items) <= 5 for p in pages)
    assert pages[-1].next_token is None
    assert pages[0].items[0].received_at == NOW


def test_list_when_filters_then_only_matching_signals_newest_first_across_pages(
    store: DynamoSignalStore,
) -> None:
    wanted = []
    for n in range(30):
        at = NOW - timedelta(hours=n)
        rejected = n % 3 == 0
        status = SignalStatus.REJECTED if rejected else SignalStatus.FILLED
        ticker = "MSFT" if n % 2 else "AAPL"
        signal_id = _record(
            store, n, at, status=status, ticker=ticker, mode=Mode.LIVE if n == 9 else Mode.PAPER
        )
        if rejected and ticker == "MSFT" and n != 9:
            wanted.append(signal_id)

    got, _ = _all_pages(store, limit=2, status="rejected", ticker="msft", mode="paper", strategy="s1")

    assert got == wanted  # n = 3, 15, 21, 27 (9 is live)
    assert len(wanted) == 4


def test_list_when_since_then_nothing_older_and_the_walk_stops_at_its_day(store: DynamoSignalStore) -> None:
    recent = [_record(store, n, NOW - timedelta(hours=10 * n)) for n in range(6)]  # back to -50 h
    since = NOW - timedelta(hours=25)

    got, pages = _all_pages(store, limit=2, since=since)

    assert got == recent[:3]  # 0, -10 h, -20 h
    assert pages[-1].next_token is None


def test_list_when_a_filter_matches_little_then_short_pages_with_a_token_still_reach_every_match(
    store: DynamoSignalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One query per request: a page may come back short (even empty), but following the tokens finds all.
    monkeypatch.setattr(signal_feed, "MAX_READS_PER_PAGE", 1)
    with store._table.batch_writer() as batch:
        for n in range(250):
            at = (NOW - timedelta(seconds=n)).isoformat()
            batch.put_item(
                Item={
                    "signal_id": f"{n:032x}",
                    "status": "FILLED",
                    "received_at": at,
                    "received_day": at[:10],
                    "updated_at": at,
                    "expires_at": 4_000_000_000,
                    "history": [],
                    "ticker": "IBM" if n in (5, 180, 249) else "AAPL",
                }
            )

    got, pages = _all_pages(store, limit=50, ticker="IBM")

    assert got == [f"{n:032x}" for n in (5, 180, 249)]
    assert len(pages) > 1


def test_list_when_token_altered_or_from_another_query_then_bad_page_token(store: DynamoSignalStore) -> None:
    for n in range(4):
        _record(store, n, NOW - timedelta(minutes=n))
    deps = FeedDeps(store, FixedClock(NOW), WEEK)
    token = list_signals(SignalQuery(limit=1), deps).next_token
    assert token is not None
    decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))

    def forged(**change: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(decoded | change).encode()).decode().rstrip("=")

    for bad in (
        token[:-3] + "!!!",
        "not-a-token",
        forged(d="2099-01-01"),
        forged(a="2024-03-06T14:29:00Z"),  # not the stored form
        forged(i="zz"),
        forged(extra=1),
    ):
        with pytest.raises(BadPageToken):
            list_signals(SignalQuery(limit=1, page_token=bad), deps)
    with pytest.raises(BadPageToken, match="another query"):
        list_signals(SignalQuery(limit=1, ticker="AAPL", page_token=token), deps)


# --- the handler: real-shaped API Gateway events -------------------------------------------------------


@pytest.fixture(scope="module")
def handler(aws: Aws) -> Any:
    from functions.api.handler import lambda_handler

    return lambda_handler


def _get(handler: Any, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
    event = rest_event("", path="/signals", method="GET", resource="/signals", source_ip="127.0.0.1")
    event["body"] = None
    event["queryStringParameters"] = {k: v[-1] for k, v in query.items()} or None
    event["multiValueQueryStringParameters"] = query or None
    response = handler(event, LocalLambdaContext("webhook", 10))
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.usefixtures("empty_queues")
def test_get_signals_when_alerts_posted_then_newest_first_paged_by_token(handler: Any) -> None:
    strategy = f"read_{uuid.uuid4().hex[:8]}"
    posted = []
    for i, ticker in enumerate(("AAPL", "MSFT", "IBM")):
        body = alert_body(
            passphrase=PASSPHRASE, timestamp=fresh_timestamp(i), ticker=ticker, strategy=strategy
        )
        response = handler(rest_event(json.dumps(body)), LocalLambdaContext("webhook", 10))
        assert response["statusCode"] == 202
        posted.append(json.loads(response["body"])["signal_id"])

    status, first = _get(handler, {"strategy": [strategy], "limit": ["2"]})
    status2, second = _get(
        handler, {"strategy": [strategy], "limit": ["2"], "page_token": [first["next_token"]]}
    )

    assert (status, status2) == (200, 200)
    assert [i["ticker"] for i in first["items"]] == ["IBM", "MSFT"]
    assert [i["signal_id"] for i in first["items"] + second["items"]] == posted[::-1]
    assert second["next_token"] is None
    row = second["items"][0]
    assert (row["status"], row["mode"], row["side"], row["strategy"]) == (
        "ENQUEUED",
        "paper",
        "BUY",
        strategy,
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param({"limit": ["0"]}, "limit", id="limit-zero"),
        pytest.param({"limit": ["abc"]}, "limit", id="limit-not-a-number"),
        pytest.param({"status": ["NOPE"]}, "status", id="unknown-status"),
        pytest.param({"mode": ["demo"]}, "mode", id="unknown-mode"),
        pytest.param({"since": ["2024-03-06T10:00:00"]}, "since", id="since-without-zone"),
        pytest.param({"ticker": ["<script>alert(1)</script>"]}, "ticker", id="ticker-markup"),
        pytest.param({"tickr": ["AAPL"]}, "tickr", id="unknown-parameter"),
        pytest.param({"status": ["FILLED", "REJECTED"]}, "status", id="repeated-parameter"),
    ],
)
def test_get_signals_when_bad_parameter_then_422_naming_the_field_without_echoing_it(
    handler: Any, query: dict[str, list[str]], field: str
) -> None:
    status, body = _get(handler, query)

    assert status == 422
    assert body["status"] == "rejected"
    assert field in {e["field"] for e in body["errors"]}
    assert "<script>" not in json.dumps(body)


def test_get_signals_when_page_token_tampered_then_400_not_500(handler: Any) -> None:
    status, body = _get(handler, {"page_token": ["eyJ2IjoxLCJkIjoiMjA5OS0wMS0wMSIsInEiOiIwIn0"]})

    assert status == 400
    assert body["errors"][0]["field"] == "page_token"

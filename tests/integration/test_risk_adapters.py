"""Risk-engine adapters against the real things: the risk-state table and the event bus on the session's
moto server (created by `provision`, as the local stack does), daily bars from the paper broker through
alpaca-py's StockHistoricalDataClient, and ATR through TA-Lib.

The risk-state scenarios are the risk-state part of the store parity suite: they run against every
implementation in tests/integration/stores.py alike (the backtest's answers must be the Lambda's answers).
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from infra.checks.emulated_aws import FAKE_CREDENTIALS, LOCAL_REGION
from tests.integration.conftest import STAGE, Aws
from tests.integration.stores import RISK_STATE_STORES
from tradepipe import composition, resources
from tradepipe.adapters.events import EventBridgePublisher, EventPublishFailed
from tradepipe.adapters.market_data import AlpacaMarketData
from tradepipe.adapters.memory_risk import MemoryRiskStateStore
from tradepipe.adapters.risk_keys import HISTORY_LIMIT, RATE_SK, epoch_minute, rate_expires_at, rate_pk
from tradepipe.adapters.risk_state import DynamoRiskStateStore
from tradepipe.analytics.indicators import average_true_range
from tradepipe.local.paper_broker.market_data import load_sample_bars
from tradepipe.ports.market_data import DailyBar

AT = datetime(2024, 1, 2, 15, 0, 30, tzinfo=UTC)
RiskStore = DynamoRiskStateStore | MemoryRiskStateStore


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture
def account() -> str:
    """A fresh account per test: the moto server lives for the whole session."""
    return f"acct-{uuid.uuid4().hex[:12]}"


class _OneRequestAtATime:
    """WSGI middleware: moto has no per-item lock, so two concurrent conditional updates of one item can
    both pass their condition (measured: a lost state switch in ~30% of 5-way races). DynamoDB applies
    each write to an item atomically; serializing requests gives moto that guarantee, while the clients'
    read-then-conditional-write races across requests stay exactly as real."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
        with self._lock:
            return list(self._app(environ, start_response))


@pytest.fixture(scope="module")
def atomic_endpoint(aws: Aws) -> Iterator[str]:
    """A second front door to the session's moto backends (moto keeps its state per process), one request
    at a time, for the concurrency scenarios."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    server = make_server(
        "127.0.0.1", 0, _OneRequestAtATime(DomainDispatcherApplication(create_backend_app)), threaded=True
    )
    thread = threading.Thread(target=server.serve_forever, name="moto-serialized", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(params=sorted(RISK_STATE_STORES))
def store(request: pytest.FixtureRequest) -> RiskStore:
    """Every implementation of the risk-state ports (the parity registry, tests/integration/stores.py)."""
    built: RiskStore = RISK_STATE_STORES[request.param](request)
    return built


@pytest.fixture(params=["dynamodb", "memory"])
def new_store(request: pytest.FixtureRequest) -> Callable[[], RiskStore]:
    """Makes handles on one shared store, one per concurrent invocation. DynamoDB: a boto3 session per
    handle (as separate Lambda invocations have; boto3 resources are not thread-safe) through
    `atomic_endpoint`; memory: the same instance."""
    if request.param == "memory":
        shared = MemoryRiskStateStore()
        return lambda: shared
    endpoint = request.getfixturevalue("atomic_endpoint")

    def dynamo() -> DynamoRiskStateStore:
        session = boto3.session.Session(
            aws_access_key_id=FAKE_CREDENTIALS["aws_access_key_id"],
            aws_secret_access_key=FAKE_CREDENTIALS["aws_secret_access_key"],
            region_name=LOCAL_REGION,
        )
        table = session.resource("dynamodb", endpoint_url=endpoint).Table(
            resources.RISK_STATE_TABLE.name(STAGE)
        )
        return DynamoRiskStateStore(table)

    return dynamo


def _in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) for i in range(count) in threads released together; re-raise the first failure."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if errors:
        raise errors[0]
    return results


# --- trading state, high-water mark, losing streak ---------------------------------------------------------


def test_trading_state_when_never_set_then_active_with_zero_mark_and_streak(
    store: RiskStore, account: str
) -> None:
    state = store.trading_state(account)

    assert (state.state, state.high_water_mark, state.losing_streak) == ("ACTIVE", Decimal(0), 0)
    assert (state.changed_at, state.rule, state.detail) == (None, None, None)
    assert store.trading_state_history(account) == []


def test_set_trading_state_twice_then_latest_state_and_both_switches_in_history(
    store: RiskStore, account: str
) -> None:
    store.set_trading_state(account, "REDUCING", "daily_loss_limit", "daily loss 3.10%", AT)
    returned = store.set_trading_state(account, "HALTED", "manual", "ops: broker outage", AT + timedelta(1))

    read = store.trading_state(account)
    assert read == returned
    assert (read.state, read.rule, read.detail, read.changed_at) == (
        "HALTED",
        "manual",
        "ops: broker outage",
        AT + timedelta(1),
    )
    history = store.trading_state_history(account)
    assert [(h.from_state, h.to_state, h.rule, h.at) for h in history] == [
        ("ACTIVE", "REDUCING", "daily_loss_limit", AT),
        ("REDUCING", "HALTED", "manual", AT + timedelta(1)),
    ]


def test_set_trading_state_beyond_history_limit_then_oldest_switches_dropped(
    store: RiskStore, account: str
) -> None:
    for i in range(HISTORY_LIMIT + 3):
        store.set_trading_state(account, "HALTED" if i % 2 else "ACTIVE", "manual", f"switch {i}", AT)

    history = store.trading_state_history(account)

    assert len(history) == HISTORY_LIMIT
    assert history[0].detail == "switch 3"
    assert history[-1].detail == f"switch {HISTORY_LIMIT + 2}"


def test_set_trading_state_from_concurrent_invocations_then_no_switch_lost(
    new_store: Callable[[], RiskStore], account: str
) -> None:
    stores = [new_store() for _ in range(5)]

    _in_threads(5, lambda i: stores[i].set_trading_state(account, f"S{i}", "manual", f"by {i}", AT))

    history = stores[0].trading_state_history(account)
    assert sorted(h.detail for h in history) == [f"by {i}" for i in range(5)]
    # Each switch saw the one before it: no two writers read the same version.
    assert history[0].from_state == "ACTIVE"
    assert all(prev.to_state == nxt.from_state for prev, nxt in zip(history, history[1:], strict=False))
    assert stores[0].trading_state(account).state == history[-1].to_state


def test_raise_high_water_mark_when_equity_lower_then_mark_kept(store: RiskStore, account: str) -> None:
    assert store.raise_high_water_mark(account, Decimal("100000.50")) == Decimal("100000.50")
    assert store.raise_high_water_mark(account, Decimal("99000")) == Decimal("100000.50")
    assert store.raise_high_water_mark(account, Decimal("101000")) == Decimal("101000")

    assert store.trading_state(account).high_water_mark == Decimal("101000")


def test_high_water_mark_and_state_switch_when_interleaved_then_neither_overwrites_the_other(
    store: RiskStore, account: str
) -> None:
    store.raise_high_water_mark(account, Decimal("50000"))
    store.set_trading_state(account, "HALTED", "max_drawdown", "drawdown 10.5%", AT)
    store.raise_high_water_mark(account, Decimal("52000"))

    state = store.trading_state(account)

    assert (state.state, state.high_water_mark) == ("HALTED", Decimal("52000"))
    assert [h.from_state for h in store.trading_state_history(account)] == ["ACTIVE"]


def test_record_exit_when_losses_then_streak_extends_and_a_win_resets_it(
    store: RiskStore, account: str
) -> None:
    streaks = [
        store.record_exit(account, "AAPL", "s1", AT, stop_out=True, pnl=Decimal("-120.50")),
        store.record_exit(
            account, "MSFT", "s1", AT + timedelta(minutes=1), stop_out=False, pnl=Decimal("-1")
        ),
        store.record_exit(account, "AAPL", "s2", AT + timedelta(minutes=2), stop_out=True, pnl=Decimal("-3")),
    ]
    after_breakeven = store.record_exit(account, "IBM", "s1", AT + timedelta(minutes=3), False, Decimal(0))
    after_unknown = store.record_exit(account, "IBM", "s1", AT + timedelta(minutes=4), False, None)
    after_win = store.record_exit(account, "AAPL", "s1", AT + timedelta(minutes=5), False, Decimal("80"))

    assert streaks == [1, 2, 3]
    assert (after_breakeven, after_unknown) == (3, 3)  # neither a loss nor a win
    assert after_win == 0
    assert store.trading_state(account).losing_streak == 0


def test_record_exit_when_redelivered_then_loss_counted_once(store: RiskStore, account: str) -> None:
    first = store.record_exit(account, "AAPL", "s1", AT, stop_out=True, pnl=Decimal("-50"))
    again = store.record_exit(account, "AAPL", "s1", AT, stop_out=True, pnl=Decimal("-50"))
    older = store.record_exit(
        account, "AAPL", "s1", AT - timedelta(hours=1), stop_out=False, pnl=Decimal("-5")
    )

    assert (first, again, older) == (1, 1, 1)
    assert store.symbol_history(account, "AAPL", "s1")[0] == AT


def test_record_exit_and_entry_then_symbol_history_per_ticker_and_strategy(
    store: RiskStore, account: str
) -> None:
    bar = datetime(2024, 1, 2, 14, 55, tzinfo=UTC)
    store.record_entry(account, "AAPL", "breakout", bar)
    store.record_exit(account, "AAPL", "breakout", AT, stop_out=True, pnl=Decimal("-10"))
    store.record_exit(account, "AAPL", "breakout", AT + timedelta(hours=1), stop_out=False, pnl=Decimal("5"))

    assert store.symbol_history(account, "AAPL", "breakout") == (AT + timedelta(hours=1), AT, bar)
    assert store.symbol_history(account, "AAPL", "other") == (None, None, None)
    assert store.symbol_history(account, "MSFT", "breakout") == (None, None, None)


# --- order rate -------------------------------------------------------------------------------------------


def test_count_order_from_concurrent_invocations_then_every_order_counted_once(
    new_store: Callable[[], RiskStore], account: str
) -> None:
    stores = [new_store() for _ in range(12)]

    counts = _in_threads(12, lambda i: stores[i].count_order(account, AT))

    assert sorted(counts) == list(range(1, 13))  # each invocation saw a distinct count
    assert stores[0].orders_last_minute(account, AT) == 12


def test_orders_last_minute_then_current_and_previous_minute_only(store: RiskStore, account: str) -> None:
    minute = timedelta(minutes=1)
    for _ in range(2):
        store.count_order(account, AT - 2 * minute)
    for _ in range(3):
        store.count_order(account, AT - minute)

    returned = store.count_order(account, AT)

    assert returned == 4  # 3 in the previous minute + this one; two minutes ago is out
    assert store.orders_last_minute(account, AT) == 4
    assert store.orders_last_minute(account, AT + minute) == 1
    assert store.orders_last_minute(account, AT + 2 * minute) == 0
    assert store.orders_last_minute(f"{account}-other", AT) == 0


def test_count_order_then_counter_item_expires_by_ttl(aws: Aws, account: str) -> None:
    aws.risk_state().count_order(account, AT)
    minute = epoch_minute(AT)

    ddb: Any = aws.client("dynamodb")
    item = ddb.get_item(
        TableName=resources.RISK_STATE_TABLE.name(STAGE),
        Key={"pk": {"S": rate_pk(account, minute)}, "sk": {"S": RATE_SK}},
        ConsistentRead=True,
    )["Item"]

    expires_at = int(item[resources.RISK_STATE_TABLE.ttl_attribute or ""]["N"])
    assert expires_at == rate_expires_at(minute) == (minute + 1) * 60 + 300
    ttl = ddb.describe_time_to_live(TableName=resources.RISK_STATE_TABLE.name(STAGE))
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"


# --- entries queued for the open --------------------------------------------------------------------------


def test_queue_entry_when_ticker_already_queued_then_replaces_and_returns_older_id(
    store: RiskStore, account: str
) -> None:
    first = store.queue_entry(account, "AAPL", "sig-old", AT)
    replaced = store.queue_entry(account, "AAPL", "sig-new", AT + timedelta(minutes=5))
    other_ticker = store.queue_entry(account, "MSFT", "sig-msft", AT)

    assert (first, replaced, other_ticker) == (None, "sig-old", None)
    assert store.take_queued(account) == [("AAPL", "sig-new"), ("MSFT", "sig-msft")]


def test_queue_entry_when_same_signal_redelivered_then_nothing_replaced(
    store: RiskStore, account: str
) -> None:
    store.queue_entry(account, "AAPL", "sig-1", AT)

    assert store.queue_entry(account, "AAPL", "sig-1", AT) is None
    assert store.take_queued(account) == [("AAPL", "sig-1")]


def test_take_queued_then_account_queue_empties_and_other_accounts_keep_theirs(
    store: RiskStore, account: str
) -> None:
    other = f"{account}-live"
    for ticker in ("MSFT", "AAPL", "IBM"):
        store.queue_entry(account, ticker, f"sig-{ticker}", AT)
    store.queue_entry(other, "AAPL", "sig-other", AT)

    taken = store.take_queued(account)

    assert taken == [("AAPL", "sig-AAPL"), ("IBM", "sig-IBM"), ("MSFT", "sig-MSFT")]
    assert store.take_queued(account) == []
    assert store.take_queued(other) == [("AAPL", "sig-other")]


def test_take_queued_from_concurrent_drains_then_each_entry_handed_out_once(
    new_store: Callable[[], RiskStore], account: str
) -> None:
    stores = [new_store() for _ in range(4)]
    tickers = [f"T{i:02d}" for i in range(12)]
    for ticker in tickers:
        stores[0].queue_entry(account, ticker, f"sig-{ticker}", AT)

    drained = _in_threads(4, lambda i: stores[i].take_queued(account))

    handed_out = [entry for batch in drained for entry in batch]
    assert sorted(handed_out) == [(t, f"sig-{t}") for t in tickers]


# --- notices announced once --------------------------------------------------------------------------------


def test_first_notice_when_noted_again_within_its_keep_then_a_repeat_and_other_keys_are_new(
    store: RiskStore, account: str
) -> None:
    keep = timedelta(days=7)

    first = store.first_notice(f"silence-{account}", AT, keep)
    again = store.first_notice(f"silence-{account}", AT + timedelta(hours=5), keep)
    other = store.first_notice(f"silence-other-{account}", AT + timedelta(hours=5), keep)

    assert (first, again, other) == (True, False, True)


def test_first_notice_when_its_keep_has_passed_then_new_again_even_before_ttl_deletes_it(
    store: RiskStore, account: str
) -> None:
    keep = timedelta(hours=1)
    store.first_notice(f"silence-{account}", AT, keep)

    just_before = store.first_notice(f"silence-{account}", AT + keep - timedelta(seconds=1), keep)
    after = store.first_notice(f"silence-{account}", AT + keep, keep)
    repeat_of_the_renewed = store.first_notice(f"silence-{account}", AT + keep + timedelta(minutes=1), keep)

    assert (just_before, after, repeat_of_the_renewed) == (False, True, False)


def test_first_notice_from_concurrent_schedules_then_exactly_one_announces(
    new_store: Callable[[], RiskStore], account: str
) -> None:
    stores = [new_store() for _ in range(5)]

    answers = _in_threads(5, lambda i: stores[i].first_notice(f"silence-{account}", AT, timedelta(days=1)))

    assert sorted(answers) == [False, False, False, False, True]


def test_drop_queued_entry_then_only_that_ticker_goes_and_its_signal_is_returned(
    store: RiskStore, account: str
) -> None:
    store.queue_entry(account, "AAPL", "sig-aapl", AT)
    store.queue_entry(account, "MSFT", "sig-msft", AT)

    assert store.drop_queued_entry(account, "AAPL") == "sig-aapl"
    assert store.drop_queued_entry(account, "AAPL") is None
    assert store.take_queued(account) == [("MSFT", "sig-msft")]


# --- closes queued for the open ---------------------------------------------------------------------------


def test_queue_close_when_one_is_queued_then_the_first_keeps_the_slot_until_dropped_by_its_signal(
    store: RiskStore, account: str
) -> None:
    assert store.queue_close(account, "AAPL", "exit-1", AT) == "exit-1"
    assert store.queue_close(account, "AAPL", "exit-2", AT + timedelta(minutes=1)) == "exit-1"
    store.queue_close(account, "MSFT", "exit-m", AT)

    store.drop_queued_close(account, "AAPL", "exit-2")  # not its slot: nothing happens
    assert store.queued_closes(account) == {"AAPL": "exit-1", "MSFT": "exit-m"}
    store.drop_queued_close(account, "AAPL", "exit-1")
    assert store.queued_closes(account) == {"MSFT": "exit-m"}
    assert store.queue_close(account, "AAPL", "exit-2", AT) == "exit-2"


# --- per-ticker leases ------------------------------------------------------------------------------------


def test_lease_when_held_then_refused_to_another_until_released_or_expired(
    store: RiskStore, account: str
) -> None:
    assert store.acquire_lease(account, "AAPL", "executor", AT, ttl_s=30)
    assert not store.acquire_lease(account, "AAPL", "reconciler", AT + timedelta(seconds=29), ttl_s=30)
    assert store.acquire_lease(account, "MSFT", "reconciler", AT, ttl_s=30)  # another ticker is free
    assert store.acquire_lease(account, "AAPL", "executor", AT + timedelta(seconds=10), ttl_s=30)  # extended
    assert not store.acquire_lease(account, "AAPL", "reconciler", AT + timedelta(seconds=39), ttl_s=30)
    assert store.acquire_lease(account, "AAPL", "reconciler", AT + timedelta(seconds=41), ttl_s=30)  # expired

    store.release_lease(account, "AAPL", "executor")  # no longer the executor's: stays the reconciler's
    assert not store.acquire_lease(account, "AAPL", "executor", AT + timedelta(seconds=42), ttl_s=30)
    store.release_lease(account, "AAPL", "reconciler")
    assert store.acquire_lease(account, "AAPL", "executor", AT + timedelta(seconds=42), ttl_s=30)


def test_lease_from_concurrent_holders_then_exactly_one_wins(
    new_store: Callable[[], RiskStore], account: str
) -> None:
    stores = [new_store() for _ in range(4)]

    won = _in_threads(4, lambda i: stores[i].acquire_lease(account, "AAPL", f"holder-{i}", AT, ttl_s=30))

    assert sum(won) == 1


# --- events -----------------------------------------------------------------------------------------------


@pytest.fixture
def bus_subscriber(aws: Aws) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """A rule on the provisioned bus for TradingStateChanged from tradepipe, targeting a fresh SQS queue."""
    events: Any = aws.client("events")
    sqs: Any = aws.client("sqs")
    name = f"itest-{uuid.uuid4().hex[:10]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = resources.EVENT_BUS.name(STAGE)
    events.put_rule(
        Name=name,
        EventBusName=bus,
        EventPattern=json.dumps({"source": [resources.EVENT_SOURCE], "detail-type": ["TradingStateChanged"]}),
    )
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])

    def received() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            out.extend(json.loads(m["Body"]) for m in messages)
        return out

    yield received
    events.remove_targets(Rule=name, EventBusName=bus, Ids=["queue"])
    events.delete_rule(Name=name, EventBusName=bus)
    sqs.delete_queue(QueueUrl=url)


def test_publish_then_event_reaches_a_rule_on_the_bus_with_exact_numbers(
    aws: Aws, bus_subscriber: Callable[[], list[dict[str, Any]]]
) -> None:
    publisher = composition.backend().events

    publisher.publish(
        "TradingStateChanged",
        {"account": "paper", "to": "HALTED", "equity": Decimal("90123.45"), "at": AT},
    )
    publisher.publish("RiskCapApplied", {"account": "paper", "cap": "max_open_positions"})

    (event,) = bus_subscriber()  # the cap event matches no rule here: only the switch arrives
    assert event["source"] == "tradepipe"
    assert event["detail-type"] == "TradingStateChanged"
    assert event["detail"] == {
        "account": "paper",
        "to": "HALTED",
        "equity": "90123.45",
        "at": "2024-01-02T15:00:30+00:00",
    }


def test_publish_when_entry_rejected_then_raises(aws: Aws) -> None:
    publisher = EventBridgePublisher(aws.client("events"), resources.EVENT_BUS.name(STAGE))

    # EventBridge answers 200 with FailedEntryCount for an entry it refuses (here: no detail type).
    with pytest.raises(EventPublishFailed) as failure:
        publisher.publish("", {"account": "paper"})

    assert failure.value.code == "InvalidArgument"


# --- market data and ATR ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def market(paper_broker: Any) -> AlpacaMarketData:
    """Built by the composition root from the paper keys in moto's Secrets Manager, pointed at the paper
    broker (the `paper_broker` fixture sets the data URL override for the whole session)."""
    assert os.environ["TRADEPIPE_ALPACA_DATA_URL_OVERRIDE"] == paper_broker.url
    composition.reset()
    built = composition.market_data()
    assert built is not None
    return built


def _cursor(paper_broker: Any) -> date:
    cursor: date = paper_broker.engine.feed.cursor
    return cursor


def test_daily_bars_from_paper_broker_then_newest_bars_oldest_first_up_to_the_cursor(
    market: AlpacaMarketData, paper_broker: Any
) -> None:
    bars = market.daily_bars("AAPL", 30)

    sample = [b for b in load_sample_bars(["AAPL"])["AAPL"] if b.day <= _cursor(paper_broker)][-30:]
    assert len(bars) == 30
    assert [b.t.astimezone(UTC).date() for b in bars] == [s.day for s in sample]
    assert [(b.o, b.h, b.l, b.c, b.v) for b in bars] == [
        (s.open, s.high, s.low, s.close, Decimal(s.volume)) for s in sample
    ]
    assert all(b.t.tzinfo is not None for b in bars)


def test_hourly_bars_from_paper_broker_then_synthetic_session_bars_of_the_cursor_day_inside_its_range(
    market: AlpacaMarketData, paper_broker: Any
) -> None:
    """Through alpaca-py (`TimeFrame(1, Hour)`): the paper broker derives them from its daily bars."""
    day = [b for b in load_sample_bars(["IBM"])["IBM"] if b.day <= _cursor(paper_broker)][-1]

    bars = market.bars("IBM", "60", 7)

    assert [b.t.astimezone(UTC).hour for b in bars] == [14, 15, 16, 17, 18, 19, 20]  # 09:30 New York on
    assert {b.t.astimezone(UTC).date() for b in bars} == {day.day}
    assert (bars[0].o, bars[-1].c) == (day.open, day.close)
    assert all(day.low <= b.l <= b.h <= day.high for b in bars)
    assert market.bars("IBM", "60", 7) == bars  # seeded (and cached)


def test_daily_bars_when_symbol_unknown_then_empty(market: AlpacaMarketData) -> None:
    assert market.daily_bars("NOSUCHSYMBOL", 20) == []
    assert market.latest_close("NOSUCHSYMBOL") is None


def test_latest_close_then_close_of_the_cursor_bar(market: AlpacaMarketData, paper_broker: Any) -> None:
    last = [b for b in load_sample_bars(["MSFT"])["MSFT"] if b.day <= _cursor(paper_broker)][-1]

    assert market.latest_close("MSFT") == last.close


def _wilder_atr(bars: list[DailyBar], period: int) -> float:
    """Independent reference: true ranges from the second bar, seeded with their simple mean, then
    Wilder's smoothing atr = (atr * (n - 1) + tr) / n."""
    true_ranges = [
        max(float(cur.h - cur.l), abs(float(cur.h - prev.c)), abs(float(cur.l - prev.c)))
        for prev, cur in zip(bars, bars[1:], strict=False)
    ]
    atr = sum(true_ranges[:period]) / period
    for tr in true_ranges[period:]:
        atr = (atr * (period - 1) + tr) / period
    return atr


@pytest.mark.parametrize("period", [5, 14, 20])
def test_average_true_range_of_real_aapl_bars_then_equals_wilder_reference(
    market: AlpacaMarketData, period: int
) -> None:
    bars = list(market.daily_bars("AAPL", 120))

    atr = average_true_range(bars, period)

    reference = _wilder_atr(bars, period)
    assert atr is not None
    assert atr == Decimal(repr(reference)).quantize(Decimal("0.0001"))
    assert abs(float(atr) - reference) <= 0.00005 + 1e-6
    assert atr > 0


def test_average_true_range_when_exactly_period_plus_one_bars_then_mean_of_true_ranges(
    market: AlpacaMarketData,
) -> None:
    bars = list(market.daily_bars("IBM", 15))

    too_few = average_true_range(bars[1:], 14)
    seeded = average_true_range(bars, 14)

    assert too_few is None
    assert seeded == Decimal(repr(_wilder_atr(bars, 14))).quantize(Decimal("0.0001"))


def test_average_true_range_when_last_bar_has_nan_then_none(market: AlpacaMarketData) -> None:
    bars = list(market.daily_bars("AAPL", 30))
    bars[-1] = replace(bars[-1], h=Decimal("NaN"))

    assert average_true_range(bars, 14) is None
    assert average_true_range(bars[:-1], 14) is not None

"""Caps under concurrency: N entries assessed at once (threads; for SQLite also processes), through the real
`assess_signal`, against the SQLite store and DynamoDB on moto. Whatever was approved together must fit
every cap: per-position % of equity, gross exposure, open positions, buying power, orders per minute.

Issue 18's race: five BUY IBM alerts at once under a 20% cap each saw the broker's empty position and two
passed at 98 shares (39.8% of equity). The reservation is what the concurrent assessments now share.

What moto can and cannot show: moto has no per-item lock (two conditional writes of one item can both pass),
so the DynamoDB runs go through `atomic_endpoint` (one request at a time), which gives moto DynamoDB's
per-item atomicity and leaves every read-decide-write race between the clients as real. The test shows that
the adapter's version-conditional write is what keeps the caps; it cannot show DynamoDB's own guarantee
(that a conditional write is atomic per item), which the AWS path relies on as documented.
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.checks.emulated_aws import FAKE_CREDENTIALS, LOCAL_REGION
from tests.integration.conftest import STAGE
from tests.integration.test_risk_adapters import _in_threads
from tests.integration.test_risk_adapters import atomic_endpoint as atomic_endpoint  # the fixture
from tradepipe import resources
from tradepipe.adapters.memory import FixedClock, MemoryBroker, MemoryBrokers, MemoryQueue, MemorySignalStore
from tradepipe.adapters.memory_risk import MemoryEventPublisher, MemoryMarketData, MemoryRiskStateStore
from tradepipe.adapters.risk_state import DynamoRiskStateStore
from tradepipe.adapters.sqlite.database import Database, Durability
from tradepipe.adapters.sqlite.risk_state import SqliteRiskStateStore
from tradepipe.app.assess import RiskDeps, assess_signal
from tradepipe.contracts.items import SignalItem, StatusEntry
from tradepipe.contracts.messages import OrderIntent, SignalAccepted
from tradepipe.domain.model import Action, Mode, OrderType, Side, Signal, SignalStatus, SizingMode
from tradepipe.domain.risk.profile import RiskConfig, RiskProfile
from tradepipe.domain.risk.reservations import effective_holdings
from tradepipe.ports.risk_state import EntryReservations

NOW = datetime(2024, 3, 4, 15, 0, 30, tzinfo=UTC)
EQUITY, BUYING_POWER = Decimal(100_000), Decimal(90_000)
PROFILE = RiskProfile(
    max_equity_pct_per_position=Decimal(20),
    max_gross_exposure_pct=Decimal(70),
    max_open_positions=3,
    max_orders_per_minute=8,
    one_entry_per_bar=False,
    min_atr=None,
    max_atr=None,
    atr_stop=None,
)
TICKERS = ("IBM", "AAPL", "MSFT", "GOOG", "TSLA")

Entry = tuple[str, Side, int, Decimal]  # ticker, side, qty, price
entries = st.lists(
    st.tuples(
        st.sampled_from(TICKERS),
        st.sampled_from((Side.BUY, Side.SELL)),
        st.integers(min_value=1, max_value=400),
        st.decimals(min_value=5, max_value=500, places=2),
    ),
    min_size=2,
    max_size=12,
)


def _signal(i: int, entry: Entry) -> Signal:
    ticker, side, qty, price = entry
    stop = price * Decimal("0.9") if side is Side.BUY else price * Decimal("1.1")
    return Signal(
        signal_id=f"{uuid.uuid4().hex[:24]}{i:08d}",
        action=Action.ENTER,
        side=side,
        ticker=ticker,
        mode=Mode.PAPER,
        strategy=f"s{i}",
        timeframe="5",
        alert_time=NOW,
        sizing_mode=SizingMode.FIXED_QUANTITY,
        sizing_value=Decimal(qty),
        order_type=OrderType.MARKET,
        entry_price=price,
        stop_loss=stop.quantize(Decimal("0.01")),
    )


def _deps(reservations: EntryReservations, store: MemorySignalStore, queue: MemoryQueue) -> RiskDeps:
    """The risk stage with `reservations` under test; the rest in memory (nothing else is shared)."""
    broker = MemoryBroker()
    broker.account_view = broker.account_view.__class__(
        equity=EQUITY, last_equity=EQUITY, buying_power=BUYING_POWER
    )
    risk_state = MemoryRiskStateStore()
    return RiskDeps(
        store=store,
        intents=queue,
        clock=FixedClock(NOW),
        config=RiskConfig(version=1, default=PROFILE),
        brokers=MemoryBrokers(paper=broker),
        trading_state=risk_state,
        history=risk_state,
        reservations=reservations,
        positions=risk_state,
        queued=risk_state,
        market_data=MemoryMarketData(),
        events=MemoryEventPublisher(),
        atr=lambda bars, n: None,
    )


def _assess(deps: RiskDeps, signal: Signal) -> OrderIntent | None:
    deps.store.record_new(
        SignalItem(
            signal_id=signal.signal_id,
            status=SignalStatus.ENQUEUED,
            received_at=NOW,
            updated_at=NOW,
            expires_at=0,
            history=[StatusEntry(status=SignalStatus.ENQUEUED, at=NOW)],
            ticker=signal.ticker,
        )
    )
    outcome = assess_signal(SignalAccepted(signal=signal, received_at=NOW), deps)
    return outcome if isinstance(outcome, OrderIntent) else None


def _assert_every_cap_holds(
    approved: list[OrderIntent], reservations: EntryReservations, account: str
) -> None:
    book = reservations.book(account).live(NOW)
    # What was approved is exactly what is reserved: nothing approved outside the atomic write.
    assert sorted((i.signal_id, i.qty) for i in approved) == sorted(
        (r.reservation_id, r.qty) for r in book.reservations
    )
    held = effective_holdings({}, book)
    limit = EQUITY * Decimal("0.20")
    for ticker, holding in held.items():
        assert abs(holding.market_value) <= limit, f"{ticker}: {holding.market_value} > {limit}"
    assert sum(abs(h.market_value) for h in held.values()) <= EQUITY * Decimal("0.70")
    assert sum(1 for h in held.values() if h.qty != 0) <= 3
    assert book.reserved_notional() * Decimal("1.03") <= BUYING_POWER
    assert len(book.order_times) <= 8


def _run_in_threads(make: Callable[[], EntryReservations], account_entries: list[Entry]) -> list[OrderIntent]:
    signals = [_signal(i, e) for i, e in enumerate(account_entries)]
    deps = [_deps(make(), MemorySignalStore(), MemoryQueue()) for _ in signals]
    outcomes = _in_threads(len(signals), lambda i: _assess(deps[i], signals[i]))
    return [o for o in outcomes if o is not None]


_SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_SETTINGS
@given(account_entries=entries)
def test_concurrent_assessments_on_sqlite_threads_then_every_cap_holds(
    tmp_path: Path, account_entries: list[Entry]
) -> None:
    db = Database.open(tmp_path / f"state-{uuid.uuid4().hex[:8]}", Durability.PROCESS)

    approved = _run_in_threads(lambda: SqliteRiskStateStore(db), account_entries)

    _assert_every_cap_holds(approved, SqliteRiskStateStore(db), "paper")


@_SETTINGS
@given(account_entries=entries)
def test_concurrent_assessments_on_dynamodb_then_every_cap_holds(
    atomic_endpoint: str, account_entries: list[Entry]
) -> None:
    # Each assessment on its own boto3 session, as separate Lambda invocations have. A fresh account per
    # example: the table lives for the session; the signals' mode names the account ("paper"), so the
    # example's store is keyed apart by a table of its own account prefix instead.
    account_prefix = uuid.uuid4().hex[:8]

    def make() -> EntryReservations:
        session = boto3.session.Session(
            aws_access_key_id=FAKE_CREDENTIALS["aws_access_key_id"],
            aws_secret_access_key=FAKE_CREDENTIALS["aws_secret_access_key"],
            region_name=LOCAL_REGION,
        )
        table = session.resource("dynamodb", endpoint_url=atomic_endpoint).Table(
            resources.RISK_STATE_TABLE.name(STAGE)
        )
        return _Prefixed(DynamoRiskStateStore(table), account_prefix)

    approved = _run_in_threads(make, account_entries)

    _assert_every_cap_holds(approved, make(), "paper")


def _process_assessments(state_dir: str, account_entries: list[Entry], first: int) -> list[tuple[str, str]]:
    """One process's share of the assessments, on its own connection to the shared database."""
    db = Database.open(Path(state_dir), Durability.PROCESS)
    deps = _deps(SqliteRiskStateStore(db), MemorySignalStore(), MemoryQueue())
    out = []
    for i, entry in enumerate(account_entries):
        intent = _assess(deps, _signal(first + i, entry))
        if intent is not None:
            out.append((intent.signal_id, str(intent.qty)))
    return out


def test_concurrent_assessments_on_sqlite_processes_then_every_cap_holds(tmp_path: Path) -> None:
    """Five processes, each assessing the issue's five IBM buys and more at once on one database."""
    state_dir = tmp_path / "state"
    Database.open(state_dir, Durability.PROCESS)  # created (and migrated) once, before the race
    work = [
        [("IBM", Side.BUY, 98, Decimal("204.10")), ("AAPL", Side.BUY, 60, Decimal("190.00"))],
        [("IBM", Side.BUY, 98, Decimal("204.10")), ("MSFT", Side.SELL, 40, Decimal("410.00"))],
        [("IBM", Side.BUY, 98, Decimal("204.10")), ("GOOG", Side.BUY, 100, Decimal("140.00"))],
        [("IBM", Side.BUY, 98, Decimal("204.10")), ("TSLA", Side.BUY, 80, Decimal("250.00"))],
        [("IBM", Side.BUY, 98, Decimal("204.10")), ("AAPL", Side.BUY, 60, Decimal("190.00"))],
    ]
    with multiprocessing.get_context("spawn").Pool(len(work)) as pool:
        results = pool.starmap(
            _process_assessments, [(str(state_dir), w, 10 * n) for n, w in enumerate(work)]
        )

    store = SqliteRiskStateStore(Database.open(state_dir, Durability.PROCESS))
    approved = [
        OrderIntent.model_construct(signal_id=sid, qty=Decimal(qty)) for part in results for sid, qty in part
    ]
    _assert_every_cap_holds(approved, store, "paper")
    ibm = [r for r in store.book("paper").reservations if r.ticker == "IBM"]
    assert sum(r.qty for r in ibm) <= 97  # one position's worth (20% of 100,000 at 204.10), not two


class _Prefixed:
    """An account name kept apart per example on the session's shared table."""

    def __init__(self, inner: DynamoRiskStateStore, prefix: str) -> None:
        self._inner, self._prefix = inner, prefix

    def reserve(self, account: str, decide: Any) -> Any:
        return self._inner.reserve(f"{self._prefix}-{account}", decide)

    def release(self, account: str, reservation_id: str) -> bool:
        return self._inner.release(f"{self._prefix}-{account}", reservation_id)

    def hold_at_broker(self, account: str, reservation_id: str, until: datetime) -> bool:
        return self._inner.hold_at_broker(f"{self._prefix}-{account}", reservation_id, until)

    def book(self, account: str) -> Any:
        return self._inner.book(f"{self._prefix}-{account}")

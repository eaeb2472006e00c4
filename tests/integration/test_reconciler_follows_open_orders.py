"""The reconciler follows our open orders by the order store's index and reads fills from a durable cursor,
not a 2-day window: a GTC stop leg that triggers five weeks after its entry is settled once, a crash half-way
through a run is read again by the next, and a run costs the same requests whatever the account's history.
The real reconciler and Alpaca adapter (alpaca-py) against the Alpaca-like paper broker on a hand-moved
clock; the runtime's SQLite stores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from alpaca.trading.enums import OrderSide

from tests.integration.broker_helpers import market, settle, submitted, trading_client
from tests.integration.conftest import BROKER_KEY, BROKER_SECRET, SESSION_START
from tests.support.intents import open_intent
from tradepipe.adapters.alpaca import AlpacaBroker
from tradepipe.adapters.memory_risk import MemoryEventPublisher
from tradepipe.adapters.sqlite.database import Database, Durability
from tradepipe.adapters.sqlite.fill_cursor import SqliteFillCursorStore
from tradepipe.adapters.sqlite.records import SqliteFillStore, SqliteOrderStore, SqliteSignalStore
from tradepipe.adapters.sqlite.risk_state import SqliteRiskStateStore
from tradepipe.app.execute import ExecutorDeps, execute_intent
from tradepipe.app.reconcile import ReconcileDeps, ReconcileReport, reconcile
from tradepipe.contracts.items import OrderItem, SignalItem, StatusEntry
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Mode, Side, SignalStatus
from tradepipe.local.paper_broker import ManualClock
from tradepipe.ports.broker import FillView

# Wednesday 6 January 2027, 10:00 New York: five weeks after the session's start (a Wednesday too), clear of
# the New Year holiday, with the market open.
FIVE_WEEKS_LATER = SESSION_START + timedelta(days=35)


class _BrokerTime:
    """The pipeline's clock reads the broker's hand-moved one: both sides agree on what 'five weeks' is."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()


class _Brokers:
    """The paper account through the real Alpaca adapter, counting every request it sends."""

    def __init__(self, url: str) -> None:
        self.requests = 0
        self.paper = AlpacaBroker(
            Mode.PAPER, BROKER_KEY, BROKER_SECRET, url_override=url, before_request=self._count
        )

    def _count(self) -> None:
        self.requests += 1

    def for_mode(self, mode: Mode) -> AlpacaBroker | None:
        return self.paper if mode is Mode.PAPER else None


class _CrashingFills(SqliteFillStore):
    """Dies once, on the first fill it is asked to record: a run killed between reading and recording."""

    crashed = False

    def record_fill(
        self, fill: FillView, mode: str, client_order_id: str | None, signal_id: str | None
    ) -> bool:
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("killed between reading the fills and recording them")
        return super().record_fill(fill, mode, client_order_id, signal_id)


@dataclass
class _Stack:
    db: Database
    signals: SqliteSignalStore
    orders: SqliteOrderStore
    fills: SqliteFillStore
    risk: SqliteRiskStateStore
    cursor: SqliteFillCursorStore
    brokers: _Brokers
    events: MemoryEventPublisher
    clock: _BrokerTime

    def reconcile(self, fills: SqliteFillStore | None = None) -> ReconcileReport:
        deps = ReconcileDeps(
            signals=self.signals,
            orders=self.orders,
            fills=fills or self.fills,
            brokers=self.brokers,
            history=self.risk,
            positions=self.risk,
            events=self.events,
            clock=self.clock,
            protect=False,  # the protective-stop check has tests of its own; here: what the sweep finds
            fill_cursor=self.cursor,
        )
        return reconcile(Mode.PAPER, deps)

    def requests_of_one_run(self) -> int:
        before = self.brokers.requests
        self.reconcile()
        return self.brokers.requests - before


@pytest.fixture
def stack(tmp_path: Path, running_broker: Any, admin: httpx.Client, broker_clock: ManualClock) -> _Stack:
    db = Database.open(tmp_path / "state", Durability.PROCESS)
    return _Stack(
        db=db,
        signals=SqliteSignalStore(db),
        orders=SqliteOrderStore(db),
        fills=SqliteFillStore(db),
        risk=SqliteRiskStateStore(db),
        cursor=SqliteFillCursorStore(db),
        brokers=_Brokers(running_broker.url),
        events=MemoryEventPublisher(),
        clock=_BrokerTime(broker_clock),
    )


def _enter_ibm_bracket(stack: _Stack, admin: httpx.Client, broker_clock: ManualClock) -> OrderIntent:
    """A GTC bracket (IBM, buy 10, target 230, stop 198) through the real executor; the entry fills while
    the executor waits for it (its sleep moves the broker's clock)."""
    admin.post("/_paper/prices", json={"IBM": "204.00"}).raise_for_status()
    now = broker_clock()
    signal_id = "f0" * 16
    stack.signals.record_new(
        SignalItem(
            signal_id=signal_id,
            status=SignalStatus.SIZED,
            received_at=now,
            updated_at=now,
            expires_at=0,
            history=[StatusEntry(status=SignalStatus.SIZED, at=now)],
            ticker="IBM",
        )
    )
    intent = open_intent(
        signal_id, qty=10, take_profit=Decimal("230.00"), stop_loss=Decimal("198.00"), sized_at=now
    )
    deps = ExecutorDeps(
        stack.signals,
        stack.orders,
        stack.brokers,
        stack.clock,
        history=stack.risk,
        sleep=lambda seconds: settle(broker_clock, seconds),
    )
    execute_intent(intent, deps)
    settle(broker_clock)
    return intent


def _stop_out_five_weeks_later(admin: httpx.Client, broker_clock: ManualClock) -> None:
    broker_clock.set(FIVE_WEEKS_LATER)
    admin.post("/_paper/prices", json={"IBM": "197.00"}).raise_for_status()  # through the 198 stop
    settle(broker_clock)  # the triggered stop fills on the broker's clock, its target is cancelled


def test_gtc_stop_leg_filling_five_weeks_after_its_entry_is_settled_once(
    stack: _Stack, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    intent = _enter_ibm_bracket(stack, admin, broker_clock)
    first = stack.reconcile()  # the day of the entry: the bracket is working, its legs are recorded
    entry = stack.orders.get(intent.client_order_id)
    assert entry is not None
    assert {leg.order_type for leg in entry.legs} == {"limit", "stop"}
    assert first.stop_outs == 0
    assert first.broker_requests == 2  # the legs came with the entry's submission: no read of it
    # While the bracket works, a run costs the open-orders listing and the fills page: nothing per order.
    assert stack.requests_of_one_run() == 2

    _stop_out_five_weeks_later(admin, broker_clock)
    settled = stack.reconcile()
    again = stack.reconcile()

    assert (settled.stop_outs, again.stop_outs) == (1, 0)
    _, last_stop_out, _ = stack.risk.symbol_history("paper", "IBM", "itest")
    assert last_stop_out is not None
    assert last_stop_out >= FIVE_WEEKS_LATER  # the cooldown runs from the stop's fill, five weeks on
    assert stack.risk.trading_state("paper").losing_streak == 1
    (exit_filled,) = stack.events.of_type("ExitFilled")
    assert exit_filled["exit_reason"] == "stop_loss"
    assert Decimal(exit_filled["pnl"]) < 0
    # The stop's fill is the entry's: attributed to its order and signal in the fills table.
    assert stack.fills.net_quantity("paper", "IBM") == 0
    attributed = stack.db.connection().execute("SELECT item FROM fills").fetchall()
    assert len(attributed) == 2
    assert all(f'"client_order_id":"{intent.client_order_id}"' in raw for (raw,) in attributed)
    assert [o.client_order_id for o in stack.orders.working("paper")] == []  # nothing left to follow


def test_run_killed_between_reading_fills_and_recording_them_is_read_again_never_skipped(
    stack: _Stack, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    intent = _enter_ibm_bracket(stack, admin, broker_clock)
    stack.reconcile()
    mark = stack.cursor.fill_cursor("paper")
    _stop_out_five_weeks_later(admin, broker_clock)
    crashing = _CrashingFills(stack.db)

    with pytest.raises(RuntimeError, match="killed"):
        stack.reconcile(fills=crashing)

    # Nothing moved on past what was not recorded: the cursor stands, the bracket is still followed.
    assert stack.cursor.fill_cursor("paper") == mark
    assert [o.client_order_id for o in stack.orders.working("paper")] == [intent.client_order_id]
    rerun = stack.reconcile(fills=crashing)
    assert rerun.fills_recorded == 1
    assert stack.fills.net_quantity("paper", "IBM") == 0
    assert stack.risk.trading_state("paper").losing_streak == 1  # the stop-out counted once
    assert len(stack.events.of_type("ExitFilled")) == 1
    assert stack.cursor.fill_cursor("paper") is not None
    assert stack.cursor.fill_cursor("paper") != mark


def test_run_costs_the_same_requests_with_many_settled_orders_as_with_none(
    stack: _Stack, running_broker: Any, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    empty = stack.requests_of_one_run()
    client = trading_client(running_broker.url)
    placed = []
    for n in range(120):  # more than one page of fills (100), as many orders as a busy day's
        side = OrderSide.BUY if n % 2 == 0 else OrderSide.SELL
        placed.append(submitted(client, market("IBM", 1, side, coid=f"hist-{n}")))
        settle(broker_clock)
        if n % 100 == 99:
            broker_clock.advance(60)  # the broker's 200 requests a minute
    for order in placed:
        stack.orders.record_intent(
            _recorded(order.client_order_id, str(order.id), order.side, broker_clock())
        )
    broker_clock.advance(60)
    stack.reconcile()  # learns that every one of them ended: one read each, once
    broker_clock.advance(3600)  # an hour on: still inside the old reconciler's 2-day window
    stack.reconcile()  # reads the fills once more (the cursor trails its reads by FILL_OVERLAP)

    assert stack.requests_of_one_run() == empty
    assert stack.orders.working("paper") == []


def _recorded(coid: str, broker_order_id: str, side: Any, at: datetime) -> OrderItem:
    return OrderItem(
        client_order_id=coid,
        intent_id=f"{coid}:open",
        signal_id=coid,
        mode=Mode.PAPER,
        strategy="history",
        symbol="IBM",
        side=Side.BUY if side == OrderSide.BUY else Side.SELL,
        qty=Decimal(1),
        order_class="simple",
        purpose="exit",
        status="accepted",
        broker_order_id=broker_order_id,
        created_at=at,
        updated_at=at,
    )

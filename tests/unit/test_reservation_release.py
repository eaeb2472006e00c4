"""Where an entry's reservation ends: the executor releases it when the entry is rejected or fills (the
broker's position holds it now), and holds it at the broker while the order rests there; the reconciler
releases it when a resting order ends."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from tests.unit.test_pipeline_use_cases import NOW, _recorded, risk_deps
from tradepipe.adapters.broker_snapshot import SnapshotBrokers
from tradepipe.adapters.memory import (
    FixedClock,
    MemoryBroker,
    MemoryBrokers,
    MemoryOrderStore,
    MemoryQueue,
    MemorySignalStore,
)
from tradepipe.adapters.memory_risk import MemoryEventPublisher, MemoryRiskStateStore
from tradepipe.app.assess import assess_signal
from tradepipe.app.execute import ExecutorDeps, execute_intent
from tradepipe.app.placement import NotYet
from tradepipe.app.reconcile import ReconcileDeps, reconcile
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Mode
from tradepipe.ports.broker import BrokerOrder, FillView


class _RestingBroker(MemoryBroker):
    """Accepts entries without filling them (a limit resting in the book, or a market order `new`)."""

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        placed = super().submit(intent)
        resting = replace(placed, status="new", filled_qty=Decimal(0), filled_avg_price=None, filled_at=None)
        self.orders[intent.client_order_id] = resting
        return resting


def _approved(broker: MemoryBroker) -> tuple[OrderIntent, MemoryRiskStateStore, MemorySignalStore]:
    store, queue = MemorySignalStore(), MemoryQueue()
    deps = risk_deps(store, queue, broker)
    intent = assess_signal(_recorded(store), deps)
    assert isinstance(intent, OrderIntent)
    reservations = deps.reservations
    assert isinstance(reservations, MemoryRiskStateStore)
    assert [r.reservation_id for r in reservations.book("paper").reservations] == [intent.signal_id]
    return intent, reservations, store


def _execute(
    intent: OrderIntent, broker: MemoryBroker, reservations: MemoryRiskStateStore, signals: MemorySignalStore
) -> None:
    execute_intent(
        intent,
        ExecutorDeps(
            signals,
            MemoryOrderStore(),
            MemoryBrokers(paper=broker),
            FixedClock(NOW),
            reservations=reservations,
        ),
    )


def test_execute_when_entry_fills_then_reservation_released() -> None:
    broker = MemoryBroker()
    intent, reservations, signals = _approved(broker)

    _execute(intent, broker, reservations, signals)

    book = reservations.book("paper")
    assert book.holding() == ()
    # Kept a while for broker figures read before the fill (they do not hold the position yet).
    assert [(r.reservation_id, r.released_at) for r in book.reservations] == [(intent.signal_id, NOW)]
    assert len(book.order_times) == 1  # its rate slot stays for its minute


def test_execute_when_broker_rejects_then_reservation_released() -> None:
    broker = MemoryBroker()
    intent, reservations, signals = _approved(broker)
    broker.reject_with = ("40310000", "insufficient buying power")

    _execute(intent, broker, reservations, signals)

    assert reservations.book("paper").holding() == ()


def test_execute_when_entry_rests_at_broker_then_held_with_the_orders_lease() -> None:
    broker = _RestingBroker()
    intent, reservations, signals = _approved(broker)

    _execute(intent, broker, reservations, signals)

    (held,) = reservations.book("paper").reservations
    assert held.at_broker
    assert held.at_broker_since == NOW
    assert held.expires_at == NOW + timedelta(days=90)  # a GTC bracket entry


class _SweptBroker(_RestingBroker):
    """What the reconciler's sweep reads: the orders as the broker holds them now, no fill activities."""

    def orders_since(self, after: datetime) -> list[BrokerOrder]:
        return list(self.orders.values())

    def fills_since(self, after: datetime) -> list[FillView]:
        return []


class _Fills:
    def record_fill(self, fill: FillView, account: str, coid: str | None, signal_id: str | None) -> bool:
        return True


def _reconcile_at(
    at: datetime,
    broker: MemoryBroker,
    signals: MemorySignalStore,
    orders: MemoryOrderStore,
    reservations: MemoryRiskStateStore,
) -> None:
    """A reconciler run at `at` over the in-memory stores (no fill activities)."""
    deps = ReconcileDeps(
        signals=signals,
        orders=orders,
        fills=_Fills(),  # type: ignore[arg-type]
        brokers=MemoryBrokers(paper=broker),
        history=reservations,
        positions=reservations,
        events=MemoryEventPublisher(),
        clock=FixedClock(at),
        reservations=reservations,
    )
    reconcile(Mode.PAPER, deps)


@pytest.mark.parametrize("ended", ["filled", "canceled", "expired"])
def test_reconcile_when_resting_entry_ends_then_reservation_released(ended: str) -> None:
    broker = _SweptBroker()
    intent, reservations, signals = _approved(broker)
    orders = MemoryOrderStore()
    execute_intent(
        intent,
        ExecutorDeps(
            signals, orders, MemoryBrokers(paper=broker), FixedClock(NOW), reservations=reservations
        ),
    )
    resting = broker.orders[intent.client_order_id]
    filled = Decimal(0) if ended != "filled" else resting.qty
    broker.orders[intent.client_order_id] = replace(resting, status=ended, filled_qty=filled)
    _reconcile_at(NOW + timedelta(hours=3), broker, signals, orders, reservations)

    assert reservations.book("paper").holding() == ()


@pytest.mark.parametrize("snapshot_age_s", [5.0, 0.0], ids=["figures kept 5 s", "figures read each time"])
def test_two_entries_either_side_of_a_fill_never_take_the_position_cap_twice(snapshot_age_s: float) -> None:
    # A fills and is released; B, on the same ticker at the same bar close, is assessed on broker figures
    # the risk stage read before A's fill (its snapshot): they hold neither A's position nor, before the
    # fix, its reservation. Each asks for the whole 20%-of-equity cap.
    broker = MemoryBroker()
    broker.fill_price = Decimal("150.25")
    store, queue = MemorySignalStore(), MemoryQueue()
    deps = risk_deps(store, queue, broker)
    brokers = MemoryBrokers(paper=broker)
    if snapshot_age_s:  # as composition.risk_brokers builds them, timed on the stores' clock
        deps = replace(deps, brokers=SnapshotBrokers(brokers, snapshot_age_s, wall=deps.clock.now))
    executor = ExecutorDeps(store, MemoryOrderStore(), brokers, deps.clock, reservations=deps.reservations)

    a = assess_signal(
        _recorded(store, signal_id="a" * 32, strategy="alpha", sizing_value=Decimal(10000)), deps
    )
    assert isinstance(a, OrderIntent)
    execute_intent(a, executor)  # filled at once: released
    b = assess_signal(
        _recorded(store, signal_id="b" * 32, strategy="beta", sizing_value=Decimal(10000)), deps
    )
    if isinstance(b, OrderIntent):
        execute_intent(b, executor)

    cap = broker.account_view.equity * Decimal("0.20")
    assert broker.positions["AAPL"] * broker.fill_price <= cap


def test_a_released_reservation_outlives_the_oldest_figures_the_risk_stage_may_keep() -> None:
    from annotated_types import Le

    from tradepipe.domain.risk.reservations import SETTLE
    from tradepipe.settings import Settings

    (bound,) = [m.le for m in Settings.model_fields["broker_snapshot_age_s"].metadata if isinstance(m, Le)]
    assert bound <= SETTLE.total_seconds()


def test_an_entry_resting_after_its_delivery_failed_keeps_its_room_the_reconciler_holds_it() -> None:
    class DiesAfterTheSubmit(_SweptBroker):
        dead = True

        def find_order(self, client_order_id: str) -> BrokerOrder | None:
            if self.dead:  # any failure after the submit, on every delivery: the message ends in the DLQ
                raise NotYet("still working")
            return super().find_order(client_order_id)

    broker = DiesAfterTheSubmit()
    intent, reservations, signals = _approved(broker)
    intent = intent.model_copy(update={"entry_timeout_s": None, "risk_budget": None})  # rests until done
    orders = MemoryOrderStore()
    executor = ExecutorDeps(
        signals, orders, MemoryBrokers(paper=broker), FixedClock(NOW), reservations=reservations
    )
    with pytest.raises(NotYet):
        execute_intent(intent, executor)
    (handed,) = reservations.book("paper").reservations
    assert not handed.at_broker  # only the 900 s hand-off lease
    broker.dead = False

    _reconcile_at(NOW + timedelta(minutes=1), broker, signals, orders, reservations)  # the next run
    later = NOW + timedelta(minutes=16)
    _reconcile_at(later, broker, signals, orders, reservations)

    assert broker.orders[intent.client_order_id].status == "new"  # still resting, and still holding room
    assert [r.reservation_id for r in reservations.book("paper").live(later).holding()] == [intent.signal_id]

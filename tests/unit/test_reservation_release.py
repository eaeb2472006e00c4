"""Where an entry's reservation ends: the executor releases it when the entry is rejected or fills (the
broker's position holds it now), and holds it at the broker while the order rests there; the reconciler
releases it when a resting order ends."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from tests.unit.test_pipeline_use_cases import NOW, _recorded, risk_deps
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

    assert reservations.book("paper").reservations == ()
    assert len(reservations.book("paper").order_times) == 1  # its rate slot stays for its minute


def test_execute_when_broker_rejects_then_reservation_released() -> None:
    broker = MemoryBroker()
    intent, reservations, signals = _approved(broker)
    broker.reject_with = ("40310000", "insufficient buying power")

    _execute(intent, broker, reservations, signals)

    assert reservations.book("paper").reservations == ()


def test_execute_when_entry_rests_at_broker_then_held_with_the_orders_lease() -> None:
    broker = _RestingBroker()
    intent, reservations, signals = _approved(broker)

    _execute(intent, broker, reservations, signals)

    (held,) = reservations.book("paper").reservations
    assert held.at_broker
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
    deps = ReconcileDeps(
        signals=signals,
        orders=orders,
        fills=_Fills(),  # type: ignore[arg-type]
        brokers=MemoryBrokers(paper=broker),
        history=reservations,
        positions=reservations,
        events=MemoryEventPublisher(),
        clock=FixedClock(NOW + timedelta(hours=3)),
        reservations=reservations,
    )

    reconcile(Mode.PAPER, deps)

    assert reservations.book("paper").reservations == ()

"""The reconciler's sweep of the orders it follows (app/followed_orders.py), against the in-memory broker,
which lists open orders as Alpaca does un-nested (a leg without its entry's id): what a run reads, what it
records, and when an order stops being followed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tradepipe.adapters.memory import MemoryBroker, MemoryOrderStore
from tradepipe.app.followed_orders import Sweep, finish, sweep_followed
from tradepipe.contracts.items import OrderItem
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Mode, Side
from tradepipe.ports.broker import BrokerOrder

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


class _CountingBroker(MemoryBroker):
    def __init__(self) -> None:
        super().__init__(Mode.PAPER)
        self.reads = 0

    def order_family(self, broker_order_id: str) -> list[BrokerOrder]:
        self.reads += 1
        return super().order_family(broker_order_id)


def _bracket(broker: MemoryBroker, store: MemoryOrderStore, coid: str = "tp-a-open") -> OrderItem:
    intent = OrderIntent(
        intent_id=f"{coid}:open",
        client_order_id=coid,
        close_client_order_id=f"{coid}-close",
        kind="open",
        signal_id=coid,
        mode=Mode.PAPER,
        strategy="s",
        symbol="IBM",
        side=Side.BUY,
        qty=10,
        take_profit=Decimal("230.00"),
        stop_loss=Decimal("198.00"),
        sized_at=NOW,
    )
    broker.fill_price = Decimal("204.00")
    placed = broker.submit(intent)
    item = OrderItem(
        client_order_id=coid,
        intent_id=intent.intent_id,
        signal_id=coid,
        mode=Mode.PAPER,
        strategy="s",
        symbol="IBM",
        side=Side.BUY,
        qty=Decimal(10),
        order_class="bracket",
        status=placed.status,
        broker_order_id=placed.broker_order_id,
        filled_qty=placed.filled_qty,
        filled_avg_price=placed.filled_avg_price,
        created_at=NOW,
        updated_at=NOW,
    )
    store.record_intent(item)
    return item


def _run(broker: _CountingBroker, store: MemoryOrderStore) -> Sweep:
    sweep = sweep_followed(Mode.PAPER, broker, store)
    finish(sweep, store)
    return sweep


def test_filled_entry_read_once_with_its_legs_then_followed_through_the_listing() -> None:
    broker, store = _CountingBroker(), MemoryOrderStore()
    item = _bracket(broker, store)

    first = _run(broker, store)
    second = _run(broker, store)

    recorded = store.get(item.client_order_id)
    assert recorded is not None
    assert sorted(leg.order_type for leg in recorded.legs) == ["limit", "stop"]
    assert (first.requests, second.requests) == (2, 1)  # the entry read once; then the listing alone
    assert broker.reads == 1
    assert all(o.parent_client_order_id == item.client_order_id for o in second.orders)
    assert first.ended == second.ended == []


def test_bracket_leaves_the_index_once_its_stop_filled_and_its_target_was_cancelled() -> None:
    broker, store = _CountingBroker(), MemoryOrderStore()
    item = _bracket(broker, store)
    _run(broker, store)
    stop = next(o for o in broker.orders.values() if o.order_type == "stop")
    target = next(o for o in broker.orders.values() if o.order_type == "limit")
    broker.orders[stop.client_order_id] = replace(stop, status="filled", filled_qty=Decimal(10))
    broker.orders[target.client_order_id] = replace(target, status="canceled")

    ended = sweep_followed(Mode.PAPER, broker, store)

    assert ended.ended == [item.client_order_id]
    filled = [o for o in ended.orders if o.status == "filled" and o.order_type == "stop"]
    assert [o.parent_client_order_id for o in filled] == [item.client_order_id]
    assert [o.client_order_id for o in store.working("paper")] == [item.client_order_id]  # not yet recorded
    finish(ended, store)
    assert store.working("paper") == []
    assert _run(broker, store).requests == 1  # settled: costs nothing any more


@pytest.mark.parametrize(
    ("status", "followed"),
    [
        pytest.param("rejected", False, id="refused-before-the-broker"),
        pytest.param("not_sent", False, id="close-not-needed"),
        pytest.param("pending_submit", True, id="still-the-executors"),
    ],
)
def test_order_the_broker_never_got_costs_no_request(status: str, followed: bool) -> None:
    broker, store = _CountingBroker(), MemoryOrderStore()
    item = _bracket(broker, store, "tp-b-open").model_copy(
        update={"client_order_id": "tp-c-open", "broker_order_id": None, "status": status}
    )
    store.record_intent(item)

    sweep = _run(broker, store)

    assert sweep.requests == 2  # the listing, and the bracket's one read to learn its legs
    assert ("tp-c-open" in {o.client_order_id for o in store.working("paper")}) is followed

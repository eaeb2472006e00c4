"""The paper broker's store writes an order again whenever any of its fields changed, in place included."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from tradepipe.local.paper_broker.state import (
    Account,
    BrokerState,
    Order,
    OrderClass,
    OrderType,
    Side,
    Status,
    TimeInForce,
)
from tradepipe.local.paper_broker.store import Market, SqliteStore

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _state() -> tuple[BrokerState, Order]:
    state = BrokerState(account=Account(Decimal(100_000), Decimal(100_000), NOW, Decimal(2)))
    order = Order(
        id="o-1",
        client_order_id="tp-x-open",
        symbol="MSFT",
        asset_id="a-msft",
        side=Side.BUY,
        type=OrderType.MARKET,
        order_class=OrderClass.OTO,
        time_in_force=TimeInForce.GTC,
        qty=Decimal("1.0"),
        submitted_at=NOW,
        seq=1,
    )
    state.orders[order.id] = order
    state.by_client_id[order.client_order_id] = order.id
    return state, order


def _saved_again(tmp_path: Path, change: Callable[[Order], None]) -> Order:
    market = Market(date(2026, 3, 2), {})
    state, order = _state()
    store = SqliteStore(tmp_path / "broker.sqlite3")
    store.save(state, market, [order])
    change(order)
    store.save(state, market, [order])
    store.close()
    saved = SqliteStore(tmp_path / "broker.sqlite3").load()
    assert saved is not None
    return saved.state.orders["o-1"]


def test_when_an_order_list_grows_in_place_between_saves_then_a_restart_reads_it(tmp_path: Path) -> None:
    assert _saved_again(tmp_path, lambda order: order.leg_ids.append("o-2")).leg_ids == ["o-2"]


def test_when_an_amount_is_rewritten_as_an_equal_number_then_a_restart_reads_it_as_written(
    tmp_path: Path,
) -> None:
    def rewrite(order: Order) -> None:
        order.qty = Decimal("1.00")

    assert str(_saved_again(tmp_path, rewrite).qty) == "1.00"


def test_when_an_order_status_moves_then_a_restart_reads_it(tmp_path: Path) -> None:
    def route(order: Order) -> None:
        order.status = Status.NEW

    assert _saved_again(tmp_path, route).status is Status.NEW

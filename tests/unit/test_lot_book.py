"""Lots kept in step with the broker's orders (app/lot_book.py), covered lot by lot (domain/lot_cover.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tradepipe.adapters.lots import MemoryLotStore
from tradepipe.app.lot_book import drop_flat, entry_fill_seen, follow_lots, protective_id, retire_lots
from tradepipe.contracts.items import OrderItem
from tradepipe.domain.lot_cover import lot_cover
from tradepipe.domain.lots import Lot
from tradepipe.domain.model import Mode, Side
from tradepipe.domain.protection import RestingOrder
from tradepipe.ports.broker import BrokerOrder

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
ENTRY = "tp-" + "a" * 32 + "-open"


def _entry_item(filled: Decimal | None = None, purpose: str = "open") -> OrderItem:
    return OrderItem(
        client_order_id=ENTRY,
        intent_id="a:open",
        signal_id="a" * 32,
        mode=Mode.PAPER,
        strategy="alpha",
        symbol="IBM",
        side=Side.BUY,
        qty=Decimal(10),
        order_class="oto",
        purpose=purpose,
        stop_loss=Decimal(190),
        status="new",
        created_at=NOW,
        updated_at=NOW,
        filled_qty=filled,
    )


def _order(coid: str, filled: int, parent: str | None = None, status: str = "filled") -> BrokerOrder:
    return BrokerOrder(
        broker_order_id=f"b-{coid}",
        client_order_id=coid,
        status=status,
        qty=Decimal(10),
        filled_qty=Decimal(filled),
        filled_avg_price=Decimal(200),
        submitted_at=NOW,
        filled_at=NOW,
        symbol="IBM",
        side="buy" if parent is None and coid[-5:] == "-open" else "sell",
        parent_client_order_id=parent,
    )


def _qty(lots: MemoryLotStore) -> list[Decimal]:
    return [lot.qty for lot in lots.lots("paper", "IBM")]


def test_a_partial_fill_opens_the_lot_and_the_rest_grows_it() -> None:
    lots = MemoryLotStore()

    entry_fill_seen(lots, _entry_item(), _order(ENTRY, 4, status="partially_filled"), NOW)
    entry_fill_seen(lots, _entry_item(Decimal(4)), _order(ENTRY, 10), NOW)

    assert _qty(lots) == [Decimal(10)]


def test_the_same_fill_seen_by_the_executor_and_a_sweep_at_once_is_one_lot_of_its_size() -> None:
    lots = MemoryLotStore()

    # Both read the order record before either recorded the fill.
    entry_fill_seen(lots, _entry_item(), _order(ENTRY, 10), NOW)
    entry_fill_seen(lots, _entry_item(), _order(ENTRY, 10), NOW)

    assert _qty(lots) == [Decimal(10)]


def test_a_close_fill_is_no_lot() -> None:
    lots = MemoryLotStore()

    entry_fill_seen(lots, _entry_item(purpose="exit"), _order(ENTRY, 10), NOW)

    assert _qty(lots) == []


def test_follow_shrinks_a_lot_by_its_own_legs_and_stops_only_and_never_recreates_it() -> None:
    lots = MemoryLotStore()
    entry_fill_seen(lots, _entry_item(), _order(ENTRY, 10), NOW)
    placed = [
        _order(ENTRY, 10),
        _order("leg-1", 3, parent=ENTRY),  # its take-profit, partly
        _order(protective_id(ENTRY, "rearm", 1), 2),  # a stop placed for it
        _order("tp-" + "b" * 32 + "-open-oco-x", 4),  # another lot's OCO: not this lot's
    ]

    follow_lots(lots, "paper", placed)
    assert _qty(lots) == [Decimal(5)]
    retire_lots(lots, "paper", "IBM", "alpha", NOW)
    follow_lots(lots, "paper", placed)

    assert _qty(lots) == []


def test_a_flat_ticker_drops_its_lots_but_not_one_filled_after_the_positions_were_read() -> None:
    lots = MemoryLotStore()
    entry_fill_seen(lots, _entry_item(), _order(ENTRY, 10), NOW)
    later = Lot(
        "paper", "IBM", "beta", "tp-b-open", Decimal(5), Decimal(200), None, NOW + timedelta(seconds=1)
    )
    lots.open_lot(later)

    dropped = drop_flat(lots, "paper", [_order(ENTRY, 10)], {}, NOW)

    assert dropped == ["IBM: alpha"]
    assert [lot.strategy for lot in lots.lots("paper", "IBM")] == ["beta"]


def _lot(strategy: str, lot_id: str, qty: int, stop: str) -> Lot:
    return Lot("paper", "IBM", strategy, lot_id, Decimal(qty), Decimal(200), Decimal(stop), NOW)


def _stop(coid: str, qty: int, parent: str | None = None) -> RestingOrder:
    return RestingOrder(coid, "new", Side.SELL, "stop", Decimal(qty), parent_client_order_id=parent)


def test_each_lot_is_covered_by_its_own_stops_and_a_gap_is_named_for_its_lot() -> None:
    alpha, beta = _lot("alpha", "A-open", 10, "190"), _lot("beta", "B-open", 5, "192")

    cover = lot_cover(Decimal(15), [alpha, beta], [_stop("leg", 5, parent="B-open")])

    assert [(g.lot.strategy, g.cover.uncovered) for g in cover.gaps] == [("alpha", Decimal(10))]
    assert cover.unowned_uncovered == 0


def test_a_stop_naming_no_lot_covers_uncovered_lots_and_an_ocos_stop_leg_belongs_to_its_lot() -> None:
    alpha, beta = _lot("alpha", "A-open", 10, "190"), _lot("beta", "B-open", 5, "192")
    oco = RestingOrder("A-open-oco-x", "new", Side.SELL, "limit", Decimal(10))
    orders = [oco, _stop("uuid", 10, parent="A-open-oco-x"), _stop("by-hand", 5)]

    cover = lot_cover(Decimal(15), [alpha, beta], orders)

    assert cover.gaps == ()
    assert cover.unowned_uncovered == 0


def test_shares_no_lot_accounts_for_are_reported_apart() -> None:
    cover = lot_cover(Decimal(15), [_lot("alpha", "A-open", 10, "190")], [_stop("leg", 10, parent="A-open")])

    assert cover.gaps == ()
    assert cover.unowned_uncovered == Decimal(5)

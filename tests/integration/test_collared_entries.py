"""Entries within their risk (issue 19 item 3), through the executor and the reconciler against the
Alpaca-like paper broker (real alpaca-py for orders and for the latest quote, the broker's own clock moved
by the use cases' waits): a marketable limit within its collar, re-sized against the quote; a quote gapped
past the collar; a limit that does not fill within entry_timeout_s; a partial fill cancelled at the timeout.

IBM trades at 200.00 (bid 199.98 / ask 200.02 under the broker's 2 bp spread). The entry the risk stage would
send: 10 shares sized for a $100 budget to the 190 stop at the alert's 200.00, a 10 bp collar (limit 200.20),
10% tolerance, 30 s to fill."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.integration.conftest import BROKER_KEY, BROKER_SECRET
from tests.integration.test_async_lifecycle import PRICE, TICKER, World, _all_orders, _status
from tradepipe.adapters.market_data import AlpacaMarketData
from tradepipe.app.execute import ExecutorDeps, execute_intent
from tradepipe.app.reconcile import reconcile
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Mode, OrderType, Side, SignalStatus
from tradepipe.domain.risk.reservations import Book, Granted, Reservation
from tradepipe.local.paper_broker import ManualClock
from tradepipe.ports.quotes import QuoteView

BUDGET = Decimal(100)  # 10 shares x (200.00 - 190.00)
LIMIT = Decimal("200.20")  # 200.00 + 10 bp
TIMEOUT_S = 30


@pytest.fixture
def world(running_broker: Any, broker_clock: ManualClock, admin: httpx.Client) -> World:
    from tests.integration.broker_helpers import trading_client

    admin.post("/_paper/prices", json={TICKER: str(PRICE)}).raise_for_status()
    return World(running_broker.url, broker_clock, trading_client(running_broker.url))


class _MarketMovesAfterTheRead:
    """Alpaca's latest quote, after which the market moves before the order arrives (the limit then rests)."""

    def __init__(self, quotes: AlpacaMarketData, admin: httpx.Client, price: str) -> None:
        self._quotes, self._admin, self._price = quotes, admin, price

    def latest_quote(self, symbol: str) -> QuoteView | None:
        found = self._quotes.latest_quote(symbol)
        self._admin.post("/_paper/prices", json={TICKER: self._price}).raise_for_status()
        return found


def _quotes(world: World) -> AlpacaMarketData:
    return AlpacaMarketData(BROKER_KEY, BROKER_SECRET, url_override=world.url)


def _collared(world: World, signal_id: str) -> OrderIntent:
    intent = world.intent(
        signal_id,
        order_type=OrderType.LIMIT,
        limit_price=LIMIT,
        risk_budget=BUDGET,
        risk_tolerance_pct=Decimal(10),
        entry_timeout_s=TIMEOUT_S,
    )
    reservation = Reservation(
        reservation_id=signal_id,
        ticker=TICKER,
        side=Side.BUY,
        qty=Decimal(10),
        entry=PRICE,
        reserved_at=world.clock(),
        expires_at=world.clock() + timedelta(minutes=15),
    )
    world.risk.reserve(
        "paper",
        lambda book: Granted(reservation, (), Book((*book.reservations, reservation), book.order_times)),
    )
    return intent


def _executor(world: World, quotes: Any) -> ExecutorDeps:
    return world.executor(quotes=quotes, reservations=world.risk)


def _reserved(world: World) -> list[str]:
    """The reservations still holding room (released ones stay a while, for figures read before)."""
    return [r.reservation_id for r in world.risk.book("paper").holding()]


def _fills_in_parts_ten_minutes_apart(admin: httpx.Client) -> None:
    """The paper broker fills every order in two parts, the second ten minutes after the first."""
    admin.post(
        "/_paper/faults", json={"partial_fill": 1.0, "partial_fill_delay_s": 600, "seed": 1}
    ).raise_for_status()


def _trail(world: World, signal_id: str) -> str:
    item = world.signals.get(signal_id)
    assert item is not None
    return " | ".join(f"{e.status.value}: {e.detail}" for e in item.history)


def test_entry_fills_at_the_ask_within_its_collar_resized_for_the_quote_and_within_budget(
    world: World,
) -> None:
    entry = _collared(world, "a" * 32)

    execute_intent(entry, _executor(world, _quotes(world)))

    assert world.status(entry.signal_id) is SignalStatus.FILLED
    (order,) = [o for o in _all_orders(world) if o.client_order_id == entry.client_order_id]
    # Sent as a limit at the collar; re-sized for the ask: $100 / (200.02 - 190) = 9.98 -> 9 shares.
    assert (str(order.type.value if order.type else ""), Decimal(str(order.limit_price))) == ("limit", LIMIT)
    assert world.held() == 9
    (filled,) = world.events.of_type("EntryFilled")
    assert (filled["qty"], filled["price"], filled["over_budget"]) == ("9", "200.02", False)
    assert Decimal(filled["realized_risk"]) == Decimal("90.18") <= BUDGET
    assert "risk at fill 90.18 of budget 100.00" in _trail(world, entry.signal_id)
    assert _reserved(world) == []  # the position holds the room now


def test_quote_gapped_past_the_collar_is_refused_before_any_order_and_its_room_released(
    world: World, admin: httpx.Client
) -> None:
    admin.post("/_paper/prices", json={TICKER: "201.00"}).raise_for_status()  # ask 201.03 > limit 200.20
    entry = _collared(world, "b" * 32)

    execute_intent(entry, _executor(world, _quotes(world)))

    item = world.signals.get(entry.signal_id)
    assert item is not None
    assert item.status is SignalStatus.REJECTED
    assert item.reject_reason == "QUOTE_BEYOND_COLLAR"
    assert "ask 201.03 is past the limit 200.20" in (item.reject_detail or "")
    assert _all_orders(world) == []  # the trader never pays beyond the collar: nothing was sent
    assert world.held() == 0
    assert _reserved(world) == []


def test_limit_not_filled_within_entry_timeout_is_cancelled_entry_not_filled_and_room_released(
    world: World, admin: httpx.Client
) -> None:
    entry = _collared(world, "c" * 32)
    # The ask is within the collar when read; the market runs to 201.00 before the order arrives.
    moving = _MarketMovesAfterTheRead(_quotes(world), admin, "201.00")

    execute_intent(entry, _executor(world, moving))

    assert world.status(entry.signal_id) is SignalStatus.SUBMITTED
    assert [_status(o) for o in world.open_orders() if o.client_order_id == entry.client_order_id] == ["new"]
    assert _reserved(world) == [entry.signal_id]  # held at the broker while it rests
    reconciler = world.reconciler()
    reconciler = type(reconciler)(**{**reconciler.__dict__, "reservations": world.risk})

    world.settle(TIMEOUT_S - 1)
    assert reconcile(Mode.PAPER, reconciler).entries_timed_out == []  # not yet
    world.settle(2)
    assert reconcile(Mode.PAPER, reconciler).entries_timed_out == [entry.client_order_id]
    world.settle()  # the broker confirms the cancel
    report = reconcile(Mode.PAPER, reconciler)

    assert report.entries_not_filled == 1
    item = world.signals.get(entry.signal_id)
    assert item is not None
    assert (item.status, item.reject_reason) == (SignalStatus.ENTRY_NOT_FILLED, "ENTRY_NOT_FILLED")
    assert "not filled by" in _trail(world, entry.signal_id)
    assert world.open_orders() == []
    assert world.held() == 0
    assert _reserved(world) == []
    reconcile(Mode.PAPER, reconciler)  # a later run changes nothing
    assert world.status(entry.signal_id) is SignalStatus.ENTRY_NOT_FILLED


def test_partial_fill_cancelled_at_the_timeout_keeps_a_stop_for_exactly_the_filled_shares(
    world: World, admin: httpx.Client
) -> None:
    # The entry fills in two parts, the second long after the timeout: the first part is all it gets.
    _fills_in_parts_ten_minutes_apart(admin)
    entry = _collared(world, "d" * 32)

    execute_intent(entry, _executor(world, _quotes(world)))

    assert world.status(entry.signal_id) is SignalStatus.SUBMITTED
    part = world.held()
    assert 0 < part < 9
    # Alpaca wakes a bracket's legs only once its entry is completely filled: the stop still waits, held.
    assert [_status(s) for s in world.working_stops()] == ["held"]
    reconciler = world.reconciler()

    world.settle(TIMEOUT_S + 1)
    assert reconcile(Mode.PAPER, reconciler).entries_timed_out == [entry.client_order_id]
    world.settle()  # cancelled with its held legs; the filled shares stay
    report = reconcile(Mode.PAPER, reconciler)

    item = world.signals.get(entry.signal_id)
    assert item is not None
    assert item.status is SignalStatus.FILLED
    assert item.filled_qty == part
    assert f"partial: {part} of 9" in _trail(world, entry.signal_id)
    assert world.held() == part
    stops = world.working_stops()
    assert [(Decimal(str(s.qty)), Decimal(str(s.stop_price))) for s in stops] == [(part, Decimal("190.00"))]
    assert report.protection.rearmed


def test_a_plain_limit_entry_partly_filled_has_the_rest_cancelled_after_its_grace_and_its_shares_a_stop(
    world: World, admin: httpx.Client
) -> None:
    # No collar, no timeout: a day limit entry whose second part would come ten minutes later. Its bracket's
    # stop is held until it completes, and Alpaca refuses a standalone stop beside it (a wash trade).
    _fills_in_parts_ten_minutes_apart(admin)
    entry = world.intent("p" * 32, order_type=OrderType.LIMIT, limit_price=LIMIT)
    execute_intent(entry, world.executor())
    part = world.held()
    assert 0 < part < 10
    reconciler = world.reconciler()

    world.settle(60)
    first = reconcile(Mode.PAPER, reconciler)
    assert first.entries_timed_out == []  # within its grace: it may still complete
    assert first.protection.in_flight == [TICKER]
    world.settle(61)
    assert reconcile(Mode.PAPER, reconciler).entries_timed_out == [entry.client_order_id]
    world.settle()  # cancelled with its held legs; the filled shares stay
    report = reconcile(Mode.PAPER, reconciler)

    item = world.signals.get(entry.signal_id)
    assert item is not None
    assert (item.status, item.filled_qty) == (SignalStatus.FILLED, part)
    assert world.held() == part
    stops = world.working_stops()
    assert [(Decimal(str(s.qty)), Decimal(str(s.stop_price))) for s in stops] == [(part, Decimal("190.00"))]
    assert report.protection.rearmed


def test_a_resting_entry_that_starts_filling_late_gets_its_grace_from_the_fill_and_a_collar_its_timeout(
    world: World, admin: httpx.Client
) -> None:
    _fills_in_parts_ten_minutes_apart(admin)
    resting = world.intent("q" * 32, order_type=OrderType.LIMIT, limit_price=Decimal("199.00"))
    execute_intent(resting, world.executor())
    collared = _collared(world, "c" * 32)
    collared = collared.model_copy(update={"entry_timeout_s": 900})  # a patient collar: 15 minutes
    execute_intent(collared, _executor(world, _quotes(world)))
    assert world.held() > 0  # the collared entry filled in part at once
    reconciler = world.reconciler()
    world.settle(300)  # the plain entry rests unfilled for five minutes
    admin.post("/_paper/prices", json={TICKER: "198.90"}).raise_for_status()  # then starts to fill
    world.settle(1)

    assert reconcile(Mode.PAPER, reconciler).entries_timed_out == []  # its first fill is a second old
    world.settle(125)
    # The plain entry has gone two minutes without a fill; the collared one still has its own timeout.
    assert reconcile(Mode.PAPER, reconciler).entries_timed_out == [resting.client_order_id]

"""The store ports' contract, run against every implementation (tests/integration/stores.py): what the
use cases rely on must hold on DynamoDB, in memory, and on any backend added later."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.integration.stores import (
    FILL_CURSORS,
    FILL_STORES,
    LOT_STORES,
    ORDER_STORES,
    REQUEST_BUDGETS,
    RISK_STATE_STORES,
    SIGNAL_STORES,
)
from tradepipe.contracts.items import (
    OrderItem,
    OrderLeg,
    OrderUpdate,
    SignalItem,
    StatusEntry,
    StatusUpdate,
)
from tradepipe.domain.lifecycle import TRANSITIONS
from tradepipe.domain.lots import Lot
from tradepipe.domain.model import CapApplied, Mode, Rejected, RejectReason, Side, SignalStatus
from tradepipe.domain.risk.context import Account, Asset, MarketClock, RiskContext, TradingState
from tradepipe.domain.risk.profile import RiskProfile
from tradepipe.domain.risk.reservations import SETTLE, EntryRequest, Granted, fit
from tradepipe.ports.broker import FillView
from tradepipe.ports.fill_cursor import FillCursorStore
from tradepipe.ports.lots import LotStore
from tradepipe.ports.request_budget import RequestBudget
from tradepipe.ports.risk_state import EntryReservations
from tradepipe.ports.stores import FillStore, OrderStore, SignalStore

S = SignalStatus
NOW = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)
# Alpaca's order ids are UUIDs: these records stay in the session's tables, and a reconciler run of a later
# test (same account) reads every order it still follows from the broker by id.
B1, B2, B3 = (f"00000000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))


@pytest.fixture(params=sorted(SIGNAL_STORES))
def signals(request: pytest.FixtureRequest) -> SignalStore:
    store: SignalStore = SIGNAL_STORES[request.param](request)
    return store


@pytest.fixture(params=sorted(ORDER_STORES))
def orders(request: pytest.FixtureRequest) -> OrderStore:
    store: OrderStore = ORDER_STORES[request.param](request)
    return store


@pytest.fixture(params=sorted(FILL_STORES))
def fills(request: pytest.FixtureRequest) -> FillStore:
    store: FillStore = FILL_STORES[request.param](request)
    return store


@pytest.fixture(params=sorted(FILL_CURSORS))
def fill_cursors(request: pytest.FixtureRequest) -> FillCursorStore:
    store: FillCursorStore = FILL_CURSORS[request.param](request)
    return store


def _id() -> str:
    """Fresh keys per test: the DynamoDB tables live for the whole session."""
    return uuid.uuid4().hex


def _signal(signal_id: str, status: SignalStatus = S.RECEIVED) -> SignalItem:
    return SignalItem(
        signal_id=signal_id,
        status=status,
        received_at=NOW,
        updated_at=NOW,
        expires_at=int(NOW.timestamp()) + 3600,
        history=[StatusEntry(status=status, at=NOW)],
        mode=Mode.PAPER,
        ticker="AAPL",
        side=Side.BUY,
        strategy="parity",
        entry_price=Decimal("150.25"),
    )


# --- SignalStore --------------------------------------------------------------------------------------------


def test_signal_record_new_when_recorded_twice_then_second_is_a_duplicate_and_first_kept(
    signals: SignalStore,
) -> None:
    sid = _id()

    first = signals.record_new(_signal(sid))
    second = signals.record_new(_signal(sid, S.REJECTED))

    assert (first, second) == (True, False)
    stored = signals.get(sid)
    assert stored is not None
    assert stored.status is S.RECEIVED
    assert stored.entry_price == Decimal("150.25")


def test_signal_get_when_unknown_then_none(signals: SignalStore) -> None:
    assert signals.get(_id()) is None


@pytest.mark.parametrize(
    ("current", "target"),
    [
        pytest.param(S.RECEIVED, S.ENQUEUED, id="received-enqueued"),
        pytest.param(S.ENQUEUED, S.SIZED, id="enqueued-sized"),
        pytest.param(S.SIZED, S.FILLED, id="sized-filled-after-a-crash"),
        pytest.param(S.SUBMITTED, S.REJECTED, id="submitted-rejected-async"),
        pytest.param(S.ENQUEUED, S.ENQUEUED, id="enqueued-again"),
        pytest.param(S.SUBMITTED, S.COMPLETED, id="submitted-completed"),
        pytest.param(S.FILLED, S.REJECTED, id="filled-is-final"),
        pytest.param(S.RECEIVED, S.SUBMITTED, id="received-submitted-skips-sizing"),
    ],
)
def test_signal_advance_moves_exactly_where_the_lifecycle_allows(
    signals: SignalStore, current: SignalStatus, target: SignalStatus
) -> None:
    sid = _id()
    signals.record_new(_signal(sid, current))

    moved = signals.advance(sid, StatusUpdate.to(target, NOW.replace(minute=1), "why"))

    allowed = (current, target) in TRANSITIONS
    assert moved is allowed
    stored = signals.get(sid)
    assert stored is not None
    assert stored.status is (target if allowed else current)
    assert [h.status for h in stored.history] == ([current, target] if allowed else [current])


def test_signal_advance_sets_typed_fields_and_keeps_the_others(signals: SignalStore) -> None:
    sid = _id()
    signals.record_new(_signal(sid))
    cap = CapApplied(cap="buying_power", qty_before=Decimal(57), qty_after=Decimal(40), limit="6000")

    signals.advance(
        sid,
        StatusUpdate.to(S.SIZED, NOW.replace(minute=1), "open qty=40", qty=Decimal(40), risk_caps=[cap]),
    )
    signals.advance(sid, StatusUpdate.rejected(NOW.replace(minute=2), "ORDER_INVALID", "qty must be whole"))

    stored = signals.get(sid)
    assert stored is not None
    assert (stored.status, stored.qty, stored.risk_caps) == (S.REJECTED, Decimal(40), [cap])
    assert (stored.reject_reason, stored.reject_detail) == ("ORDER_INVALID", "qty must be whole")
    assert stored.entry_price == Decimal("150.25")
    assert stored.updated_at == NOW.replace(minute=2)
    assert [(h.status, h.reason) for h in stored.history] == [
        (S.RECEIVED, None),
        (S.SIZED, None),
        (S.REJECTED, "ORDER_INVALID"),
    ]


def test_signal_advance_when_unknown_then_false(signals: SignalStore) -> None:
    assert signals.advance(_id(), StatusUpdate.to(S.ENQUEUED, NOW)) is False


# --- OrderStore ---------------------------------------------------------------------------------------------


def _order(coid: str) -> OrderItem:
    return OrderItem(
        client_order_id=coid,
        intent_id=f"{coid}:open",
        signal_id=coid,
        mode=Mode.PAPER,
        strategy="parity",
        symbol="AAPL",
        side=Side.BUY,
        qty=Decimal(10),
        order_class="bracket",
        take_profit=Decimal("155.00"),
        stop_loss=Decimal("148.50"),
        status="pending_submit",
        created_at=NOW,
        updated_at=NOW,
    )


def test_order_record_intent_when_recorded_twice_then_second_refused(orders: OrderStore) -> None:
    coid = f"tp-{_id()}-open"

    assert (orders.record_intent(_order(coid)), orders.record_intent(_order(coid))) == (True, False)
    assert orders.get(coid) == _order(coid)
    assert orders.get(f"tp-{_id()}-open") is None


def _followed(orders: OrderStore, account: str, coids: set[str]) -> set[str]:
    """The given orders the account's index lists (the DynamoDB tables are shared by the whole session)."""
    return {item.client_order_id for item in orders.working(account)} & coids


def test_order_working_follows_an_order_from_record_intent_until_record_done(orders: OrderStore) -> None:
    entry, stop = f"tp-{_id()}-open", f"tp-{_id()}-stop"
    live = _order(f"tp-{_id()}-open").model_copy(update={"mode": Mode.LIVE})
    for item in (_order(entry), _order(stop), live):
        orders.record_intent(item)
    mine = {entry, stop, live.client_order_id}

    assert _followed(orders, "paper", mine) == {entry, stop}
    assert _followed(orders, "live", mine) == {live.client_order_id}

    orders.update(stop, OrderUpdate(status="filled", updated_at=NOW))
    assert _followed(orders, "paper", mine) == {entry, stop}  # followed until the reconciler says done
    orders.record_done(stop)

    assert _followed(orders, "paper", mine) == {entry}
    done = orders.get(stop)
    assert done is not None
    assert done.status == "filled"  # the record stays; only the index forgets it


def test_order_record_working_records_the_legs_and_follows_again(orders: OrderStore) -> None:
    entry = f"tp-{_id()}-open"
    orders.record_intent(_order(entry))
    orders.update(entry, OrderUpdate(status="filled", broker_order_id=B1, updated_at=NOW))
    orders.record_done(entry)
    legs = [
        OrderLeg(broker_order_id=B2, client_order_id="leg-tp", order_type="limit"),
        OrderLeg(broker_order_id=B3, client_order_id="leg-stop", order_type="stop"),
    ]

    orders.record_working(entry, "paper", legs)

    (followed,) = [o for o in orders.working("paper") if o.client_order_id == entry]
    assert followed.legs == legs
    assert (followed.status, followed.broker_order_id) == ("filled", B1)
    assert orders.get(entry) == followed


def test_order_update_sets_what_the_broker_said_and_leaves_the_rest(orders: OrderStore) -> None:
    coid = f"tp-{_id()}-open"
    orders.record_intent(_order(coid))
    later = NOW.replace(minute=5)

    orders.update(coid, OrderUpdate(status="accepted", broker_order_id=B1, submitted_at=NOW, updated_at=NOW))
    orders.update(
        coid,
        OrderUpdate(
            status="filled",
            filled_qty=Decimal(10),
            filled_avg_price=Decimal("150.31"),
            filled_at=later,
            updated_at=later,
        ),
    )

    stored = orders.get(coid)
    assert stored is not None
    assert (stored.status, stored.broker_order_id, stored.submitted_at) == ("filled", B1, NOW)
    assert (stored.filled_qty, stored.filled_avg_price, stored.filled_at) == (
        Decimal(10),
        Decimal("150.31"),
        later,
    )
    assert (stored.take_profit, stored.stop_loss, stored.created_at) == (
        Decimal("155.00"),
        Decimal("148.50"),
        NOW,
    )


# --- FillStore ----------------------------------------------------------------------------------------------


def _fill(execution_id: str, symbol: str, side: str, qty: str) -> FillView:
    return FillView(execution_id, B1, symbol, side, Decimal(qty), Decimal("150.00"), NOW)


def test_fill_record_when_seen_twice_then_counted_once_and_net_quantity_is_signed(fills: FillStore) -> None:
    symbol = f"P{_id()[:6].upper()}"
    recorded = [
        fills.record_fill(_fill("x-1", symbol, "buy", "10"), "paper", "tp-a-open", "a"),
        fills.record_fill(_fill("x-1", symbol, "buy", "10"), "paper", "tp-a-open", "a"),
        fills.record_fill(_fill("x-2", symbol, "sell", "4"), "paper", None, None),
        fills.record_fill(_fill("x-3", symbol, "buy", "7"), "live", None, None),
    ]

    assert recorded == [True, False, True, True]
    assert fills.net_quantity("paper", symbol) == Decimal(6)
    assert fills.net_quantity("live", symbol) == Decimal(7)
    assert fills.net_quantity("paper", f"{symbol}X") == Decimal(0)


# --- EntryReservations (the risk-state table's reservation part; domain/risk/reservations.py) --------------

RES_NOW = datetime(2024, 3, 4, 15, 0, 30, tzinfo=UTC)
LEASE = timedelta(minutes=15)


@pytest.fixture(params=sorted(RISK_STATE_STORES))
def reservations(request: pytest.FixtureRequest) -> EntryReservations:
    store: EntryReservations = RISK_STATE_STORES[request.param](request)
    return store


# The broker's figures in these tests are read after the releases and hand-offs they make at RES_NOW.
FRESH = RES_NOW + timedelta(seconds=1)


def _ctx(equity: str = "100000", buying_power: str = "200000", read_at: datetime = FRESH) -> RiskContext:
    return RiskContext(
        account=Account(Decimal(equity), Decimal(equity), Decimal(buying_power), Decimal(equity)),
        holdings={},
        state=TradingState.ACTIVE,
        clock=MarketClock(True),
        asset=Asset(),
        figures_read_at=read_at,
    )


def _entry(rid: str, ticker: str = "IBM", qty: int = 98, entry: str = "204.10") -> EntryRequest:
    return EntryRequest(rid, ticker, Side.BUY, Decimal(qty), Decimal(entry), Decimal(1), LEASE)


def _reserve(
    store: EntryReservations,
    account: str,
    request: EntryRequest,
    now: datetime = RES_NOW,
    profile: RiskProfile | None = None,
    read_at: datetime | None = None,
) -> Granted | Rejected:
    ctx = _ctx(read_at=max(FRESH, now) if read_at is None else read_at)  # read for this entry, by default
    return store.reserve(account, lambda book: fit(request, book, ctx, profile or RiskProfile(), now))


def test_reserve_when_two_entries_want_the_same_20_pct_then_second_gets_only_the_room_left(
    reservations: EntryReservations,
) -> None:
    account = _id()

    first = _reserve(reservations, account, _entry("a", qty=60))  # 60 x 204.10 = 12,246
    second = _reserve(reservations, account, _entry("b", qty=60))

    assert isinstance(first, Granted)
    assert isinstance(second, Granted)
    assert first.reservation.qty == 60
    assert second.reservation.qty == 37  # (20,000 - 12,246) / 204.10 = 37.99
    assert [c.cap for c in second.caps] == ["max_equity_pct_per_position"]
    assert [r.reservation_id for r in reservations.book(account).reservations] == ["a", "b"]


def test_reserve_when_no_room_left_then_rejected_and_nothing_stored(reservations: EntryReservations) -> None:
    account = _id()
    _reserve(reservations, account, _entry("a", qty=97))

    refused = _reserve(reservations, account, _entry("b", qty=10))

    assert isinstance(refused, Rejected)
    assert refused.reason is RejectReason.CAPPED_TO_ZERO
    book = reservations.book(account)
    assert [r.reservation_id for r in book.reservations] == ["a"]
    assert len(book.order_times) == 1  # a refusal takes no order-rate slot


def test_reserve_when_redelivered_then_same_reservation_and_counted_once(
    reservations: EntryReservations,
) -> None:
    account = _id()
    first = _reserve(reservations, account, _entry("a", qty=50))

    again = _reserve(reservations, account, _entry("a", qty=50), now=RES_NOW + timedelta(seconds=5))

    assert isinstance(first, Granted)
    assert isinstance(again, Granted)
    assert again.reservation == first.reservation
    book = reservations.book(account)
    assert (len(book.reservations), len(book.order_times)) == (1, 1)


def test_reserve_when_rate_slots_taken_then_order_rate_limit_until_the_minute_passes(
    reservations: EntryReservations,
) -> None:
    account = _id()
    profile = RiskProfile(max_orders_per_minute=2)
    for i, ticker in enumerate(("IBM", "AAPL")):
        _reserve(reservations, account, _entry(f"r{i}", ticker, qty=1), profile=profile)
        reservations.release(account, f"r{i}", RES_NOW)  # released: its rate slot stays for its minute

    third = _reserve(reservations, account, _entry("r2", "MSFT", qty=1), profile=profile)
    later = _reserve(
        reservations, account, _entry("r3", "MSFT", qty=1), RES_NOW + timedelta(seconds=61), profile
    )

    assert isinstance(third, Rejected)
    assert third.reason is RejectReason.ORDER_RATE_LIMIT
    assert isinstance(later, Granted)


def test_release_then_room_returns_and_second_release_is_false(reservations: EntryReservations) -> None:
    account = _id()
    _reserve(reservations, account, _entry("a", qty=97))

    released = reservations.release(account, "a", RES_NOW)
    again = reservations.release(account, "a", RES_NOW)
    unknown = reservations.release(_id(), "never", RES_NOW)
    after = _reserve(reservations, account, _entry("b", qty=97))

    assert (released, again, unknown) == (True, False, False)
    assert isinstance(after, Granted)
    assert after.reservation.qty == 97


def test_a_release_still_counts_for_figures_read_before_it_and_is_dropped_after_settle(
    reservations: EntryReservations,
) -> None:
    # The entry filled and was released at RES_NOW + 2 s; the risk stage's figures (its snapshot) were read
    # at RES_NOW + 1 s, before the fill: they hold neither the position nor the reservation.
    account = _id()
    _reserve(reservations, account, _entry("a", qty=97))
    reservations.release(account, "a", RES_NOW + timedelta(seconds=2))

    stale = _reserve(reservations, account, _entry("b", qty=97), read_at=RES_NOW + timedelta(seconds=1))
    fresh = _reserve(reservations, account, _entry("c", qty=97), read_at=RES_NOW + timedelta(seconds=3))
    later = RES_NOW + timedelta(seconds=2) + SETTLE
    settled = _reserve(reservations, account, _entry("d", "AAPL", qty=1), now=later)  # a write drops it

    assert isinstance(stale, Rejected)  # 20% of equity: a's 97 shares still count for figures without them
    assert stale.reason is RejectReason.CAPPED_TO_ZERO
    assert isinstance(fresh, Granted)  # figures read after the fill hold the position instead
    assert fresh.reservation.qty == 97
    assert isinstance(settled, Granted)
    assert "a" not in {r.reservation_id for r in reservations.book(account).reservations}


def test_a_hand_off_still_counts_its_buying_power_for_figures_read_before_it(
    reservations: EntryReservations,
) -> None:
    account = _id()

    def reserve(request: EntryRequest, read_at: datetime) -> Granted | Rejected:
        ctx = _ctx(buying_power="10600", read_at=read_at)
        return reservations.reserve(account, lambda book: fit(request, book, ctx, RiskProfile(), RES_NOW))

    reserve(_entry("a", "IBM", qty=50), FRESH)  # 10,205 (10,511.15 with the cushion) of 10,600
    reservations.hold_at_broker(account, "a", RES_NOW + timedelta(days=1), RES_NOW + timedelta(seconds=2))
    stale = reserve(_entry("b", "AAPL", qty=50), RES_NOW + timedelta(seconds=1))
    fresh = reserve(_entry("c", "AAPL", qty=50), RES_NOW + timedelta(seconds=3))

    assert isinstance(stale, Rejected)  # buying power read before the broker took the order still has it
    assert isinstance(fresh, Granted)


def test_reserve_when_lease_ran_out_then_it_no_longer_counts_and_is_dropped(
    reservations: EntryReservations,
) -> None:
    account = _id()
    _reserve(reservations, account, _entry("crashed", qty=97))

    at_expiry = _reserve(reservations, account, _entry("b", qty=97), now=RES_NOW + LEASE)

    assert isinstance(at_expiry, Granted)
    assert at_expiry.reservation.qty == 97
    assert [r.reservation_id for r in reservations.book(account).reservations] == ["b"]


def test_hold_at_broker_then_lease_moves_buying_power_freed_and_a_gone_reservation_is_false(
    reservations: EntryReservations,
) -> None:
    account = _id()
    _reserve(reservations, account, _entry("resting", qty=97))
    until = RES_NOW + timedelta(days=90)

    moved = reservations.hold_at_broker(account, "resting", until, RES_NOW)
    gone = reservations.hold_at_broker(account, "never", until, RES_NOW)
    blocked = _reserve(reservations, account, _entry("b", qty=10), now=RES_NOW + LEASE)

    assert (moved, gone) == (True, False)
    found = reservations.book(account).find("resting")
    assert found is not None
    assert (found.expires_at, found.at_broker) == (until, True)
    assert isinstance(blocked, Rejected)  # the resting order still holds its room past the first lease


def test_hold_at_broker_then_buying_power_no_longer_reserved_but_the_position_still_is(
    reservations: EntryReservations,
) -> None:
    account = _id()

    def reserve(request: EntryRequest, buying_power: str = "10600") -> Granted | Rejected:
        # The broker's buying power already leaves out the first order once it is accepted.
        return reservations.reserve(
            account, lambda book: fit(request, book, _ctx(buying_power=buying_power), RiskProfile(), RES_NOW)
        )

    reserve(_entry("a", "IBM", qty=50))  # 10,205 (10,511.15 with the cushion) of 10,600
    before = reserve(_entry("b", "AAPL", qty=50))
    reservations.hold_at_broker(account, "a", RES_NOW + timedelta(days=1), RES_NOW)
    after = reserve(_entry("c", "AAPL", qty=50))
    same_symbol = reserve(_entry("d", "IBM", qty=60), buying_power="100000")

    assert isinstance(before, Rejected)
    assert before.reason is RejectReason.CAPPED_TO_ZERO
    assert isinstance(after, Granted)
    assert after.reservation.qty == 50
    assert isinstance(same_symbol, Granted)
    assert same_symbol.reservation.qty == 47  # 20% of equity less IBM's 10,205 still held: 9,795 / 204.10


def test_reserve_when_other_positions_reserved_then_open_positions_and_gross_exposure_hold(
    reservations: EntryReservations,
) -> None:
    account = _id()
    profile = RiskProfile(max_open_positions=2, max_equity_pct_per_position=Decimal(60))
    _reserve(reservations, account, _entry("a", "IBM", qty=200), profile=profile)  # 40,820
    _reserve(reservations, account, _entry("b", "AAPL", qty=200), profile=profile)  # 40,820

    third_symbol = _reserve(reservations, account, _entry("c", "MSFT", qty=1), profile=profile)
    same_symbol = _reserve(reservations, account, _entry("d", "IBM", qty=200), profile=profile)

    assert isinstance(third_symbol, Rejected)
    assert third_symbol.reason is RejectReason.MAX_OPEN_POSITIONS
    assert isinstance(same_symbol, Granted)
    # 60% per position: 19,180 left on IBM -> 93; gross 100%: 18,360 left of 100,000 -> 89 at 204.10
    assert same_symbol.reservation.qty == 89
    assert [c.cap for c in same_symbol.caps] == ["max_equity_pct_per_position", "max_gross_exposure_pct"]


def test_reserve_when_buying_power_reserved_then_next_entry_sized_to_what_is_left(
    reservations: EntryReservations,
) -> None:
    account = _id()

    def reserve(request: EntryRequest) -> Granted | Rejected:
        return reservations.reserve(
            account, lambda book: fit(request, book, _ctx(buying_power="30000"), RiskProfile(), RES_NOW)
        )

    reserve(_entry("a", "IBM", qty=90))  # 18,369 held with the 3% cushion: 18,920.07
    second = reserve(_entry("b", "AAPL", qty=60))

    assert isinstance(second, Granted)
    assert second.reservation.qty == 52  # (30,000 - 18,920.07) / 1.03 / 204.10 = 52.7, rounded down
    assert [c.cap for c in second.caps] == ["buying_power"]


# --- RequestBudget ------------------------------------------------------------------------------------------


@pytest.fixture(params=sorted(REQUEST_BUDGETS))
def budget(request: pytest.FixtureRequest) -> RequestBudget:
    store: RequestBudget = REQUEST_BUDGETS[request.param](request)
    return store


def _after(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def test_budget_take_when_idle_then_burst_is_free_and_each_further_request_waits_one_more_interval(
    budget: RequestBudget,
) -> None:
    account = _id()  # one account per test: the DynamoDB table lives for the session

    waits = [budget.take(account, 1, NOW, max_wait_s=60) for _ in range(7)]

    assert waits == pytest.approx([0, 0, 0, 0, 0, 1, 2])


def test_budget_take_when_wait_beyond_max_then_nothing_taken_and_a_later_take_gets_the_slot(
    budget: RequestBudget,
) -> None:
    account = _id()
    assert budget.take(account, 5, NOW, max_wait_s=0) == 0  # the burst, used up

    refused = budget.take(account, 2, NOW, max_wait_s=1.5)
    granted = budget.take(account, 1, NOW, max_wait_s=1.5)

    assert refused == pytest.approx(2.0)
    assert granted == pytest.approx(1.0)  # the refused take reserved nothing


def test_budget_take_when_quiet_for_the_burst_then_full_again_and_accounts_are_apart(
    budget: RequestBudget,
) -> None:
    account, other = _id(), _id()
    budget.take(account, 5, NOW, max_wait_s=0)

    assert budget.take(other, 5, NOW, max_wait_s=0) == 0
    assert budget.take(account, 1, _after(2.5), max_wait_s=0) == 0  # 2.5 s refilled 2 slots
    assert budget.take(account, 1, _after(2.5), max_wait_s=0) == 0
    assert budget.take(account, 1, _after(2.5), max_wait_s=10) == pytest.approx(0.5)
    assert budget.take(account, 5, _after(60), max_wait_s=0) == 0


def test_budget_take_when_more_than_the_bucket_at_once_then_refused_with_the_wait(
    budget: RequestBudget,
) -> None:
    assert budget.take(_id(), 8, NOW, max_wait_s=1) == pytest.approx(3.0)


# --- LotStore -----------------------------------------------------------------------------------------------


@pytest.fixture(params=sorted(LOT_STORES))
def lots(request: pytest.FixtureRequest) -> LotStore:
    store: LotStore = LOT_STORES[request.param](request)
    return store


def _lot(
    account: str, strategy: str, lot_id: str, qty: str, stop: str | None = "140", minute: int = 0
) -> Lot:
    return Lot(
        account=account,
        ticker="AAPL",
        strategy=strategy,
        lot_id=lot_id,
        qty=Decimal(qty),
        entry_price=Decimal("150.25"),
        stop_price=None if stop is None else Decimal(stop),
        opened_at=_after(60 * minute),
    )


def test_lots_open_when_recorded_twice_then_first_stands_and_listed_oldest_first(lots: LotStore) -> None:
    account = _id()
    b = _lot(account, "beta", "tp-b-open", "5", minute=1)
    a = _lot(account, "alpha", "tp-a-open", "10", stop=None)

    assert lots.open_lot(b) is True
    assert lots.open_lot(a) is True
    assert lots.open_lot(_lot(account, "beta", "tp-b-open", "99", minute=1)) is False

    assert lots.lots(account, "AAPL") == [a, b]
    assert lots.lots(account, "MSFT") == []
    assert lots.lots(_id(), "AAPL") == []


def test_lots_close_when_one_strategy_exits_then_only_its_lots_go_and_twice_returns_nothing(
    lots: LotStore,
) -> None:
    account = _id()
    a1, a2 = _lot(account, "alpha", "tp-a1-open", "10"), _lot(account, "alpha", "tp-a2-open", "4", minute=2)
    b = _lot(account, "alpha#2", "tp-b-open", "5", minute=1)  # a name that starts like the other's key
    for lot in (a1, a2, b):
        lots.open_lot(lot)

    closed = lots.close_lots(account, "AAPL", "alpha")
    again = lots.close_lots(account, "AAPL", "alpha")

    assert closed == [a1, a2]
    assert again == []
    assert lots.lots(account, "AAPL") == [b]


def test_lots_resize_when_partial_exit_then_qty_and_stop_change_and_zero_removes(lots: LotStore) -> None:
    account = _id()
    lots.open_lot(_lot(account, "alpha", "tp-a-open", "10"))

    assert lots.resize_lot(account, "AAPL", "alpha", "tp-a-open", Decimal(6), Decimal("145.5")) is True
    (lot,) = lots.lots(account, "AAPL")
    assert (lot.qty, lot.stop_price, lot.entry_price) == (Decimal(6), Decimal("145.5"), Decimal("150.25"))
    assert lots.resize_lot(account, "AAPL", "alpha", "tp-a-open", Decimal(6), None) is True
    assert lots.lots(account, "AAPL")[0].stop_price is None

    assert lots.resize_lot(account, "AAPL", "alpha", "tp-a-open", Decimal(0), None) is True
    assert lots.lots(account, "AAPL") == []
    assert lots.resize_lot(account, "AAPL", "alpha", "tp-a-open", Decimal(1), None) is False


def test_fill_cursor_starts_unset_then_moves_forward_only_per_account(fill_cursors: FillCursorStore) -> None:
    account, other = f"acct-{_id()}", f"acct-{_id()}"
    assert fill_cursors.fill_cursor(account) is None

    fill_cursors.advance_fill_cursor(account, NOW)
    fill_cursors.advance_fill_cursor(account, NOW - timedelta(seconds=1))  # a slower run finishing late
    fill_cursors.advance_fill_cursor(other, NOW - timedelta(days=30))

    assert fill_cursors.fill_cursor(account) == NOW
    assert fill_cursors.fill_cursor(other) == NOW - timedelta(days=30)
    fill_cursors.advance_fill_cursor(account, NOW + timedelta(microseconds=1))
    assert fill_cursors.fill_cursor(account) == NOW + timedelta(microseconds=1)

"""Injected broker faults, as an Alpaca client observes them, on top of Alpaca's asynchronous lifecycle.

One paper broker per module (Alpaca behaviour, on a clock the tests move), the real alpaca-py TradingClient
with its own retries off (`_retry = 0`) and a short default timeout on its session (as the Alpaca adapter
sets one), so a 429 or 504 reaches the test at once and an injected delay shows as requests' ReadTimeout
(those delays are real time: they hold the HTTP answer). Delayed parts and rejections come on the broker's
clock. Every test starts from `POST /_paper/reset` (faults off, counts zeroed). Invariants under many
partial fills run on the engine directly.
"""

from __future__ import annotations

import contextlib
import time
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.models import Order, Position, TradeAccount, TradeActivity
from alpaca.trading.requests import (
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    StopLossRequest,
    TakeProfitRequest,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.broker_helpers import settle, trading_client
from tests.integration.conftest import SESSION_START
from tradepipe.local.paper_broker import BrokerBehaviour, Fault, Faults, ManualClock, PaperBroker
from tradepipe.local.paper_broker.errors import BrokerError
from tradepipe.local.paper_broker.server import PaperBrokerServer

ASK = Decimal("430.52")  # AAPL 430.47 with the 2 bp spread
BID = Decimal("430.42")
START_CASH = Decimal(100000)
DELAY_S = 0.3  # injected delays: partial-fill parts, asynchronous rejections, timeouts
CLIENT_TIMEOUT_S = 0.1  # shorter than DELAY_S: the caller gives up first
T = TypeVar("T")


@pytest.fixture
def trading(running_broker: PaperBrokerServer, admin: httpx.Client) -> TradingClient:
    return trading_client(running_broker.url)


@pytest.fixture
def impatient(running_broker: PaperBrokerServer, admin: httpx.Client) -> TradingClient:
    return trading_client(running_broker.url, timeout_s=CLIENT_TIMEOUT_S)


def set_faults(admin: httpx.Client, **settings_: float | int) -> None:
    admin.post("/_paper/faults", json=settings_).raise_for_status()


def stats(admin: httpx.Client) -> dict[str, Any]:
    body: dict[str, Any] = admin.get("/_paper/faults/stats").json()
    return body


def typed(kind: type[T], value: object) -> T:
    assert isinstance(value, kind)
    return value


def submitted(client: TradingClient, request: Any) -> Order:
    return typed(Order, client.submit_order(request))


def market(qty: float, coid: str | None = None, side: OrderSide = OrderSide.BUY) -> MarketOrderRequest:
    return MarketOrderRequest(
        symbol="AAPL", qty=qty, side=side, time_in_force=TimeInForce.DAY, client_order_id=coid
    )


def bracket(coid: str, qty: float = 10) -> MarketOrderRequest:
    return MarketOrderRequest(
        symbol="AAPL",
        qty=qty,
        side=OrderSide.BUY,
        time_in_force=TimeInForce.GTC,
        order_class=OrderClass.BRACKET,
        take_profit=TakeProfitRequest(limit_price=450.0),
        stop_loss=StopLossRequest(stop_price=420.0),
        client_order_id=coid,
    )


def by_coid(client: TradingClient, coid: str) -> Order:
    return typed(Order, client.get_order_by_client_id(coid))


def fills(client: TradingClient) -> list[TradeActivity]:
    raw = typed(list, client.get("/account/activities/FILL", {"direction": "asc"}))
    return [TradeActivity(**item) for item in raw]


def position_qty(client: TradingClient) -> Decimal:
    positions = typed(list, client.get_all_positions())
    return sum((Decimal(typed(Position, p).qty) for p in positions), Decimal(0))


def cash(client: TradingClient) -> Decimal:
    return Decimal(str(typed(TradeAccount, client.get_account()).cash))


def api_error(excinfo: pytest.ExceptionInfo[APIError]) -> tuple[int | None, int]:
    return excinfo.value.status_code, excinfo.value.code


def wait_past(seconds: float) -> None:
    """Real time: the broker's HTTP answer is held that long (timeouts)."""
    time.sleep(seconds + 0.05)


# --- submit-path faults --------------------------------------------------------------------------------


def test_server_error_then_500_and_no_order_at_the_broker(
    trading: TradingClient, admin: httpx.Client
) -> None:
    set_faults(admin, server_error=1.0)

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(market(1, "se-1"))

    assert api_error(excinfo) == (500, 50010000)
    with pytest.raises(APIError) as lookup:
        trading.get_order_by_client_id("se-1")
    assert lookup.value.status_code == 404
    assert stats(admin)["injected"]["server_error"] == 1


def test_server_error_after_accept_then_500_but_order_filled_at_the_broker(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    set_faults(admin, server_error_after_accept=1.0)

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(market(2, "sea-1"))
    settle(broker_clock)

    assert api_error(excinfo) == (500, 50010000)
    assert by_coid(trading, "sea-1").status == OrderStatus.FILLED
    assert position_qty(trading) == 2
    assert stats(admin)["injected"]["server_error_after_accept"] == 1


def test_rate_limited_then_429_with_alpaca_rate_limit_headers_and_no_order(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    set_faults(admin, rate_limited=1.0, rate_limit_reset_s=2)
    now = broker_clock().timestamp()

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(market(1, "rl-1"))

    assert api_error(excinfo) == (429, 42910000)
    headers = excinfo.value.response.headers
    assert headers["X-RateLimit-Limit"] == "200"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert int(headers["X-RateLimit-Reset"]) == int(now) + 2
    assert headers["Retry-After"] == "2"
    with pytest.raises(APIError):
        trading.get_order_by_client_id("rl-1")
    assert stats(admin)["injected"]["rate_limited"] == 1


def test_timeout_before_accept_then_read_timeout_and_order_never_created(
    impatient: TradingClient, trading: TradingClient, admin: httpx.Client
) -> None:
    set_faults(admin, timeout_before_accept=1.0, delay_s=DELAY_S)

    with pytest.raises(requests.exceptions.ReadTimeout):
        impatient.submit_order(market(1, "tba-1"))
    wait_past(DELAY_S)  # the broker has answered (504) by now

    with pytest.raises(APIError) as lookup:
        trading.get_order_by_client_id("tba-1")
    assert lookup.value.status_code == 404
    assert stats(admin)["injected"]["timeout_before_accept"] == 1


def test_timeout_before_accept_with_patient_client_then_504(
    trading: TradingClient, admin: httpx.Client
) -> None:
    set_faults(admin, timeout_before_accept=1.0, delay_s=0.1)

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(market(1, "tba-2"))

    assert api_error(excinfo) == (504, 50410000)


def test_timeout_after_accept_then_read_timeout_but_order_already_exists(
    impatient: TradingClient, trading: TradingClient, admin: httpx.Client
) -> None:
    set_faults(admin, timeout_after_accept=1.0, delay_s=DELAY_S)

    with pytest.raises(requests.exceptions.ReadTimeout):
        impatient.submit_order(market(3, "taa-1"))

    # Still inside the broker's delay: the order is there.
    assert by_coid(trading, "taa-1").status == OrderStatus.PENDING_NEW
    assert stats(admin)["injected"]["timeout_after_accept"] == 1
    wait_past(DELAY_S)


# --- partial fills -------------------------------------------------------------------------------------


def test_partial_fill_then_completes_later_with_two_fill_activities(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    set_faults(admin, partial_fill=1.0, partial_fill_delay_s=DELAY_S, seed=1)

    placed = submitted(trading, market(10, "pf-1"))
    settle(broker_clock, 0.1)

    first_part = by_coid(trading, "pf-1")
    first = Decimal(str(first_part.filled_qty))
    assert placed.status == OrderStatus.PENDING_NEW
    assert first_part.status == OrderStatus.PARTIALLY_FILLED
    assert 0 < first < 10
    assert position_qty(trading) == first
    assert [a.type for a in fills(trading)] == ["partial_fill"]
    assert stats(admin)["pending"]["partial_fill"] == 1

    settle(broker_clock, DELAY_S)

    done = by_coid(trading, "pf-1")
    assert done.status == OrderStatus.FILLED
    assert Decimal(str(done.filled_qty)) == 10
    activities = fills(trading)
    assert [a.type for a in activities] == ["partial_fill", "fill"]
    assert sum(Decimal(str(a.qty)) for a in activities) == 10
    assert len({a.id for a in activities}) == 2
    assert {a.order_id for a in activities} == {placed.id}
    assert [(Decimal(str(a.cum_qty)), Decimal(str(a.leaves_qty))) for a in activities] == [
        (first, 10 - first),
        (Decimal(10), Decimal(0)),
    ]
    assert all(a.side == OrderSide.BUY and a.symbol == "AAPL" for a in activities)
    assert position_qty(trading) == 10
    assert cash(trading) == START_CASH - 10 * ASK
    assert stats(admin)["injected"]["partial_fill"] == 1
    assert stats(admin)["pending"]["partial_fill"] == 0


def test_partial_bracket_entry_then_exit_legs_wake_only_when_entry_filled(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    set_faults(admin, partial_fill=1.0, partial_fill_delay_s=DELAY_S, seed=2)

    submitted(trading, bracket("pf-brk"))
    settle(broker_clock, 0.1)

    partly = by_coid(trading, "pf-brk")
    assert partly.status == OrderStatus.PARTIALLY_FILLED
    assert {leg.status for leg in partly.legs or []} == {OrderStatus.HELD}
    # A price through the take-profit does nothing while the entry is still filling.
    admin.post("/_paper/prices", json={"AAPL": "451"}).raise_for_status()
    assert {leg.status for leg in by_coid(trading, "pf-brk").legs or []} == {OrderStatus.HELD}
    admin.post("/_paper/prices", json={"AAPL": "430.47"}).raise_for_status()

    settle(broker_clock, DELAY_S)

    done = by_coid(trading, "pf-brk")
    assert done.status == OrderStatus.FILLED
    legs = {str(leg.type.value if leg.type else ""): leg.status for leg in done.legs or []}
    assert legs == {"limit": OrderStatus.NEW, "stop": OrderStatus.HELD}


def test_partial_close_position_then_position_shrinks_in_parts(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    submitted(trading, market(10))
    settle(broker_clock)
    set_faults(admin, partial_fill=1.0, partial_fill_delay_s=DELAY_S, seed=3)

    closing = typed(Order, trading.close_position("AAPL"))
    settle(broker_clock, 0.1)

    partly = typed(Order, trading.get_order_by_id(closing.id))
    assert partly.status == OrderStatus.PARTIALLY_FILLED
    assert position_qty(trading) == 10 - Decimal(str(partly.filled_qty))
    settle(broker_clock, DELAY_S)
    assert typed(Order, trading.get_order_by_id(closing.id)).status == OrderStatus.FILLED
    assert trading.get_all_positions() == []
    assert cash(trading) == START_CASH - 10 * ASK + 10 * BID


def test_many_partial_fills_over_http_then_every_order_filled_exactly_once_over(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    set_faults(admin, partial_fill=1.0, partial_fill_parts=4, partial_fill_delay_s=0.05, seed=4)
    qtys = [1, 2, 3, 7, 12, 0.5]

    placed = [submitted(trading, market(q, f"many-{i}")) for i, q in enumerate(qtys)]
    settle(broker_clock, 0.5)

    activities = fills(trading)
    for order, qty in zip(placed, qtys, strict=True):
        mine = [a for a in activities if a.order_id == order.id]
        parts = [Decimal(str(a.qty)) for a in mine]
        assert sum(parts) == Decimal(str(qty))
        assert 1 <= len(parts) <= 4
        assert [a.type for a in mine][-1] == "fill"
        assert by_coid(trading, order.client_order_id).status == OrderStatus.FILLED
    assert position_qty(trading) == sum(Decimal(str(q)) for q in qtys)
    # One share cannot be split: that order filled at once and the fault does not count.
    assert stats(admin)["injected"]["partial_fill"] == len(qtys) - 1


# --- asynchronous rejection ----------------------------------------------------------------------------


def test_async_reject_then_accepted_now_and_rejected_after_the_delay(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    set_faults(admin, async_reject=1.0, async_reject_delay_s=DELAY_S)

    placed = submitted(trading, market(5, "ar-1"))
    settle(broker_clock, 0.1)

    assert placed.status == OrderStatus.ACCEPTED
    assert by_coid(trading, "ar-1").status == OrderStatus.ACCEPTED
    # A price move does not fill it while it waits.
    admin.post("/_paper/prices", json={"AAPL": "431"}).raise_for_status()
    assert by_coid(trading, "ar-1").filled_qty == "0"
    assert stats(admin)["pending"]["async_reject"] == 1

    settle(broker_clock, DELAY_S)

    rejected = by_coid(trading, "ar-1")
    assert rejected.status == OrderStatus.REJECTED
    assert rejected.failed_at is not None
    assert rejected.filled_qty == "0"
    closed = typed(list, trading.get_orders(GetOrdersRequest(status=QueryOrderStatus.CLOSED)))
    assert [(o.client_order_id, o.status) for o in closed] == [("ar-1", OrderStatus.REJECTED)]
    assert trading.get_orders() == []
    assert trading.get_all_positions() == []
    assert fills(trading) == []
    assert cash(trading) == START_CASH
    assert stats(admin)["injected"]["async_reject"] == 1
    assert stats(admin)["pending"]["async_reject"] == 0


def test_async_reject_of_bracket_then_entry_and_legs_rejected(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    set_faults(admin, async_reject=1.0, async_reject_delay_s=0.05)

    submitted(trading, bracket("ar-brk"))
    settle(broker_clock, 0.1)

    rejected = by_coid(trading, "ar-brk")
    assert rejected.status == OrderStatus.REJECTED
    assert {leg.status for leg in rejected.legs or []} == {OrderStatus.REJECTED}
    assert trading.get_all_positions() == []


def test_async_reject_canceled_first_then_stays_canceled(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    set_faults(admin, async_reject=1.0, async_reject_delay_s=0.05)
    placed = submitted(
        trading,
        LimitOrderRequest(
            symbol="AAPL",
            qty=1,
            side=OrderSide.BUY,
            limit_price=440.0,  # marketable: it would fill at once without the fault
            time_in_force=TimeInForce.GTC,
            client_order_id="ar-cancel",
        ),
    )
    assert placed.status == OrderStatus.ACCEPTED

    trading.cancel_order_by_id(placed.id)
    assert stats(admin)["pending"]["async_reject"] == 0
    settle(broker_clock, 0.1)

    assert by_coid(trading, "ar-cancel").status == OrderStatus.CANCELED
    assert fills(trading) == []


# --- configuration, determinism, counts ----------------------------------------------------------------


def test_fault_settings_then_every_field_round_trips_and_bad_ones_refused(admin: httpx.Client) -> None:
    settings_ = {"partial_fill": 0.25, "async_reject": 0.25, "partial_fill_parts": 3, "seed": 9}

    echoed = admin.post("/_paper/faults", json=settings_).json()

    assert {k: echoed[k] for k in settings_} == settings_
    assert echoed["partial_fill_delay_s"] == 0.5
    assert echoed["async_reject_delay_s"] == 0.5
    assert admin.get("/_paper/faults").json() == echoed
    assert admin.get("/_paper/state").json()["fault_stats"]["draws"] == 0
    for bad in ({"bogus": 1}, {"partial_fill": 0.7, "async_reject": 0.7}, {"partial_fill_parts": 1}):
        assert admin.post("/_paper/faults", json=bad).status_code == 400


def _run_mixed(
    client: TradingClient, admin: httpx.Client, clock: ManualClock, seed: int, orders: int
) -> list[tuple[Any, ...]]:
    """Submit `orders` market orders under every non-timeout fault; what the client saw for each, and the
    order's state once it met the market (parts and rejections wait: their delays are a minute)."""
    admin.post("/_paper/reset").raise_for_status()
    set_faults(
        admin,
        server_error=0.1,
        server_error_after_accept=0.1,
        rate_limited=0.15,
        partial_fill=0.2,
        async_reject=0.15,
        partial_fill_delay_s=60,
        async_reject_delay_s=60,
        seed=seed,
    )
    answers: list[tuple[Any, ...]] = []
    for i in range(orders):
        coid = f"mix-{i}"
        try:
            order = submitted(client, market(5, coid))
            answers.append((coid, "ok", order.status))
        except APIError as exc:
            answers.append((coid, "error", exc.status_code))
    settle(clock)
    seen: list[tuple[Any, ...]] = []
    for answer in answers:
        if answer[1] == "ok":
            order = by_coid(client, answer[0])
            answer = (*answer, order.status, order.filled_qty)
        seen.append(answer)
    return seen


def test_same_seed_then_same_faults_and_splits(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    first = _run_mixed(trading, admin, broker_clock, seed=11, orders=30)
    first_stats = stats(admin)
    second = _run_mixed(trading, admin, broker_clock, seed=11, orders=30)
    second_stats = stats(admin)
    other = _run_mixed(trading, admin, broker_clock, seed=12, orders=30)

    assert second == first
    assert second_stats == first_stats
    assert other != first  # a different seed draws differently


def test_stats_then_counts_match_what_the_client_saw(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    seen = _run_mixed(trading, admin, broker_clock, seed=5, orders=40)

    counts = stats(admin)
    print("fault stats:", counts)  # noqa: T201 - the chaos run's report
    injected = counts["injected"]
    errors = [s for s in seen if s[1] == "error"]
    server_errors = [coid for coid, _, status in errors if status == 500]
    placed_anyway = [coid for coid in server_errors if _exists(trading, coid)]
    assert counts["draws"] == 40
    assert injected["rate_limited"] == sum(1 for s in errors if s[2] == 429)
    assert injected["server_error"] + injected["server_error_after_accept"] == len(server_errors)
    assert injected["server_error_after_accept"] == len(placed_anyway)
    statuses = [s[3] for s in seen if s[1] == "ok"]
    assert injected["partial_fill"] == statuses.count(OrderStatus.PARTIALLY_FILLED)
    assert injected["async_reject"] == statuses.count(OrderStatus.ACCEPTED)
    assert {s[2] for s in seen if s[1] == "ok"} <= {OrderStatus.PENDING_NEW, OrderStatus.ACCEPTED}
    assert counts["pending"] == {
        "async_reject": injected["async_reject"],
        "partial_fill": injected["partial_fill"],
    }
    assert sum(injected.values()) > 0


def _exists(client: TradingClient, coid: str) -> bool:
    try:
        client.get_order_by_client_id(coid)
    except APIError:
        return False
    return True


# --- the engine directly: the Python API and over-fill invariants ------------------------------------------


def _engine(clock: ManualClock, faults: Faults) -> PaperBroker:
    return PaperBroker(behaviour=BrokerBehaviour.alpaca(), faults=faults, now=clock)


def test_python_api_faults_then_engine_draws_and_applies_them() -> None:
    clock = ManualClock(SESSION_START)
    engine = _engine(clock, Faults(partial_fill=1.0, partial_fill_parts=3, seed=1))
    body = {"symbol": "AAPL", "qty": "9", "side": "buy", "type": "market", "time_in_force": "day"}

    order = engine.submit_order(body)
    clock.advance(0.1)
    first = engine.get_order(order["id"])
    clock.advance(0.5)
    middle = engine.get_order(order["id"])
    clock.advance(0.5)
    done = engine.get_order(order["id"])

    assert order["status"] == "pending_new"
    assert first["status"] == middle["status"] == "partially_filled"
    assert Decimal(first["filled_qty"]) < Decimal(middle["filled_qty"]) < 9
    assert done["status"] == "filled"
    assert [f["type"] for f in engine.fill_activities(direction="asc")] == ["partial_fill"] * 2 + ["fill"]
    assert Faults.from_json(engine.faults.to_json()) == engine.faults
    assert engine.faults.draw(frozenset({Fault.SERVER_ERROR})) is None  # not applicable: no fault


@given(qty=st.one_of(st.integers(1, 10_000).map(Decimal), st.decimals(Decimal("0.000000001"), 50, places=9)))
def test_split_then_positive_parts_adding_up_to_the_quantity(qty: Decimal) -> None:
    parts = Faults(partial_fill_parts=5, seed=0).split(qty)

    assert sum(parts) == qty
    assert all(p > 0 for p in parts)
    assert 1 <= len(parts) <= 5
    if qty == qty.to_integral_value():
        assert all(p == p.to_integral_value() for p in parts)


_ENGINE_CLOCK = ManualClock(SESSION_START)
_ENGINE = _engine(
    _ENGINE_CLOCK,
    Faults(partial_fill=0.6, async_reject=0.2, partial_fill_parts=4, partial_fill_delay_s=1, seed=3),
)

_submit = st.tuples(
    st.just("submit"),
    st.sampled_from(["buy", "sell"]),
    st.one_of(st.integers(1, 40).map(str), st.sampled_from(["0.5", "2.25", "7.000000001"])),
)
_wait = st.tuples(st.just("wait"), st.sampled_from([0.03, 0.3, 1.0, 2.5]))
_price = st.tuples(st.just("price"), st.sampled_from(["425", "430.47", "436"]))
_cancel = st.tuples(st.just("cancel"), st.integers(0, 50))
_step = st.one_of(_submit, _submit, _wait, _price, _cancel)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(_step, max_size=25))
def test_many_partial_fills_then_never_over_filled_and_books_match_fills(
    steps: list[tuple[Any, ...]],
) -> None:
    _ENGINE_CLOCK.set(SESSION_START)
    engine = _ENGINE
    engine.reset()
    ids: list[str] = []
    for step in steps:
        _apply(engine, step, ids)
        _check_books(engine)
    _ENGINE_CLOCK.advance(1000)  # everything due happens
    _check_books(engine)
    for order in engine.dump()["orders"]:
        if order["status"] not in ("canceled", "rejected"):
            assert order["status"] == "filled"
            assert Decimal(order["filled_qty"]) == Decimal(order["qty"])


def _apply(engine: PaperBroker, step: tuple[Any, ...], ids: list[str]) -> None:
    kind = step[0]
    if kind == "wait":
        _ENGINE_CLOCK.advance(step[1])
    elif kind == "price":
        engine.set_prices({"AAPL": Decimal(step[1])})
    elif kind == "cancel" and ids:
        with contextlib.suppress(BrokerError):  # already closed
            engine.cancel_order(ids[step[1] % len(ids)])
    elif kind == "submit":
        # FB: shortable and easy to borrow, so sells may open shorts too.
        body = {"symbol": "FB", "qty": step[2], "side": step[1], "type": "market", "time_in_force": "gtc"}
        if "." in step[2] and step[1] == "sell":
            body["side"] = "buy"  # fractional short sales are refused
        with contextlib.suppress(BrokerError):  # a rule said no (held quantity, buying power): nothing placed
            ids.append(engine.submit_order(body)["id"])


def _check_books(engine: PaperBroker) -> None:
    state = engine.dump()
    by_order: dict[str, Decimal] = {}
    signed = Decimal(0)
    for fill in state["fills"]:
        qty = Decimal(fill["qty"])
        assert qty > 0
        by_order[fill["order_id"]] = by_order.get(fill["order_id"], Decimal(0)) + qty
        assert Decimal(fill["cum_qty"]) == by_order[fill["order_id"]]
        signed += qty if fill["side"] == "buy" else -qty
    for order in state["orders"]:
        filled = Decimal(order["filled_qty"])
        assert filled <= Decimal(order["qty"])
        assert by_order.get(order["id"], Decimal(0)) == filled
        if order["status"] == "rejected":
            assert filled == 0
            assert order["failed_at"] is not None
    held = sum((Decimal(p["qty"]) for p in state["positions"]), Decimal(0))
    assert held == signed

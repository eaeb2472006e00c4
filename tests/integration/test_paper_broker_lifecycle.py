"""Alpaca's order lifecycle at the paper broker, through alpaca-py: answers first, fills and cancels on the
broker's own clock (20 ms to `new`, 30 ms more to a fill, 50 ms for a cancel or a replace), held quantity
released only when a cancel is done, replaces, complex orders, market hours and Alpaca's rare statuses.

The broker's clock is moved by hand (`broker_clock`), never slept on; each test starts at 10:00 New York on
Wednesday 2026-12-02 with the broker reset.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.models import Order, TradeAccount
from alpaca.trading.requests import (
    GetOrdersRequest,
    LimitOrderRequest,
    ReplaceOrderRequest,
    StopLossRequest,
    TakeProfitRequest,
)

from tests.integration.broker_helpers import (
    bracket,
    by_id,
    legs_by_type,
    limit,
    market,
    rejection,
    settle,
    submitted,
    trading_client,
    typed,
)
from tests.integration.conftest import BROKER_HEADERS
from tradepipe.local.paper_broker import ManualClock
from tradepipe.local.paper_broker.server import PaperBrokerServer
from tradepipe.local.paper_broker.state import RARE_STATUSES

SATURDAY_NOON = datetime(2026, 12, 5, 17, 0, tzinfo=UTC)
MONDAY_OPEN = datetime(2026, 12, 7, 14, 30, tzinfo=UTC)


@pytest.fixture
def trading(running_broker: PaperBrokerServer, admin: httpx.Client) -> TradingClient:
    return trading_client(running_broker.url)


def _long_ibm_bracket(trading: TradingClient, clock: ManualClock) -> Order:
    """Long 10 IBM (bought at the ask, 202.94) with a working take-profit 210 and a held stop 198."""
    placed = submitted(trading, bracket("ibm-brk", take_profit=210.0, stop_loss=198.0, symbol="IBM"))
    settle(clock)
    return by_id(trading, placed.id)


# --- answers first, fills later ------------------------------------------------------------------------


def test_market_order_then_pending_new_then_new_then_filled_on_the_brokers_clock(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    placed = submitted(trading, market("IBM", 3))

    assert placed.status == OrderStatus.PENDING_NEW
    broker_clock.advance(0.021)
    assert by_id(trading, placed.id).status == OrderStatus.NEW
    broker_clock.advance(0.03)
    filled = by_id(trading, placed.id)
    assert filled.status == OrderStatus.FILLED
    assert filled.filled_at == datetime(2026, 12, 2, 15, 0, 0, 50000, tzinfo=UTC)  # stamped when due


def test_market_order_on_a_saturday_then_accepted_and_filled_at_the_next_open(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    broker_clock.set(SATURDAY_NOON)

    placed = submitted(trading, market("IBM", 3))
    broker_clock.set(MONDAY_OPEN)
    still_waiting = by_id(trading, placed.id)
    settle(broker_clock)

    assert placed.status == OrderStatus.ACCEPTED
    assert still_waiting.status == OrderStatus.ACCEPTED  # routed 20 ms after the open
    filled = by_id(trading, placed.id)
    assert filled.status == OrderStatus.FILLED
    assert filled.filled_at is not None
    assert filled.filled_at > MONDAY_OPEN


def test_limit_order_after_the_close_then_accepted_until_the_open(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    broker_clock.set(datetime(2026, 12, 2, 22, 0, tzinfo=UTC))  # 17:00 New York

    placed = submitted(trading, limit("IBM", 1, 190.0, tif=TimeInForce.DAY))
    broker_clock.set(datetime(2026, 12, 3, 14, 30, 1, tzinfo=UTC))

    assert placed.status == OrderStatus.ACCEPTED
    assert by_id(trading, placed.id).status == OrderStatus.NEW


def test_day_order_still_open_at_the_close_then_expired_and_last_equity_taken(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    placed = submitted(trading, limit("IBM", 1, 190.0, tif=TimeInForce.DAY))
    gtc = submitted(trading, limit("IBM", 1, 189.0))
    submitted(trading, market("FB", 10))
    settle(broker_clock)

    broker_clock.set(datetime(2026, 12, 2, 21, 0, 1, tzinfo=UTC))  # 16:00:01 New York

    assert by_id(trading, placed.id).status == OrderStatus.EXPIRED
    assert by_id(trading, gtc.id).status == OrderStatus.NEW
    account = typed(TradeAccount, trading.get_account())
    assert (
        Decimal(str(account.last_equity)) == Decimal(str(account.equity)) < Decimal(100000)
    )  # the FB spread


def test_extended_hours_then_only_limit_day_orders_and_they_route_in_the_pre_market(
    trading: TradingClient, broker_clock: ManualClock, running_broker: PaperBrokerServer
) -> None:
    broker_clock.set(datetime(2026, 12, 2, 13, 0, tzinfo=UTC))  # 08:00 New York
    body = {"symbol": "IBM", "qty": "1", "side": "buy", "time_in_force": "day", "extended_hours": True}

    as_market = httpx.post(
        f"{running_broker.url}/v2/orders", json={**body, "type": "market"}, headers=BROKER_HEADERS
    )
    as_limit = submitted(
        trading,
        LimitOrderRequest(
            symbol="IBM",
            qty=1,
            side=OrderSide.BUY,
            limit_price=203.0,
            time_in_force=TimeInForce.DAY,
            extended_hours=True,
        ),
    )
    settle(broker_clock)

    assert as_market.status_code == 422
    assert as_market.json()["message"] == "extended hours order must be DAY limit orders"
    assert as_limit.status == OrderStatus.PENDING_NEW
    assert by_id(trading, as_limit.id).status == OrderStatus.FILLED  # marketable in the pre-market


# --- cancels are requests ------------------------------------------------------------------------------


def test_cancel_then_pending_cancel_and_canceled_after_the_delay(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    resting = submitted(trading, limit("IBM", 1, 190.0))
    settle(broker_clock)

    trading.cancel_order_by_id(resting.id)  # 204
    pending = by_id(trading, resting.id)
    broker_clock.advance(0.051)

    assert pending.status == OrderStatus.PENDING_CANCEL
    assert pending.canceled_at is None
    done = by_id(trading, resting.id)
    assert done.status == OrderStatus.CANCELED
    assert done.canceled_at is not None


def test_close_while_legs_pending_cancel_then_403_insufficient_qty_until_they_are_canceled(
    trading: TradingClient, broker_clock: ManualClock, running_broker: PaperBrokerServer
) -> None:
    entry = _long_ibm_bracket(trading, broker_clock)
    legs = legs_by_type(entry)
    trading.cancel_order_by_id(legs["limit"].id)  # the exit pair goes together

    refused = httpx.delete(f"{running_broker.url}/v2/positions/IBM", headers=BROKER_HEADERS)
    settle(broker_clock)
    closing = typed(Order, trading.close_position("IBM"))

    assert refused.status_code == 403
    assert refused.json() == {
        "code": 40310000,
        "message": "insufficient qty available for order (requested: 10, available: 0)",
        "symbol": "IBM",
        "existing_qty": "10",
        "held_for_orders": "10",
        "available": "0",
        "related_orders": [str(legs["limit"].id), str(legs["stop"].id)],
    }
    assert {leg.status for leg in by_id(trading, entry.id).legs or []} == {OrderStatus.CANCELED}
    assert closing.status == OrderStatus.PENDING_NEW


def test_cancel_of_a_filled_order_then_422(trading: TradingClient, broker_clock: ManualClock) -> None:
    placed = submitted(trading, market("IBM", 1))
    settle(broker_clock)

    with pytest.raises(APIError) as excinfo:
        trading.cancel_order_by_id(placed.id)

    assert rejection(excinfo) == (422, 42210000, 'order is already in "filled" state')


def test_cancel_of_an_order_already_pending_cancel_then_204_again(
    trading: TradingClient, broker_clock: ManualClock, running_broker: PaperBrokerServer
) -> None:
    resting = submitted(trading, limit("IBM", 1, 190.0))
    settle(broker_clock)
    trading.cancel_order_by_id(resting.id)

    again = httpx.delete(f"{running_broker.url}/v2/orders/{resting.id}", headers=BROKER_HEADERS)

    assert again.status_code == 204
    assert by_id(trading, resting.id).status == OrderStatus.PENDING_CANCEL


def test_cancel_all_then_207_and_every_open_order_canceled_after_the_delay(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    _long_ibm_bracket(trading, broker_clock)

    responses = trading.cancel_orders()
    settle(broker_clock)

    assert isinstance(responses, list)
    assert {r.status for r in responses} == {200}
    assert len(responses) == 2
    assert trading.get_orders() == []


# --- replace ---------------------------------------------------------------------------------------------


def test_replace_limit_then_old_replaced_and_the_new_order_works(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    old = submitted(trading, limit("IBM", 2, 190.0))
    settle(broker_clock)

    new = typed(Order, trading.replace_order_by_id(old.id, ReplaceOrderRequest(limit_price=195.0, qty=3)))
    pending = by_id(trading, old.id)
    settle(broker_clock)

    assert (new.status, new.replaces, float(new.limit_price or 0), float(new.qty or 0)) == (
        OrderStatus.PENDING_NEW,
        old.id,
        195.0,
        3.0,
    )
    assert pending.status == OrderStatus.PENDING_REPLACE
    replaced = by_id(trading, old.id)
    assert (replaced.status, replaced.replaced_by) == (OrderStatus.REPLACED, new.id)
    assert replaced.replaced_at is not None
    assert by_id(trading, new.id).status == OrderStatus.NEW
    open_ids = {o.id for o in trading.get_orders() if isinstance(o, Order)}
    assert open_ids == {new.id}


def test_replace_take_profit_leg_then_the_exit_pair_works_at_the_new_price(
    trading: TradingClient, broker_clock: ManualClock, admin: httpx.Client
) -> None:
    entry = _long_ibm_bracket(trading, broker_clock)
    take_profit = legs_by_type(entry)["limit"]

    new_leg = typed(
        Order, trading.replace_order_by_id(take_profit.id, ReplaceOrderRequest(limit_price=205.0))
    )
    settle(broker_clock)
    admin.post("/_paper/prices", json={"IBM": "205.50"}).raise_for_status()

    legs = legs_by_type(by_id(trading, entry.id))
    assert legs["limit"].id == new_leg.id
    assert legs["limit"].status == OrderStatus.FILLED
    assert float(legs["limit"].filled_avg_price or 0) == 205.47  # the bid at 205.50: the limit or better
    assert legs["stop"].status == OrderStatus.CANCELED
    assert by_id(trading, take_profit.id).status == OrderStatus.REPLACED
    assert trading.get_all_positions() == []


def test_replace_of_a_filled_order_then_422(trading: TradingClient, broker_clock: ManualClock) -> None:
    placed = submitted(trading, limit("IBM", 1, 205.0))  # marketable: fills at the ask
    settle(broker_clock)

    with pytest.raises(APIError) as excinfo:
        trading.replace_order_by_id(placed.id, ReplaceOrderRequest(limit_price=206.0))

    assert rejection(excinfo) == (422, 42210000, 'order is already in "filled" state')


# --- complex orders ----------------------------------------------------------------------------------------


def test_oco_exit_of_a_position_then_the_stop_fills_and_the_take_profit_is_canceled(
    trading: TradingClient, broker_clock: ManualClock, admin: httpx.Client
) -> None:
    submitted(trading, market("IBM", 10))
    settle(broker_clock)
    request = LimitOrderRequest(
        symbol="IBM",
        qty=10,
        side=OrderSide.SELL,
        time_in_force=TimeInForce.GTC,
        order_class=OrderClass.OCO,
        take_profit=TakeProfitRequest(limit_price=210.0),
        stop_loss=StopLossRequest(stop_price=198.0),
    )

    oco = submitted(trading, request)
    settle(broker_clock)
    working = by_id(trading, oco.id)
    admin.post("/_paper/prices", json={"IBM": "197.50"}).raise_for_status()

    assert (working.status, [leg.status for leg in working.legs or []]) == (
        OrderStatus.NEW,
        [OrderStatus.HELD],
    )
    after = by_id(trading, oco.id)
    assert after.status == OrderStatus.CANCELED
    assert [leg.status for leg in after.legs or []] == [OrderStatus.FILLED]
    assert trading.get_all_positions() == []


def test_resting_limit_bracket_canceled_then_entry_and_legs_canceled(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    request = LimitOrderRequest(
        symbol="IBM",
        qty=2,
        side=OrderSide.BUY,
        limit_price=200.0,
        time_in_force=TimeInForce.GTC,
        order_class=OrderClass.BRACKET,
        take_profit=TakeProfitRequest(limit_price=210.0),
        stop_loss=StopLossRequest(stop_price=195.0),
    )
    order = submitted(trading, request)
    settle(broker_clock)
    assert by_id(trading, order.id).status == OrderStatus.NEW

    trading.cancel_order_by_id(order.id)
    settle(broker_clock)

    after = by_id(trading, order.id)
    assert after.status == OrderStatus.CANCELED
    assert {leg.status for leg in after.legs or []} == {OrderStatus.CANCELED}
    assert trading.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN)) == []


# --- Alpaca's rare statuses ----------------------------------------------------------------------------


@pytest.mark.parametrize("rare", sorted(s.value for s in RARE_STATUSES))
def test_rare_status_from_the_hook_then_alpaca_py_reads_it_the_order_stays_open_and_does_not_trade(
    trading: TradingClient, broker_clock: ManualClock, admin: httpx.Client, rare: str
) -> None:
    resting = submitted(trading, limit("IBM", 1, 190.0))
    settle(broker_clock)

    admin.post(f"/_paper/orders/{resting.id}/status", json={"status": rare}).raise_for_status()
    admin.post("/_paper/prices", json={"IBM": "189.00"}).raise_for_status()

    parked = by_id(trading, resting.id)
    assert parked.status == OrderStatus(rare)
    assert parked.filled_qty == "0"
    assert [o.id for o in trading.get_orders() if isinstance(o, Order)] == [resting.id]

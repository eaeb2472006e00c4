"""Alpaca's acceptance rules at the paper broker, one test per rule, through alpaca-py (raw HTTP where
alpaca-py would refuse the request itself): legs against the quote, leg prices, held quantity, wash trades,
short sales and fractions by asset, pattern day trading.

Quotes at the start (2013-03-01 closes, 2 bp spread): AAPL 430.42 / 430.52, IBM 202.88 / 202.94,
FB 27.77 / 27.79. The broker is reset and its clock back at 10:00 New York for every test.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, OrderStatus, TimeInForce
from alpaca.trading.models import Order, TradeAccount
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    StopLossRequest,
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
from tests.integration.conftest import BROKER_HEADERS, SESSION_START
from tradepipe.local.paper_broker import ManualClock
from tradepipe.local.paper_broker.server import PaperBrokerServer

PDT_MESSAGE = "trade denied due to pattern day trading protection"


@pytest.fixture
def trading(running_broker: PaperBrokerServer, admin: httpx.Client) -> TradingClient:
    return trading_client(running_broker.url)


def _post(broker: PaperBrokerServer, body: dict[str, object]) -> httpx.Response:
    return httpx.post(f"{broker.url}/v2/orders", json=body, headers=BROKER_HEADERS)


# --- exit legs against the quote ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("take_profit", "stop_loss", "message"),
    [
        # Above the last price (430.47) but not a cent above the ask (430.52).
        (430.52, 420.0, "take_profit.limit_price must be >= base_price + 0.01"),
        # Below the last price but not a cent below the ask.
        (450.0, 430.52, "stop_loss.stop_price must be <= base_price - 0.01"),
    ],
)
def test_buy_bracket_legs_checked_against_the_ask_then_422(
    trading: TradingClient, take_profit: float, stop_loss: float, message: str
) -> None:
    with pytest.raises(APIError) as excinfo:
        trading.submit_order(bracket(take_profit=take_profit, stop_loss=stop_loss))

    assert rejection(excinfo) == (422, 42210000, message)
    assert excinfo.value.response.json()["base_price"] == "430.52"


def test_buy_bracket_legs_a_cent_beyond_the_ask_then_accepted(trading: TradingClient) -> None:
    placed = submitted(trading, bracket(take_profit=430.53, stop_loss=430.51))

    assert placed.status == OrderStatus.PENDING_NEW


def test_sell_bracket_legs_checked_against_the_bid_then_422(trading: TradingClient) -> None:
    with pytest.raises(APIError) as excinfo:
        # FB bid 27.77: a short's take-profit must be at or below 27.76.
        trading.submit_order(bracket(take_profit=27.77, stop_loss=29.0, symbol="FB", side=OrderSide.SELL))

    assert rejection(excinfo) == (422, 42210000, "take_profit.limit_price must be <= base_price - 0.01")
    assert excinfo.value.response.json()["base_price"] == "27.77"


@pytest.mark.parametrize(
    ("legs", "message"),
    [
        (
            {"take_profit": {"limit_price": "450"}, "stop_loss": {"stop_price": "0"}},
            "stop_loss.stop_price must be > 0",
        ),
        (
            {"take_profit": {"limit_price": "450"}, "stop_loss": {"stop_price": "-5"}},
            "stop_loss.stop_price must be > 0",
        ),
        (
            {"take_profit": {"limit_price": "0"}, "stop_loss": {"stop_price": "420"}},
            "take_profit.limit_price must be > 0",
        ),
        (
            {"take_profit": {"limit_price": "450"}, "stop_loss": {"stop_price": "420", "limit_price": "-1"}},
            "stop_loss.limit_price must be > 0",
        ),
    ],
)
def test_leg_price_zero_or_below_then_422(
    running_broker: PaperBrokerServer, admin: httpx.Client, legs: dict[str, object], message: str
) -> None:
    body = {"symbol": "AAPL", "qty": "1", "side": "buy", "type": "market", "time_in_force": "gtc"}

    answer = _post(running_broker, {**body, "order_class": "bracket", **legs})

    assert (answer.status_code, answer.json()) == (422, {"code": 40010001, "message": message})


# --- held quantity --------------------------------------------------------------------------------


def test_sell_more_than_available_then_403_with_alpacas_body(
    trading: TradingClient, broker_clock: ManualClock, running_broker: PaperBrokerServer
) -> None:
    submitted(trading, market("IBM", 10))
    settle(broker_clock)
    resting = submitted(trading, limit("IBM", 4, 220.0, side=OrderSide.SELL))

    answer = _post(
        running_broker,
        {"symbol": "IBM", "qty": "7", "side": "sell", "type": "market", "time_in_force": "day"},
    )

    assert answer.status_code == 403
    assert answer.json() == {
        "code": 40310000,
        "message": "insufficient qty available for order (requested: 7, available: 6)",
        "symbol": "IBM",
        "existing_qty": "10",
        "held_for_orders": "4",
        "available": "6",
        "related_orders": [str(resting.id)],
    }


def test_bracket_legs_hold_the_position_once_then_a_second_exit_is_refused(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    submitted(trading, bracket(symbol="IBM", take_profit=210.0, stop_loss=198.0))
    settle(broker_clock)

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(market("IBM", 1, OrderSide.SELL))

    assert rejection(excinfo)[2] == "insufficient qty available for order (requested: 1, available: 0)"


def test_bracket_with_a_stop_limit_leg_then_accepted_with_a_stop_limit_leg_at_both_prices(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    """Alpaca's bracket `stop_loss` takes `stop_price` and an optional `limit_price` (alpaca-py's
    StopLossRequest: "limit_price: The execution price for exiting a losing trade. If not provided, the
    stop loss will execute as a market order"): the stop leg is then a stop-limit order."""
    request = bracket(symbol="IBM", take_profit=210.0, stop_loss=198.0)
    request.stop_loss = StopLossRequest(stop_price=198.0, limit_price=197.5)
    entry = submitted(trading, request)
    settle(broker_clock)

    stop = legs_by_type(by_id(trading, entry.id))["stop_limit"]

    assert (stop.stop_price, stop.limit_price, stop.side) == ("198", "197.5", OrderSide.SELL)


# --- wash trades ----------------------------------------------------------------------------------


def _long_with_take_profit(trading: TradingClient, clock: ManualClock) -> Order:
    entry = submitted(trading, bracket(symbol="IBM", take_profit=210.0, stop_loss=198.0))
    settle(clock)
    return by_id(trading, entry.id)


def test_market_buy_opposite_a_working_take_profit_then_403_wash_trade_naming_it(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    take_profit = legs_by_type(_long_with_take_profit(trading, broker_clock))["limit"]

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(market("IBM", 1))

    assert rejection(excinfo) == (403, 40310000, "potential wash trade detected. use complex orders")
    body = excinfo.value.response.json()
    assert (body["existing_order_id"], body["reject_reason"]) == (
        str(take_profit.id),
        "opposite side limit order exists",
    )


def test_buy_limit_crossing_the_working_sell_limit_then_403_and_below_it_accepted(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    _long_with_take_profit(trading, broker_clock)

    with pytest.raises(APIError) as crossing:
        trading.submit_order(limit("IBM", 1, 210.0))
    below = submitted(trading, limit("IBM", 1, 209.99))  # the bracket's stop is held back: it does not count

    assert rejection(crossing)[2] == "potential wash trade detected. use complex orders"
    assert below.status == OrderStatus.PENDING_NEW


def test_resting_stop_sell_then_a_buy_limit_is_403_whatever_its_price(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    # Alpaca's table: resting "stop sell", incoming "limit buy": "always rejected".
    request = MarketOrderRequest(
        symbol="IBM",
        qty=5,
        side=OrderSide.BUY,
        time_in_force=TimeInForce.GTC,
        order_class=OrderClass.OTO,
        stop_loss=StopLossRequest(stop_price=198.0),
    )
    submitted(trading, request)
    settle(broker_clock)

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(limit("IBM", 1, 150.0))

    assert rejection(excinfo) == (403, 40310000, "potential wash trade detected. use complex orders")
    assert excinfo.value.response.json()["reject_reason"] == "opposite side stop order exists"


def test_complex_order_opposite_a_working_take_profit_then_exempt_and_accepted(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    _long_with_take_profit(trading, broker_clock)

    added = submitted(trading, bracket(symbol="IBM", qty=5, take_profit=212.0, stop_loss=199.0))

    assert added.status == OrderStatus.PENDING_NEW


def test_take_profit_pending_cancel_still_counts_then_403_wash_trade(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    entry = _long_with_take_profit(trading, broker_clock)
    trading.cancel_order_by_id(legs_by_type(entry)["limit"].id)

    with pytest.raises(APIError) as while_pending:
        trading.submit_order(market("IBM", 1))
    settle(broker_clock)
    after = submitted(trading, market("IBM", 1))

    assert rejection(while_pending)[2] == "potential wash trade detected. use complex orders"
    assert after.status == OrderStatus.PENDING_NEW


# --- short sales and fractions by asset -----------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "message"),
    [
        ("AAPL", 'asset "AAPL" is hard to borrow: short sales can only open in easy to borrow assets'),
        ("MSFT", 'asset "MSFT" is not shortable'),
    ],
)
def test_short_sale_of_a_hard_to_borrow_or_unshortable_asset_then_403(
    trading: TradingClient, symbol: str, message: str
) -> None:
    with pytest.raises(APIError) as excinfo:
        trading.submit_order(market(symbol, 10, OrderSide.SELL))

    assert rejection(excinfo) == (403, 40310000, message)


def test_selling_a_long_in_a_hard_to_borrow_asset_then_allowed(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    submitted(trading, market("AAPL", 10))
    settle(broker_clock)

    closing = submitted(trading, market("AAPL", 10, OrderSide.SELL))

    assert closing.status == OrderStatus.PENDING_NEW


def test_fractional_order_of_a_non_fractionable_asset_then_422(trading: TradingClient) -> None:
    with pytest.raises(APIError) as excinfo:
        trading.submit_order(market("GOOG", 0.5))

    assert rejection(excinfo) == (422, 42210000, "requested asset is not fractionable")


def test_fractional_short_sale_then_403(trading: TradingClient) -> None:
    with pytest.raises(APIError) as excinfo:
        trading.submit_order(market("FB", 0.5, OrderSide.SELL))

    assert rejection(excinfo) == (403, 40310000, "fractional orders cannot be sold short")


# --- pattern day trading --------------------------------------------------------------------------


def _day_trade(trading: TradingClient, clock: ManualClock) -> None:
    submitted(trading, market("FB", 10))
    settle(clock)
    submitted(trading, market("FB", 10, OrderSide.SELL))
    settle(clock)


def _three_day_trades_under_25k(trading: TradingClient, admin: httpx.Client, clock: ManualClock) -> None:
    admin.post("/_paper/reset", json={"cash": "20000"}).raise_for_status()
    for _ in range(3):
        _day_trade(trading, clock)


def test_fourth_day_trade_in_five_business_days_under_25k_then_403(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    _three_day_trades_under_25k(trading, admin, broker_clock)
    submitted(trading, market("FB", 10))  # opening: not a day trade by itself
    settle(broker_clock)

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(market("FB", 10, OrderSide.SELL))

    assert rejection(excinfo) == (403, 40310100, PDT_MESSAGE)
    assert typed(TradeAccount, trading.get_account()).daytrade_count == 3


def test_bracket_with_three_day_trades_under_25k_then_403_as_a_potential_day_trade(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    _three_day_trades_under_25k(trading, admin, broker_clock)

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(bracket(symbol="FB", qty=10, take_profit=29.0, stop_loss=27.0))

    assert rejection(excinfo)[:2] == (403, 40310100)


def test_fourth_day_trade_with_25k_or_more_then_allowed(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    for _ in range(3):
        _day_trade(trading, broker_clock)  # on the default 100,000
    submitted(trading, market("FB", 10))
    settle(broker_clock)

    closing = submitted(trading, market("FB", 10, OrderSide.SELL))

    assert closing.status == OrderStatus.PENDING_NEW


def test_day_trades_older_than_five_business_days_then_the_exit_is_allowed(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    _three_day_trades_under_25k(trading, admin, broker_clock)
    broker_clock.set(SESSION_START + timedelta(days=7))  # the Wednesday after: 5 business days on
    submitted(trading, market("FB", 10))
    settle(broker_clock)

    closing = submitted(trading, market("FB", 10, OrderSide.SELL))

    assert closing.status == OrderStatus.PENDING_NEW
    assert typed(TradeAccount, trading.get_account()).daytrade_count == 0


def test_buy_while_a_sell_limit_works_with_three_day_trades_then_403(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    _three_day_trades_under_25k(trading, admin, broker_clock)
    submitted(trading, market("FB", 10))
    settle(broker_clock)
    # Held overnight: the next day a sell limit and a buy would pair up into a potential day trade.
    broker_clock.set(SESSION_START + timedelta(days=1))
    submitted(
        trading,
        LimitOrderRequest(
            symbol="FB", qty=10, side=OrderSide.SELL, limit_price=30.0, time_in_force=TimeInForce.GTC
        ),
    )

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(limit("FB", 5, 27.0))

    assert rejection(excinfo) == (403, 40310100, PDT_MESSAGE)

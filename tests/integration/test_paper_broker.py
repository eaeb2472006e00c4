"""The paper broker through the real alpaca-py clients, over HTTP on a free port.

One server per module; every test starts from `POST /_paper/reset` (cash 100000, cursor 2013-03-01, where
AAPL closed at 430.47). Prices and time move through the `/_paper/` admin routes, as the local stack does.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.models import BarSet
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.models import Asset, Clock, Order, Position, TradeAccount, TradeActivity
from alpaca.trading.requests import (
    ClosePositionRequest,
    GetCalendarRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    StopLossRequest,
    TakeProfitRequest,
)

from tests.integration.conftest import BROKER_KEY, BROKER_SECRET
from tradepipe.local.paper_broker import MarketClock, PaperBroker, PriceFeed
from tradepipe.local.paper_broker.server import PaperBrokerServer

KEY = BROKER_KEY
SECRET = BROKER_SECRET
AAPL_CLOSE_2013_03_01 = 430.47
HEADERS = {"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET}
T = TypeVar("T")


@pytest.fixture
def trading(running_broker: PaperBrokerServer, admin: httpx.Client) -> TradingClient:
    return TradingClient(KEY, SECRET, paper=True, url_override=running_broker.url)


@pytest.fixture
def market_data(running_broker: PaperBrokerServer) -> StockHistoricalDataClient:
    return StockHistoricalDataClient(KEY, SECRET, url_override=running_broker.url)


def bracket(
    client_order_id: str, qty: float = 10, take_profit: float = 450.0, stop_loss: float = 420.0
) -> MarketOrderRequest:
    return MarketOrderRequest(
        symbol="AAPL",
        qty=qty,
        side=OrderSide.BUY,
        time_in_force=TimeInForce.GTC,
        order_class=OrderClass.BRACKET,
        take_profit=TakeProfitRequest(limit_price=take_profit),
        stop_loss=StopLossRequest(stop_price=stop_loss),
        client_order_id=client_order_id,
    )


def typed(kind: type[T], value: object) -> T:
    """alpaca-py returns `Model | dict` (a dict only with raw_data=True): narrow it for the type checker."""
    assert isinstance(value, kind)
    return value


def submitted(client: TradingClient, request: Any) -> Order:
    return typed(Order, client.submit_order(request))


def market(symbol: str, qty: float, side: OrderSide = OrderSide.BUY) -> MarketOrderRequest:
    return MarketOrderRequest(symbol=symbol, qty=qty, side=side, time_in_force=TimeInForce.DAY)


def legs_by_type(order: Order) -> dict[str, Order]:
    assert order.legs is not None
    return {str(leg.type.value if leg.type else ""): leg for leg in order.legs}


def rejection(excinfo: pytest.ExceptionInfo[APIError]) -> tuple[int | None, int, str]:
    return excinfo.value.status_code, excinfo.value.code, excinfo.value.message


# --- account, clock ----------------------------------------------------------------------------------


def test_account_read_then_active_usd_account_with_default_cash(trading: TradingClient) -> None:
    account = typed(TradeAccount, trading.get_account())

    assert account.status == "ACTIVE"
    assert account.currency == "USD"
    assert Decimal(str(account.cash)) == Decimal(100000)
    assert Decimal(str(account.equity)) == Decimal(100000)
    assert Decimal(str(account.last_equity)) == Decimal(100000)
    assert Decimal(str(account.buying_power)) == Decimal(200000)  # Reg T multiplier 2


def test_clock_read_then_open_by_default_with_future_open_and_close(trading: TradingClient) -> None:
    clock = typed(Clock, trading.get_clock())

    assert clock.is_open is True
    assert clock.next_open > clock.timestamp
    assert clock.next_close > clock.timestamp


def test_regular_hours_clock_on_a_saturday_then_closed_until_monday_open() -> None:
    new_york = ZoneInfo("America/New_York")
    saturday_noon = datetime(2024, 6, 1, 12, 0, tzinfo=new_york)
    clock = MarketClock(always_open=False, now=lambda: saturday_noon)

    snapshot = clock.snapshot()

    assert snapshot["is_open"] is False
    assert snapshot["next_open"] == "2024-06-03T09:30:00-04:00"
    assert snapshot["next_close"] == "2024-06-03T16:00:00-04:00"
    assert clock.is_open(datetime(2024, 6, 3, 15, 59, tzinfo=new_york)) is True
    assert clock.is_open(datetime(2024, 6, 3, 16, 0, tzinfo=new_york)) is False


def test_calendar_read_then_weekdays_only(trading: TradingClient) -> None:
    days = trading.get_calendar(GetCalendarRequest(start=date(2024, 6, 1), end=date(2024, 6, 9)))

    assert isinstance(days, list)
    assert [d.date for d in days] == [date(2024, 6, n) for n in (3, 4, 5, 6, 7)]


def test_asset_lookup_then_active_fractionable_us_equity(trading: TradingClient) -> None:
    asset = typed(Asset, trading.get_asset("AAPL"))

    assert asset.symbol == "AAPL"
    assert asset.asset_class == "us_equity"
    assert (asset.tradable, asset.fractionable, asset.shortable, asset.easy_to_borrow) == (True,) * 4
    with pytest.raises(APIError) as excinfo:
        trading.get_asset("NOPE")
    assert excinfo.value.status_code == 404


def test_missing_auth_headers_then_401_without_echoing_keys(running_broker: PaperBrokerServer) -> None:
    response = httpx.get(f"{running_broker.url}/v2/account")
    half = httpx.get(f"{running_broker.url}/v2/account", headers={"APCA-API-KEY-ID": KEY})

    assert response.status_code == 401
    assert response.json() == {"code": 40110000, "message": "request is not authorized"}
    assert half.status_code == 401
    assert KEY not in half.text


# --- orders --------------------------------------------------------------------------------------------


def test_bracket_market_entry_then_fills_at_feed_price_with_two_legs(trading: TradingClient) -> None:
    order = submitted(trading, bracket("brk-1"))

    assert order.status == OrderStatus.FILLED
    assert order.order_class == OrderClass.BRACKET
    assert float(order.filled_qty or 0) == 10
    assert float(order.filled_avg_price or 0) == AAPL_CLOSE_2013_03_01
    assert order.filled_at is not None
    legs = legs_by_type(order)
    assert set(legs) == {"limit", "stop"}
    assert legs["limit"].side == OrderSide.SELL
    assert float(legs["limit"].limit_price or 0) == 450.0
    assert legs["limit"].status == OrderStatus.NEW
    assert legs["stop"].side == OrderSide.SELL
    assert float(legs["stop"].stop_price or 0) == 420.0
    assert legs["stop"].status == OrderStatus.HELD


def test_lookup_by_client_order_id_then_same_order_with_legs(trading: TradingClient) -> None:
    placed = submitted(trading, bracket("brk-lookup"))

    found = typed(Order, trading.get_order_by_client_id("brk-lookup"))

    assert found.id == placed.id
    assert found.status == OrderStatus.FILLED
    assert found.legs is not None
    assert len(found.legs) == 2


def test_duplicate_client_order_id_then_422_even_after_cancel(trading: TradingClient) -> None:
    resting = submitted(
        trading,
        LimitOrderRequest(
            symbol="AAPL",
            qty=1,
            side=OrderSide.BUY,
            limit_price=400.0,
            time_in_force=TimeInForce.GTC,
            client_order_id="dup-1",
        ),
    )
    trading.cancel_order_by_id(resting.id)

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(bracket("dup-1"))

    assert rejection(excinfo) == (422, 40010001, "client_order_id must be unique")


def test_unknown_order_lookup_then_404(trading: TradingClient) -> None:
    with pytest.raises(APIError) as by_client_id:
        trading.get_order_by_client_id("never-sent")
    with pytest.raises(APIError) as by_id:
        trading.get_order_by_id("00000000-0000-4000-8000-000000000000")

    assert rejection(by_client_id) == (404, 40410000, "order not found")
    assert by_id.value.status_code == 404


def test_unknown_symbol_then_422_asset_not_found(trading: TradingClient) -> None:
    request = market("XYZ", 1)

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(request)

    assert rejection(excinfo) == (422, 40010001, 'asset "XYZ" not found')


def test_zero_qty_then_422(trading: TradingClient) -> None:
    request = market("AAPL", 0)

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(request)

    assert rejection(excinfo) == (422, 40010001, "qty must be > 0")


@pytest.mark.parametrize(
    ("take_profit", "stop_loss", "message"),
    [
        (430.0, 420.0, "take_profit.limit_price must be >= base_price + 0.01"),
        (450.0, 431.0, "stop_loss.stop_price must be <= base_price - 0.01"),
    ],
)
def test_bracket_exit_on_wrong_side_then_422(
    trading: TradingClient, take_profit: float, stop_loss: float, message: str
) -> None:
    with pytest.raises(APIError) as excinfo:
        trading.submit_order(bracket("wrong-side", take_profit=take_profit, stop_loss=stop_loss))

    assert rejection(excinfo) == (422, 42210000, message)
    assert trading.get_all_positions() == []


def test_sub_penny_stop_then_422(trading: TradingClient) -> None:
    with pytest.raises(APIError) as excinfo:
        trading.submit_order(bracket("sub-penny", stop_loss=420.125))

    status, code, message = rejection(excinfo)
    assert (status, code) == (422, 42210000)
    assert "sub-penny" in message


def test_oto_with_stop_only_then_single_working_stop_leg(trading: TradingClient) -> None:
    request = MarketOrderRequest(
        symbol="AAPL",
        qty=5,
        side=OrderSide.BUY,
        time_in_force=TimeInForce.GTC,
        order_class=OrderClass.OTO,
        stop_loss=StopLossRequest(stop_price=420.0),
        client_order_id="oto-1",
    )

    order = submitted(trading, request)

    assert order.status == OrderStatus.FILLED
    assert order.legs is not None
    assert [(leg.type, leg.status) for leg in order.legs] == [("stop", OrderStatus.NEW)]


def test_resting_limit_bracket_canceled_then_entry_and_legs_canceled(trading: TradingClient) -> None:
    request = LimitOrderRequest(
        symbol="AAPL",
        qty=2,
        side=OrderSide.BUY,
        limit_price=425.0,
        time_in_force=TimeInForce.GTC,
        order_class=OrderClass.BRACKET,
        take_profit=TakeProfitRequest(limit_price=440.0),
        stop_loss=StopLossRequest(stop_price=415.0),
        client_order_id="resting-bracket",
    )
    order = submitted(trading, request)
    assert order.status == OrderStatus.NEW

    trading.cancel_order_by_id(order.id)

    after = typed(Order, trading.get_order_by_id(order.id))
    assert after.status == OrderStatus.CANCELED
    assert after.legs is not None
    assert {leg.status for leg in after.legs} == {OrderStatus.CANCELED}
    assert trading.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN)) == []


def test_orders_listed_nested_then_legs_inside_their_entry(trading: TradingClient) -> None:
    placed = submitted(trading, bracket("nested-1"))

    nested = trading.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, nested=True))
    flat = trading.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL))
    open_flat = trading.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN, symbols=["AAPL"]))

    assert isinstance(nested, list)
    assert [o.id for o in nested] == [placed.id]
    assert nested[0].legs is not None
    assert len(nested[0].legs) == 2
    assert isinstance(flat, list)
    assert len(flat) == 3
    assert isinstance(open_flat, list)
    assert {o.type for o in open_flat} == {"limit", "stop"}


def test_cancel_all_orders_then_every_open_order_canceled(trading: TradingClient) -> None:
    submitted(trading, bracket("cancel-all"))

    responses = trading.cancel_orders()

    assert isinstance(responses, list)
    assert {r.status for r in responses} == {200}
    assert len(responses) == 2
    assert trading.get_orders() == []


# --- positions -----------------------------------------------------------------------------------------


def test_market_buy_filled_then_position_and_cash_reflect_it(trading: TradingClient) -> None:
    submitted(trading, market("AAPL", 10))

    position = typed(Position, trading.get_open_position("AAPL"))
    account = typed(TradeAccount, trading.get_account())

    assert position.side == "long"
    assert Decimal(position.qty) == 10
    assert Decimal(position.avg_entry_price) == Decimal("430.47")
    assert Decimal(position.cost_basis) == Decimal("4304.7")
    assert Decimal(position.market_value or "0") == Decimal("4304.7")
    assert Decimal(position.unrealized_pl or "1") == 0
    assert Decimal(str(account.cash)) == Decimal("95695.3")
    assert Decimal(str(account.equity)) == Decimal(100000)


def test_short_sale_then_short_position_with_negative_qty(trading: TradingClient) -> None:
    submitted(trading, market("MSFT", 100, OrderSide.SELL))

    position = typed(Position, trading.get_open_position("MSFT"))

    assert position.side == "short"
    assert Decimal(position.qty) == -100
    assert Decimal(position.market_value or "0") == Decimal("-2795")


def test_close_position_then_market_order_flattens_it(trading: TradingClient) -> None:
    submitted(trading, market("AAPL", 10))

    closing = typed(Order, trading.close_position("AAPL"))

    assert closing.side == OrderSide.SELL
    assert closing.status == OrderStatus.FILLED
    assert float(closing.filled_qty or 0) == 10
    assert trading.get_all_positions() == []
    with pytest.raises(APIError) as excinfo:
        trading.get_open_position("AAPL")
    assert rejection(excinfo) == (404, 40410000, "position does not exist")


def test_close_part_of_position_then_rest_stays(trading: TradingClient) -> None:
    submitted(trading, market("AAPL", 10))

    trading.close_position("AAPL", ClosePositionRequest(percentage="40"))

    position = typed(Position, trading.get_open_position("AAPL"))
    assert Decimal(position.qty) == 6


def test_close_position_held_by_bracket_exits_then_403_until_exits_canceled(trading: TradingClient) -> None:
    submitted(trading, bracket("held-1"))

    with pytest.raises(APIError) as excinfo:
        trading.close_position("AAPL")
    status, code, message = rejection(excinfo)
    assert (status, code) == (403, 40310000)
    assert message == "insufficient qty available for order (requested: 10, available: 0)"

    trading.cancel_orders()
    closing = typed(Order, trading.close_position("AAPL"))
    assert closing.status == OrderStatus.FILLED


def test_buy_while_take_profit_works_then_403_wash_trade(trading: TradingClient) -> None:
    submitted(trading, bracket("wash-1"))
    again = market("AAPL", 1)

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(again)

    assert rejection(excinfo) == (403, 40310000, "potential wash trade detected. use complex orders")


def test_sell_more_than_long_position_then_403_insufficient_qty(trading: TradingClient) -> None:
    submitted(trading, market("AAPL", 10))

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(market("AAPL", 15, OrderSide.SELL))

    assert rejection(excinfo) == (
        403,
        40310000,
        "insufficient qty available for order (requested: 15, available: 10)",
    )


def test_cancel_filled_order_then_422_already_filled(trading: TradingClient) -> None:
    placed = submitted(trading, market("AAPL", 1))

    with pytest.raises(APIError) as excinfo:
        trading.cancel_order_by_id(placed.id)

    assert rejection(excinfo) == (422, 42210000, 'order is already in "filled" state')


def test_order_larger_than_buying_power_then_403(trading: TradingClient) -> None:
    request = market("AAPL", 500)

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(request)

    assert rejection(excinfo) == (403, 40310000, "insufficient buying power")


# --- price moves ---------------------------------------------------------------------------------------


def test_price_set_through_stop_then_stop_leg_fills_and_take_profit_canceled(
    trading: TradingClient, admin: httpx.Client
) -> None:
    placed = submitted(trading, bracket("stop-out"))

    admin.post("/_paper/prices", json={"AAPL": "419.00"}).raise_for_status()

    after = typed(Order, trading.get_order_by_id(placed.id))
    legs = legs_by_type(after)
    assert legs["stop"].status == OrderStatus.FILLED
    assert float(legs["stop"].filled_avg_price or 0) == 419.0
    assert legs["limit"].status == OrderStatus.CANCELED
    assert trading.get_all_positions() == []
    account = typed(TradeAccount, trading.get_account())
    assert Decimal(str(account.cash)) == Decimal(100000) - Decimal("4304.7") + Decimal("4190")


def test_real_bar_gaps_below_stop_then_stop_fills_at_the_open(
    trading: TradingClient, admin: httpx.Client
) -> None:
    # AAPL closed at 514.005 on 2013-01-23 and opened at 460.00 the next day (earnings).
    admin.post("/_paper/reset", json={"cursor": "2013-01-23"}).raise_for_status()
    placed = submitted(trading, bracket("gap", take_profit=530.0, stop_loss=500.0))
    assert float(placed.filled_avg_price or 0) == 514.005

    moved = admin.post("/_paper/advance", json={"days": 1}).json()

    assert moved["cursor"] == "2013-01-24"
    legs = legs_by_type(typed(Order, trading.get_order_by_id(placed.id)))
    assert legs["stop"].status == OrderStatus.FILLED
    assert float(legs["stop"].filled_avg_price or 0) == 460.0
    assert legs["limit"].status == OrderStatus.CANCELED


def test_real_bar_high_reaches_take_profit_then_it_fills_at_its_limit(
    trading: TradingClient, admin: httpx.Client
) -> None:
    # 2013-01-15 close 485.92; 2013-01-16 opened 494.64 and traded up to 509.44.
    admin.post("/_paper/reset", json={"cursor": "2013-01-15"}).raise_for_status()
    placed = submitted(trading, bracket("tp", take_profit=505.0, stop_loss=470.0))

    admin.post("/_paper/advance", json={"days": 1}).raise_for_status()

    legs = legs_by_type(typed(Order, trading.get_order_by_id(placed.id)))
    assert legs["limit"].status == OrderStatus.FILLED
    assert float(legs["limit"].filled_avg_price or 0) == 505.0
    assert legs["stop"].status == OrderStatus.CANCELED


def test_day_limit_order_unfilled_at_close_then_expires_on_advance(
    trading: TradingClient, admin: httpx.Client
) -> None:
    admin.post("/_paper/reset", json={"cursor": "2013-02-27"}).raise_for_status()
    placed = submitted(
        trading,
        LimitOrderRequest(
            symbol="IBM", qty=1, side=OrderSide.BUY, limit_price=100.0, time_in_force=TimeInForce.DAY
        ),
    )

    admin.post("/_paper/advance", json={"days": 1}).raise_for_status()

    after = typed(Order, trading.get_order_by_id(placed.id))
    assert after.status == OrderStatus.EXPIRED
    assert after.expired_at is not None


def test_advance_past_end_of_data_then_409_and_cursor_unchanged(admin: httpx.Client) -> None:
    response = admin.post("/_paper/advance", json={"days": 1})

    assert response.status_code == 409
    assert admin.get("/_paper/state").json()["cursor"] == "2013-03-01"


def test_market_order_while_closed_then_accepted_and_filled_at_next_open() -> None:
    saturday = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    engine = PaperBroker(
        PriceFeed(cursor=date(2013, 2, 27)), clock=MarketClock(always_open=False, now=lambda: saturday)
    )

    placed = engine.submit_order(
        {"symbol": "AAPL", "qty": "3", "side": "buy", "type": "market", "time_in_force": "day"}
    )
    engine.advance(1)

    assert placed["status"] == "accepted"
    filled = engine.get_order(placed["id"])
    assert filled["status"] == "filled"
    assert filled["filled_avg_price"] == "444.05"  # AAPL's open on 2013-02-28


# --- activities, market data ---------------------------------------------------------------------------


def test_fills_then_one_fill_activity_per_execution_with_unique_ids(trading: TradingClient) -> None:
    submitted(trading, market("AAPL", 2))
    submitted(trading, market("IBM", 3))

    # TradingClient has no activities method; its generic GET is what a caller would use.
    raw = typed(list, trading.get("/account/activities/FILL"))
    activities = [TradeActivity(**item) for item in raw]

    assert [a.symbol for a in activities] == ["IBM", "AAPL"]  # newest first
    assert len({a.id for a in activities}) == 2
    assert all("::" in a.id for a in activities)
    assert activities[0].qty == 3
    assert activities[0].price == 202.91
    assert activities[0].order_status == OrderStatus.FILLED


def test_stock_bars_request_then_real_aapl_daily_bars(market_data: StockHistoricalDataClient) -> None:
    request = StockBarsRequest(
        symbol_or_symbols=["AAPL"],
        timeframe=TimeFrame.Day,
        start=datetime(2013, 2, 25, tzinfo=UTC),
        end=datetime(2013, 3, 1, 23, 59, tzinfo=UTC),
    )

    bars = market_data.get_stock_bars(request)

    aapl = typed(BarSet, bars).data["AAPL"]
    assert [b.close for b in aapl] == [442.8, 448.97, 444.57, 441.4, 430.47]
    assert aapl[-1].timestamp == datetime(2013, 3, 1, 5, 0, tzinfo=UTC)
    assert aapl[-1].volume == 19730300
    assert aapl[0].trade_count is None


def test_stock_bars_paged_then_next_page_token_continues_across_symbols(
    running_broker: PaperBrokerServer,
) -> None:
    params = {"symbols": "MSFT,AAPL", "timeframe": "1Day", "start": "2013-02-27", "limit": "3"}

    first = httpx.get(f"{running_broker.url}/v2/stocks/bars", params=params, headers=HEADERS).json()
    second = httpx.get(
        f"{running_broker.url}/v2/stocks/bars",
        params={**params, "page_token": first["next_page_token"]},
        headers=HEADERS,
    ).json()

    assert {s: len(b) for s, b in first["bars"].items()} == {"AAPL": 3}
    assert {s: len(b) for s, b in second["bars"].items()} == {"MSFT": 3}
    assert second["next_page_token"] is None


# --- injected faults -----------------------------------------------------------------------------------


def test_server_error_after_accept_then_500_but_order_exists(
    trading: TradingClient, admin: httpx.Client
) -> None:
    admin.post("/_paper/faults", json={"server_error_after_accept": 1.0}).raise_for_status()

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(bracket("fault-after"))
    admin.post("/_paper/faults", json={}).raise_for_status()

    assert excinfo.value.status_code == 500
    found = typed(Order, trading.get_order_by_client_id("fault-after"))
    assert found.status == OrderStatus.FILLED


def test_rate_limited_submit_then_429_with_rate_limit_headers(
    running_broker: PaperBrokerServer, admin: httpx.Client
) -> None:
    admin.post("/_paper/faults", json={"rate_limited": 1.0}).raise_for_status()
    body = {"symbol": "AAPL", "qty": "1", "side": "buy", "type": "market", "time_in_force": "day"}

    response = admin.post("/v2/orders", json=body, headers=HEADERS)

    assert response.status_code == 429
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) > 0
    assert admin.get("/_paper/state").json()["orders"] == []


def test_timeout_before_accept_then_caller_times_out_and_no_order_exists(admin: httpx.Client) -> None:
    admin.post("/_paper/faults", json={"timeout_before_accept": 1.0, "delay_s": 0.4}).raise_for_status()
    body = {
        "symbol": "AAPL",
        "qty": "1",
        "side": "buy",
        "type": "market",
        "time_in_force": "day",
        "client_order_id": "slow-1",
    }

    with pytest.raises(httpx.ReadTimeout):
        admin.post("/v2/orders", content=json.dumps(body), headers=HEADERS, timeout=0.1)

    lookup = admin.get("/v2/orders:by_client_order_id", params={"client_order_id": "slow-1"}, headers=HEADERS)
    assert lookup.status_code == 404

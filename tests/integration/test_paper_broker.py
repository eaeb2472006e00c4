"""The paper broker through the real alpaca-py clients, over HTTP on a free port: the basics.

One server per module, Alpaca-like (orders fill tens of milliseconds after their answer), on a clock the
tests move (`settle`). Every test starts from `POST /_paper/reset` (cash 100000, cursor 2013-03-01, where
AAPL closed at 430.47 and quotes 430.42 / 430.52 with the 2 bp spread). Prices and market days move
through the `/_paper/` admin routes, as the local stack does.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.models import BarSet
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.models import Asset, Calendar, Clock, Order, Position, TradeAccount, TradeActivity
from alpaca.trading.requests import (
    ClosePositionRequest,
    GetCalendarRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    StopLossRequest,
)

from tests.integration.broker_helpers import (
    bracket,
    by_id,
    legs_by_type,
    market,
    rejection,
    settle,
    submitted,
    trading_client,
    typed,
)
from tests.integration.conftest import BROKER_HEADERS, BROKER_KEY, BROKER_SECRET
from tradepipe.local.paper_broker import ManualClock
from tradepipe.local.paper_broker.server import PaperBrokerServer

AAPL_ASK = Decimal("430.52")  # last 430.47, 2 bp spread, a side at least a cent, rounded out
AAPL_BID = Decimal("430.42")


@pytest.fixture
def trading(running_broker: PaperBrokerServer, admin: httpx.Client) -> TradingClient:
    return trading_client(running_broker.url)


@pytest.fixture
def market_data(running_broker: PaperBrokerServer) -> StockHistoricalDataClient:
    return StockHistoricalDataClient(BROKER_KEY, BROKER_SECRET, url_override=running_broker.url)


# --- account, clock, assets ----------------------------------------------------------------------------


def test_account_read_then_active_usd_account_with_default_cash(trading: TradingClient) -> None:
    account = typed(TradeAccount, trading.get_account())

    assert account.status == "ACTIVE"
    assert account.currency == "USD"
    assert Decimal(str(account.cash)) == Decimal(100000)
    assert Decimal(str(account.equity)) == Decimal(100000)
    assert Decimal(str(account.last_equity)) == Decimal(100000)
    assert Decimal(str(account.buying_power)) == Decimal(200000)  # Reg T multiplier 2
    assert account.daytrade_count == 0


def test_clock_inside_a_session_then_open_with_the_close_at_16_new_york(trading: TradingClient) -> None:
    clock = typed(Clock, trading.get_clock())

    assert clock.is_open is True
    assert clock.next_close == datetime(2026, 12, 2, 21, 0, tzinfo=UTC)
    assert clock.next_open == datetime(2026, 12, 3, 14, 30, tzinfo=UTC)


def test_calendar_of_thanksgiving_week_then_no_thursday_and_an_early_friday(trading: TradingClient) -> None:
    days = trading.get_calendar(GetCalendarRequest(start=date(2026, 11, 23), end=date(2026, 11, 29)))

    assert isinstance(days, list)
    assert [(typed(Calendar, d).date.day, d.close.strftime("%H:%M")) for d in days] == [
        (23, "16:00"),
        (24, "16:00"),
        (25, "16:00"),
        (27, "13:00"),
    ]


def test_asset_lookup_then_flags_from_the_broker_table(trading: TradingClient) -> None:
    flags = {
        s: (a.shortable, a.easy_to_borrow, a.fractionable)
        for s in ("IBM", "MSFT", "AAPL", "GOOG")
        for a in [typed(Asset, trading.get_asset(s))]
    }

    assert flags == {
        "IBM": (True, True, True),
        "MSFT": (False, False, True),  # not shortable
        "AAPL": (True, False, True),  # hard to borrow
        "GOOG": (True, True, False),  # not fractionable
    }
    with pytest.raises(APIError) as excinfo:
        trading.get_asset("NOPE")
    assert excinfo.value.status_code == 404


# --- orders --------------------------------------------------------------------------------------------


def test_bracket_market_entry_then_pending_new_and_filled_at_the_ask_with_two_legs(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    order = submitted(trading, bracket("brk-1"))
    assert order.status == OrderStatus.PENDING_NEW
    settle(broker_clock)

    order = by_id(trading, order.id)
    assert order.status == OrderStatus.FILLED
    assert order.order_class == OrderClass.BRACKET
    assert float(order.filled_qty or 0) == 10
    assert Decimal(str(order.filled_avg_price)) == AAPL_ASK
    legs = legs_by_type(order)
    assert (legs["limit"].side, legs["limit"].status, float(legs["limit"].limit_price or 0)) == (
        OrderSide.SELL,
        OrderStatus.NEW,
        450.0,
    )
    assert (legs["stop"].side, legs["stop"].status, float(legs["stop"].stop_price or 0)) == (
        OrderSide.SELL,
        OrderStatus.HELD,
        420.0,
    )


def test_lookup_by_client_order_id_then_same_order_with_legs(trading: TradingClient) -> None:
    placed = submitted(trading, bracket("brk-lookup"))

    found = typed(Order, trading.get_order_by_client_id("brk-lookup"))

    assert found.id == placed.id
    assert found.legs is not None
    assert len(found.legs) == 2


def test_duplicate_client_order_id_then_422_even_after_cancel(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
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
    settle(broker_clock)

    with pytest.raises(APIError) as excinfo:
        trading.submit_order(bracket("dup-1"))

    assert rejection(excinfo) == (422, 40010001, "client_order_id must be unique")


def test_unknown_order_lookup_then_404(trading: TradingClient) -> None:
    with pytest.raises(APIError) as by_client_id:
        trading.get_order_by_client_id("never-sent")
    with pytest.raises(APIError) as by_order_id:
        trading.get_order_by_id("00000000-0000-4000-8000-000000000000")

    assert rejection(by_client_id) == (404, 40410000, "order not found")
    assert by_order_id.value.status_code == 404


def test_unknown_symbol_then_422_asset_not_found(trading: TradingClient) -> None:
    with pytest.raises(APIError) as excinfo:
        trading.submit_order(market("XYZ", 1))

    assert rejection(excinfo) == (422, 40010001, 'asset "XYZ" not found')


def test_zero_qty_then_422(trading: TradingClient) -> None:
    with pytest.raises(APIError) as excinfo:
        trading.submit_order(market("AAPL", 0))

    assert rejection(excinfo) == (422, 40010001, "qty must be > 0")


def test_sub_penny_stop_then_422(trading: TradingClient) -> None:
    with pytest.raises(APIError) as excinfo:
        trading.submit_order(bracket("sub-penny", stop_loss=420.125))

    status_code, code, message = rejection(excinfo)
    assert (status_code, code) == (422, 42210000)
    assert "sub-penny" in message


def test_oto_with_stop_only_then_single_working_stop_leg(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    request = MarketOrderRequest(
        symbol="AAPL",
        qty=5,
        side=OrderSide.BUY,
        time_in_force=TimeInForce.GTC,
        order_class=OrderClass.OTO,
        stop_loss=StopLossRequest(stop_price=420.0),
        client_order_id="oto-1",
    )

    placed = submitted(trading, request)
    settle(broker_clock)

    order = by_id(trading, placed.id)
    assert order.status == OrderStatus.FILLED
    assert order.legs is not None
    assert [(leg.type, leg.status) for leg in order.legs] == [("stop", OrderStatus.NEW)]


def test_orders_listed_nested_then_legs_inside_their_entry(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    placed = submitted(trading, bracket("nested-1"))
    settle(broker_clock)

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


# --- positions -----------------------------------------------------------------------------------------


def test_market_buy_filled_then_position_at_the_ask_and_cash_reflect_it(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    submitted(trading, market("AAPL", 10))
    settle(broker_clock)

    position = typed(Position, trading.get_open_position("AAPL"))
    account = typed(TradeAccount, trading.get_account())

    assert position.side == "long"
    assert Decimal(position.qty) == 10
    assert Decimal(position.avg_entry_price) == AAPL_ASK
    assert Decimal(position.cost_basis) == Decimal("4305.2")
    assert Decimal(position.market_value or "0") == Decimal("4304.7")  # marked at the last price
    assert Decimal(position.unrealized_pl or "0") == Decimal("-0.5")  # the half spread paid
    assert Decimal(str(account.cash)) == Decimal("95694.8")


def test_short_sale_then_short_position_with_negative_qty(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    submitted(trading, market("FB", 100, OrderSide.SELL))
    settle(broker_clock)

    position = typed(Position, trading.get_open_position("FB"))

    assert position.side == "short"
    assert Decimal(position.qty) == -100
    assert Decimal(position.avg_entry_price) == Decimal("27.77")  # the bid
    assert Decimal(position.market_value or "0") == Decimal("-2778")


def test_close_position_then_market_order_flattens_it(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    submitted(trading, market("AAPL", 10))
    settle(broker_clock)

    closing = typed(Order, trading.close_position("AAPL"))
    assert closing.status == OrderStatus.PENDING_NEW
    settle(broker_clock)

    assert by_id(trading, closing.id).status == OrderStatus.FILLED
    assert trading.get_all_positions() == []
    with pytest.raises(APIError) as excinfo:
        trading.get_open_position("AAPL")
    assert rejection(excinfo) == (404, 40410000, "position does not exist")


def test_close_part_of_position_then_rest_stays(trading: TradingClient, broker_clock: ManualClock) -> None:
    submitted(trading, market("AAPL", 10))
    settle(broker_clock)

    trading.close_position("AAPL", ClosePositionRequest(percentage="40"))
    settle(broker_clock)

    position = typed(Position, trading.get_open_position("AAPL"))
    assert Decimal(position.qty) == 6


def test_order_larger_than_buying_power_then_403(trading: TradingClient) -> None:
    with pytest.raises(APIError) as excinfo:
        trading.submit_order(market("AAPL", 500))

    assert rejection(excinfo) == (403, 40310000, "insufficient buying power")


# --- price moves ---------------------------------------------------------------------------------------


def test_price_set_through_stop_then_stop_leg_fills_at_the_bid_and_take_profit_canceled(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    placed = submitted(trading, bracket("stop-out"))
    settle(broker_clock)

    admin.post("/_paper/prices", json={"AAPL": "419.00"}).raise_for_status()

    legs = legs_by_type(by_id(trading, placed.id))
    assert legs["stop"].status == OrderStatus.FILLED
    assert Decimal(str(legs["stop"].filled_avg_price)) == Decimal("418.95")  # bid at 419.00
    assert legs["limit"].status == OrderStatus.CANCELED
    assert trading.get_all_positions() == []
    account = typed(TradeAccount, trading.get_account())
    assert Decimal(str(account.cash)) == Decimal(100000) - Decimal("4305.2") + Decimal("4189.5")


def test_real_bar_gaps_below_stop_then_stop_fills_at_the_open(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    # AAPL closed at 514.005 on 2013-01-23 and opened at 460.00 the next day (earnings).
    admin.post("/_paper/reset", json={"cursor": "2013-01-23"}).raise_for_status()
    placed = submitted(trading, bracket("gap", take_profit=530.0, stop_loss=500.0))
    settle(broker_clock)

    moved = admin.post("/_paper/advance", json={"days": 1}).json()

    assert moved["cursor"] == "2013-01-24"
    legs = legs_by_type(by_id(trading, placed.id))
    assert legs["stop"].status == OrderStatus.FILLED
    assert Decimal(str(legs["stop"].filled_avg_price)) == Decimal("459.95")  # the open's bid
    assert legs["limit"].status == OrderStatus.CANCELED


def test_real_bar_high_reaches_take_profit_then_it_fills_at_its_limit(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    # 2013-01-15 close 485.92; 2013-01-16 opened 494.64 and traded up to 509.44.
    admin.post("/_paper/reset", json={"cursor": "2013-01-15"}).raise_for_status()
    placed = submitted(trading, bracket("tp", take_profit=505.0, stop_loss=470.0))
    settle(broker_clock)

    admin.post("/_paper/advance", json={"days": 1}).raise_for_status()

    legs = legs_by_type(by_id(trading, placed.id))
    assert legs["limit"].status == OrderStatus.FILLED
    assert float(legs["limit"].filled_avg_price or 0) == 505.0
    assert legs["stop"].status == OrderStatus.CANCELED


def test_day_limit_order_unfilled_at_close_then_expires_on_advance(
    trading: TradingClient, admin: httpx.Client, broker_clock: ManualClock
) -> None:
    admin.post("/_paper/reset", json={"cursor": "2013-02-27"}).raise_for_status()
    placed = submitted(
        trading,
        LimitOrderRequest(
            symbol="IBM", qty=1, side=OrderSide.BUY, limit_price=100.0, time_in_force=TimeInForce.DAY
        ),
    )
    settle(broker_clock)

    admin.post("/_paper/advance", json={"days": 1}).raise_for_status()

    after = by_id(trading, placed.id)
    assert after.status == OrderStatus.EXPIRED
    assert after.expired_at is not None


def test_advance_past_end_of_data_then_409_and_cursor_unchanged(admin: httpx.Client) -> None:
    response = admin.post("/_paper/advance", json={"days": 1})

    assert response.status_code == 409
    assert admin.get("/_paper/state").json()["cursor"] == "2013-03-01"


# --- activities, market data ---------------------------------------------------------------------------


def test_fills_then_one_fill_activity_per_execution_with_unique_ids(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    submitted(trading, market("AAPL", 2))
    submitted(trading, market("IBM", 3))
    settle(broker_clock)

    # TradingClient has no activities method; its generic GET is what a caller would use.
    raw = typed(list, trading.get("/account/activities/FILL"))
    activities = [TradeActivity(**item) for item in raw]

    assert [a.symbol for a in activities] == ["IBM", "AAPL"]  # newest first
    assert len({a.id for a in activities}) == 2
    assert all("::" in a.id for a in activities)
    assert activities[0].qty == 3
    assert activities[0].price == 202.94  # IBM's ask at 202.91
    assert activities[0].order_status == OrderStatus.FILLED


def test_fill_activities_page_token_is_a_position_in_id_order_as_alpaca_pages_them(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    # Alpaca, account activities: "page_token represents the ID of the end of your current page"; with
    # direction asc "results will begin with the activity immediately after the one specified", with desc
    # they "end before" it; page_size at most 100.
    for symbol in ("AAPL", "IBM", "MSFT"):
        submitted(trading, market(symbol, 1))
    settle(broker_clock)  # the three fill at one instant: their ids still sort in fill order
    every = typed(list, trading.get("/account/activities/FILL", {"direction": "asc"}))
    first, second, third = (a["id"] for a in every)

    def page(**params: str) -> list[str]:
        return [a["symbol"] for a in typed(list, trading.get("/account/activities/FILL", params))]

    assert [a["symbol"] for a in every] == ["AAPL", "IBM", "MSFT"]
    assert page(direction="asc", page_token=first) == ["IBM", "MSFT"]
    assert page(direction="asc", page_token=first, page_size="1") == ["IBM"]
    assert page(direction="desc", page_token=third) == ["IBM", "AAPL"]
    # A token that is no activity's id (none the filters select) is still a position.
    assert page(direction="asc", page_token=f"{first.split('::')[0]}::0") == ["AAPL", "IBM", "MSFT"]
    assert page(direction="desc", page_token=f"{second}~") == ["IBM", "AAPL"]


def test_all_activities_then_the_fills_and_other_types_empty(
    trading: TradingClient, broker_clock: ManualClock
) -> None:
    submitted(trading, market("IBM", 3))
    settle(broker_clock)

    everything = typed(list, trading.get("/account/activities"))
    dividends = typed(list, trading.get("/account/activities", {"activity_types": "DIV"}))

    assert [(a["activity_type"], a["symbol"], a["qty"]) for a in everything] == [("FILL", "IBM", "3")]
    assert dividends == []


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
    running_broker: PaperBrokerServer, admin: httpx.Client
) -> None:
    params = {"symbols": "MSFT,AAPL", "timeframe": "1Day", "start": "2013-02-27", "limit": "3"}

    first = httpx.get(f"{running_broker.url}/v2/stocks/bars", params=params, headers=BROKER_HEADERS).json()
    second = httpx.get(
        f"{running_broker.url}/v2/stocks/bars",
        params={**params, "page_token": first["next_page_token"]},
        headers=BROKER_HEADERS,
    ).json()

    assert {s: len(b) for s, b in first["bars"].items()} == {"AAPL": 3}
    assert {s: len(b) for s, b in second["bars"].items()} == {"MSFT": 3}
    assert second["next_page_token"] is None


def test_quote_then_bid_and_ask_around_the_last_price(admin: httpx.Client) -> None:
    quote = admin.get("/_paper/quotes/AAPL").json()

    assert (quote["bid"], quote["ask"], quote["last"]) == (str(AAPL_BID), str(AAPL_ASK), "430.47")

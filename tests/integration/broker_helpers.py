"""Shared by the paper broker tests: typed alpaca-py calls, order builders, moving the broker clock."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, TimeInForce
from alpaca.trading.models import Order
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    StopLossRequest,
    TakeProfitRequest,
)

from tests.integration.conftest import BROKER_KEY, BROKER_SECRET
from tradepipe.adapters.http import TimeoutSession
from tradepipe.local.paper_broker import BrokerBehaviour, ManualClock

T = TypeVar("T")
# Longer than every delay of the Alpaca behaviour (acknowledge, fill, cancel, replace): after it, what the
# broker was doing is done.
SETTLE_S = 0.2
ALPACA = BrokerBehaviour.alpaca()


def trading_client(url: str, timeout_s: float = 5.0) -> TradingClient:
    """alpaca-py as the Alpaca adapter builds it: its own 429/504 retries off (they sleep 3 s), a timeout."""
    client = TradingClient(BROKER_KEY, BROKER_SECRET, paper=True, url_override=url)
    client._retry = 0
    client._session = TimeoutSession(timeout_s)
    return client


def settle(clock: ManualClock, seconds: float = SETTLE_S) -> None:
    """Let the broker's own clock run past its lifecycle delays (the next request applies what fell due)."""
    clock.advance(seconds)


def typed(kind: type[T], value: object) -> T:
    """alpaca-py returns `Model | dict` (a dict only with raw_data=True): narrow it for the type checker."""
    assert isinstance(value, kind)
    return value


def submitted(client: TradingClient, request: Any) -> Order:
    return typed(Order, client.submit_order(request))


def by_id(client: TradingClient, order_id: Any) -> Order:
    return typed(Order, client.get_order_by_id(order_id))


def market(
    symbol: str, qty: float, side: OrderSide = OrderSide.BUY, coid: str | None = None
) -> MarketOrderRequest:
    return MarketOrderRequest(
        symbol=symbol, qty=qty, side=side, time_in_force=TimeInForce.DAY, client_order_id=coid
    )


def limit(
    symbol: str, qty: float, price: float, side: OrderSide = OrderSide.BUY, tif: TimeInForce = TimeInForce.GTC
) -> LimitOrderRequest:
    return LimitOrderRequest(symbol=symbol, qty=qty, side=side, limit_price=price, time_in_force=tif)


def bracket(
    client_order_id: str | None = None,
    qty: float = 10,
    take_profit: float = 450.0,
    stop_loss: float = 420.0,
    symbol: str = "AAPL",
    side: OrderSide = OrderSide.BUY,
) -> MarketOrderRequest:
    return MarketOrderRequest(
        symbol=symbol,
        qty=qty,
        side=side,
        time_in_force=TimeInForce.GTC,
        order_class=OrderClass.BRACKET,
        take_profit=TakeProfitRequest(limit_price=take_profit),
        stop_loss=StopLossRequest(stop_price=stop_loss),
        client_order_id=client_order_id,
    )


def legs_by_type(order: Order) -> dict[str, Order]:
    assert order.legs is not None
    return {str(leg.type.value if leg.type else ""): leg for leg in order.legs}


def rejection(excinfo: pytest.ExceptionInfo[APIError]) -> tuple[int | None, int, str]:
    return excinfo.value.status_code, excinfo.value.code, excinfo.value.message


def status(order: Order) -> str:
    return str(order.status.value if order.status is not None else "")

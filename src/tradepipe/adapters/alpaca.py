"""Alpaca through the real alpaca-py TradingClient.

Every call maps Alpaca's transient answers the same way: a 429 is BrokerRateLimited with the wait Alpaca's
`Retry-After` / `X-RateLimit-Reset` headers ask for (Trading API reference, Rate Limit: 200 requests a minute
per key), a timeout, a dropped connection, a 408 or a 5xx is BrokerUnavailable. Whether to retry is the
caller's (`app/patient_broker.py` for reads and cancels, `app/placement.py` for submits).

The client runs in alpaca-py's `raw_data` mode: it sends every request as usual (its request models, its
errors) and hands back the API's JSON instead of building its pydantic models from it, which cost as much CPU
as the rest of a call outside the HTTP exchange (`Order` with its legs, and for lists a `TypeAdapter` built
anew on every call). Orders and positions, read on every entry, are mapped here from the JSON, reading the
fields exactly as alpaca-py's models do (`_to_broker_order`, `holdings`); the rarer account, clock and
asset answers go through alpaca-py's own models, built from the JSON as alpaca-py would."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import (
    OrderClass,
    OrderSide,
    OrderStatus,
    PositionSide,
    QueryOrderStatus,
    TimeInForce,
)
from alpaca.trading.enums import OrderType as AlpacaOrderType
from alpaca.trading.models import Asset, Clock, TradeAccount
from alpaca.trading.requests import (
    GetOrderByIdRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
)

from tradepipe.adapters.alpaca_times import alpaca_time
from tradepipe.adapters.curl_http import maybe_sent_twice
from tradepipe.adapters.http import TimeoutSession
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Mode, OrderType, Side
from tradepipe.ports.broker import (
    AccountView,
    AssetView,
    BrokerOrder,
    BrokerRateLimited,
    BrokerRejected,
    BrokerUnavailable,
    ClockView,
    FillView,
    HoldingView,
)

# 4xx answers a retry cannot change. 408 and 429 are transient; 404 on lookup means "not there".
_FINAL_STATUSES = frozenset(range(400, 500)) - {408, 429}
_ASSET_CACHE_S = 3600
_ORDERS_PAGE = 500
_FILLS_PAGE = 100
T = TypeVar("T")
M = TypeVar("M", Asset, Clock, TradeAccount)
# The values alpaca-py's enums accept: its models refuse any other (an unknown status is not an order we can
# classify as working or terminal; a position side other than long/short has no sign).
_ORDER_STATUSES = frozenset(s.value for s in OrderStatus)
_ORDER_SIDES = frozenset(s.value for s in OrderSide)
_ORDER_TYPES = frozenset(t.value for t in AlpacaOrderType)
_POSITION_SIDES = frozenset(s.value for s in PositionSide)


def _error_parts(exc: APIError) -> tuple[str, str]:
    try:
        body = json.loads(str(exc))
        return str(body.get("code", "unknown")), str(body.get("message", ""))
    except (ValueError, AttributeError):
        return "unknown", str(exc)[:200]


def _time(value: object) -> datetime | None:
    """A time of Alpaca's answer, parsed as alpaca-py's models parse it (pydantic's datetime)."""
    return None if value is None else alpaca_time(value)


def _amount(value: object) -> str:
    """A `str | float` field of alpaca-py's Order as text: Alpaca sends strings; a JSON number is a float
    there (lax validation), so it is one here too."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(float(value))
    return str(value)


def _price(value: object) -> Decimal | None:
    return None if value is None else Decimal(_amount(value))


def _quantity(value: object) -> Decimal:
    return Decimal(_amount(value)) if value else Decimal(0)  # null, "" or 0: none


def _one_of(value: object, known: frozenset[str], field: str, *, optional: bool = False) -> str:
    """An enum field as alpaca-py's model reads it: one of its values (optional ones: null or `""` is "")."""
    if optional and (value is None or value == ""):
        return ""
    if not isinstance(value, str) or value not in known:
        raise TypeError(f"{field} {value!r}")
    return value


def _text(value: object, field: str) -> str:
    """A required `str` field of alpaca-py's Position: a JSON string, never null or a number."""
    if not isinstance(value, str):
        raise TypeError(f"{field} {value!r}")
    return value


def _json_object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"unexpected alpaca-py result {type(value).__name__}")
    return value


def _to_broker_order(order: dict[str, Any], parent: str | None = None) -> BrokerOrder:
    """One order of Alpaca's JSON (alpaca-py's raw answer), each field read as alpaca-py's `Order` reads it:
    `id`, `client_order_id`, `status` and `submitted_at` required; `""` for an absent symbol, side or type."""
    try:
        coid = order["client_order_id"]
        if not isinstance(coid, str):
            raise TypeError(f"client_order_id {coid!r}")
        submitted_at = _time(order["submitted_at"])
        if submitted_at is None:
            raise TypeError("submitted_at is null")
        return BrokerOrder(
            broker_order_id=str(UUID(str(order["id"]))),
            client_order_id=coid,
            status=_one_of(order["status"], _ORDER_STATUSES, "status"),
            qty=_quantity(order.get("qty")),
            filled_qty=_quantity(order.get("filled_qty")),
            filled_avg_price=_price(order.get("filled_avg_price")),
            submitted_at=submitted_at,
            filled_at=_time(order.get("filled_at")),
            symbol=str(order.get("symbol") or ""),
            side=_one_of(order.get("side"), _ORDER_SIDES, "side", optional=True),
            order_type=_one_of(order.get("order_type"), _ORDER_TYPES, "order_type", optional=True),
            parent_client_order_id=parent,
            stop_price=_price(order.get("stop_price")),
            limit_price=_price(order.get("limit_price")),
            legs=tuple(_to_broker_order(_json_object(leg), parent=coid) for leg in order.get("legs") or []),
            updated_at=_time(order.get("updated_at")),
        )
    except (KeyError, ValueError, ArithmeticError) as exc:
        raise TypeError(f"malformed order in Alpaca's answer: {type(exc).__name__} {exc}") from exc


def _with_legs(order: BrokerOrder) -> list[BrokerOrder]:
    return [order, *order.legs]


def _json_list(value: object) -> list[dict[str, Any]]:
    """A list of objects (alpaca-py's raw answer); anything else is not Alpaca's answer."""
    if not isinstance(value, list):
        raise TypeError(f"unexpected alpaca-py result {type(value).__name__}")
    return [_json_object(o) for o in value]


def _retry_after(exc: APIError) -> float:
    """Seconds until Alpaca's rate-limit window resets: Retry-After, else X-RateLimit-Reset (epoch s)."""
    headers = exc.response.headers if exc.response is not None else {}
    try:
        if "Retry-After" in headers:
            return max(0.0, float(headers["Retry-After"]))
        if "X-RateLimit-Reset" in headers:
            return max(0.0, float(headers["X-RateLimit-Reset"]) - time.time())
    except ValueError:
        pass
    return 1.0


def _dec(value: object) -> Decimal:
    return Decimal(str(value if value is not None else 0))


def _model(kind: type[M], value: object) -> M:
    """One of alpaca-py's models, built from its raw answer as alpaca-py builds it (`Model(**response)`)."""
    if not isinstance(value, dict):
        raise TypeError(f"unexpected alpaca-py result {type(value).__name__}")
    return kind(**value)


class AlpacaBroker:
    def __init__(
        self,
        mode: Mode,
        api_key: str,
        secret_key: str,
        url_override: str | None = None,
        timeout_s: float = 5.0,
        before_request: Callable[[], None] | None = None,
    ) -> None:
        self.mode = mode
        self._client = TradingClient(
            api_key, secret_key, paper=mode is Mode.PAPER, url_override=url_override, raw_data=True
        )
        # Retries belong to the queue and the executor's lookup-before-resubmit, not to a blind loop
        # inside the client that sleeps 3 s per try.
        self._client._retry = 0
        # `before_request`: the account's request budget, taken before every request (composition wires it).
        self._client._session = TimeoutSession(timeout_s, before_request)
        # Asset flags (tradable, fractionable, shortable) change rarely: one lookup per symbol an hour.
        self._assets: dict[str, tuple[float, AssetView]] = {}

    def _call(self, call: Callable[[], T], what: str) -> T:
        """One request: transient answers become BrokerRateLimited or BrokerUnavailable; others raise."""
        try:
            return call()
        except requests.RequestException as exc:
            raise BrokerUnavailable(f"{type(exc).__name__} {what}") from exc
        except APIError as exc:
            if exc.status_code == 429:
                raise BrokerRateLimited(_retry_after(exc)) from exc
            if exc.status_code not in _FINAL_STATUSES:
                raise BrokerUnavailable(f"alpaca {exc.status_code} {what}") from exc
            raise

    def find_order(self, client_order_id: str) -> BrokerOrder | None:
        try:
            order = self._call(
                lambda: self._client.get_order_by_client_id(client_order_id), f"looking up {client_order_id}"
            )
        except APIError as exc:
            if exc.status_code == 404:
                return None
            raise
        return _to_broker_order(_json_object(order))

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        exits = (intent.take_profit is not None) + (intent.stop_loss is not None)
        common: dict[str, Any] = {
            "symbol": intent.symbol,
            "qty": float(intent.qty or 0),
            "side": OrderSide.BUY if intent.side is Side.BUY else OrderSide.SELL,
            # GTC so the exit legs outlive the session the entry filled in; fractional orders must be DAY.
            "time_in_force": TimeInForce.GTC if intent.time_in_force == "gtc" else TimeInForce.DAY,
            "order_class": OrderClass.BRACKET
            if exits == 2
            else OrderClass.OTO
            if exits == 1
            else OrderClass.SIMPLE,
            "take_profit": None
            if intent.take_profit is None
            else TakeProfitRequest(limit_price=float(intent.take_profit)),
            "stop_loss": None
            if intent.stop_loss is None
            else StopLossRequest(
                stop_price=float(intent.stop_loss),
                # A stop-limit leg: alpaca-py's StopLossRequest takes limit_price (Alpaca's bracket
                # stop_loss.limit_price); None leaves a stop market leg.
                limit_price=None if intent.stop_limit_price is None else float(intent.stop_limit_price),
            ),
            "client_order_id": intent.client_order_id,
        }
        request: MarketOrderRequest | LimitOrderRequest
        if intent.order_type is OrderType.LIMIT:
            request = LimitOrderRequest(limit_price=float(intent.limit_price or 0), **common)
        else:
            request = MarketOrderRequest(**common)
        return self._place(request, intent.client_order_id)

    def submit_close(self, symbol: str, position_qty: Decimal, client_order_id: str) -> BrokerOrder:
        request = MarketOrderRequest(
            symbol=symbol,
            qty=float(abs(position_qty)),
            side=OrderSide.SELL if position_qty > 0 else OrderSide.BUY,
            time_in_force=TimeInForce.DAY,
            client_order_id=client_order_id,
        )
        return self._place(request, client_order_id)

    def submit_stop(
        self, symbol: str, qty: Decimal, side: str, stop_price: Decimal, client_order_id: str
    ) -> BrokerOrder:
        # GTC: protection must outlive the session (a DAY stop would expire at the close).
        request = StopOrderRequest(
            symbol=symbol,
            qty=float(qty),
            side=OrderSide.SELL if side == "sell" else OrderSide.BUY,
            stop_price=float(stop_price),
            time_in_force=TimeInForce.GTC,
            client_order_id=client_order_id,
        )
        return self._place(request, client_order_id)

    def submit_oco(
        self,
        symbol: str,
        qty: Decimal,
        side: str,
        take_profit: Decimal,
        stop_price: Decimal,
        client_order_id: str,
    ) -> BrokerOrder:
        # alpaca-py 0.44 sends an OCO as a limit order whose limit is take_profit.limit_price (its
        # LimitOrderRequest lets limit_price out for order_class=oco); Alpaca answers the take-profit with
        # the stop as its leg.
        request = LimitOrderRequest(
            symbol=symbol,
            qty=float(qty),
            side=OrderSide.SELL if side == "sell" else OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            order_class=OrderClass.OCO,
            take_profit=TakeProfitRequest(limit_price=float(take_profit)),
            stop_loss=StopLossRequest(stop_price=float(stop_price)),
            client_order_id=client_order_id,
        )
        return self._place(request, client_order_id)

    def open_orders(self, symbol: str | None = None) -> list[BrokerOrder]:
        request = GetOrdersRequest(
            status=QueryOrderStatus.OPEN, symbols=None if symbol is None else [symbol], nested=True, limit=500
        )
        orders = self._call(lambda: self._client.get_orders(request), f"listing open orders of {symbol}")
        return [b for o in _json_list(orders) for b in _with_legs(_to_broker_order(o))]

    def recent_orders(self, symbol: str, limit: int) -> list[BrokerOrder]:
        request = GetOrdersRequest(
            status=QueryOrderStatus.ALL, symbols=[symbol], nested=False, limit=limit, direction="desc"
        )
        orders = self._call(lambda: self._client.get_orders(request), f"listing orders of {symbol}")
        return [_to_broker_order(o) for o in _json_list(orders)]

    def working_orders(self) -> list[BrokerOrder]:
        request = GetOrdersRequest(status=QueryOrderStatus.OPEN, nested=False, limit=_ORDERS_PAGE)
        orders = self._call(lambda: self._client.get_orders(request), "listing open orders")
        return [_to_broker_order(o) for o in _json_list(orders)]

    def order_family(self, broker_order_id: str) -> list[BrokerOrder]:
        request = GetOrderByIdRequest(nested=True)
        try:
            order = self._call(
                lambda: self._client.get_order_by_id(broker_order_id, request), f"reading {broker_order_id}"
            )
        except APIError as exc:
            if exc.status_code == 404:
                return []
            raise
        return _with_legs(_to_broker_order(_json_object(order)))

    def cancel_order(self, broker_order_id: str) -> None:
        try:
            self._call(
                lambda: self._client.cancel_order_by_id(broker_order_id), f"cancelling {broker_order_id}"
            )
        except APIError as exc:
            # 404: gone; 422: already done ("order is already in \"filled\" state"): nothing left to cancel.
            if exc.status_code not in (404, 422):
                raise

    def account(self) -> AccountView:
        account = _model(TradeAccount, self._call(self._client.get_account, "reading the account"))
        return AccountView(
            equity=_dec(account.equity),
            last_equity=_dec(account.last_equity),
            buying_power=_dec(account.buying_power),
        )

    def holdings(self) -> dict[str, HoldingView]:
        held: dict[str, HoldingView] = {}
        for position in _json_list(self._call(self._client.get_all_positions, "reading positions")):
            # As alpaca-py's Position reads it: symbol, side, qty and avg_entry_price required.
            try:
                side = _one_of(position["side"], _POSITION_SIDES, "side")
                sign = Decimal(-1) if side == "short" else Decimal(1)
                current = position.get("current_price")
                held[_text(position["symbol"], "symbol")] = HoldingView(
                    qty=sign * abs(Decimal(_text(position["qty"], "qty"))),
                    market_value=sign * abs(_dec(position.get("market_value"))),
                    avg_entry_price=Decimal(_text(position["avg_entry_price"], "avg_entry_price")),
                    current_price=None if current is None else _dec(current),
                )
            except (KeyError, ValueError, ArithmeticError) as exc:
                raise TypeError(f"malformed position in Alpaca's answer: {type(exc).__name__} {exc}") from exc
        return held

    def clock(self) -> ClockView:
        clock = _model(Clock, self._call(self._client.get_clock, "reading the clock"))
        return ClockView(is_open=bool(clock.is_open), next_open=clock.next_open)

    def asset(self, symbol: str) -> AssetView | None:
        cached = self._assets.get(symbol)
        if cached is not None and time.monotonic() - cached[0] < _ASSET_CACHE_S:
            return cached[1]
        try:
            asset = self._call(lambda: self._client.get_asset(symbol), f"reading asset {symbol}")
        except APIError as exc:
            if exc.status_code in (404, 422):
                return None
            raise
        asset = _model(Asset, asset)
        view = AssetView(
            tradable=bool(asset.tradable),
            fractionable=bool(asset.fractionable),
            shortable=bool(asset.shortable),
        )
        self._assets[symbol] = (time.monotonic(), view)
        return view

    def orders_since(self, after: datetime) -> list[BrokerOrder]:
        # Alpaca returns at most 500 orders a request: page forward by submission time.
        found: dict[str, BrokerOrder] = {}
        cursor = after
        while True:
            request = GetOrdersRequest(
                status=QueryOrderStatus.ALL, after=cursor, limit=_ORDERS_PAGE, nested=True, direction="asc"
            )
            listed = self._call(partial(self._client.get_orders, request), "listing orders")
            page = [_to_broker_order(o) for o in _json_list(listed)]
            for order in page:
                found[order.broker_order_id] = order
                for leg in order.legs:
                    found[leg.broker_order_id] = leg
            last = page[-1].submitted_at if page else None
            if len(page) < _ORDERS_PAGE or last is None or last <= cursor:
                return list(found.values())
            # Orders submitted in the same instant as the last one are fetched again, and deduplicated by id.
            cursor = last - timedelta(microseconds=1)

    def fills_since(self, after: datetime) -> list[FillView]:
        # alpaca-py's TradingClient has no activities call; its generic GET reaches the same endpoint, which
        # answers pages of at most 100 activities, continued by the last activity's id.
        fills: list[FillView] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {
                "after": after.isoformat(),
                "direction": "asc",
                "page_size": _FILLS_PAGE,
            }
            if token:
                params["page_token"] = token
            raw = self._call(partial(self._client.get, "/account/activities/FILL", params), "listing fills")
            page = raw if isinstance(raw, list) else []
            fills.extend(
                FillView(
                    execution_id=str(a["id"]),
                    broker_order_id=str(a["order_id"]),
                    symbol=str(a["symbol"]),
                    side=str(a["side"]),
                    qty=_dec(a["qty"]),
                    price=_dec(a["price"]),
                    at=datetime.fromisoformat(str(a["transaction_time"])),
                )
                for a in page
            )
            if len(page) < _FILLS_PAGE:
                return fills
            token = str(page[-1]["id"])

    def _place(
        self, request: MarketOrderRequest | LimitOrderRequest | StopOrderRequest, client_order_id: str
    ) -> BrokerOrder:
        try:
            order = self._client.submit_order(request)
        except requests.RequestException as exc:
            # A timeout or a dropped connection: the broker may have accepted the order. The caller looks it
            # up by client_order_id before any resubmission.
            raise BrokerUnavailable(f"{type(exc).__name__} placing {client_order_id}") from exc
        except APIError as exc:
            if exc.status_code == 429:
                raise BrokerRateLimited(_retry_after(exc)) from exc
            if exc.status_code not in _FINAL_STATUSES:
                raise BrokerUnavailable(f"alpaca {exc.status_code} placing {client_order_id}") from exc
            code, message = _error_parts(exc)
            duplicate = "client_order_id" in message and "unique" in message
            if not duplicate and not maybe_sent_twice(exc.response):
                raise BrokerRejected(code, message) from None  # sent once, refused: final, nothing to find
            # Refused, yet the order may be at the broker: an earlier attempt whose answer was lost (refused
            # as a duplicate), or a copy libcurl sent again after a dead connection (adapters/curl_http.py),
            # refused as a duplicate or for what the first copy now holds (its shares, its buying power, its
            # legs as a wash trade). Looked up by its id; not found, nothing final is known (the first copy
            # may not be visible yet): retried, and the retry looks it up again before any resubmission.
            try:
                existing = self.find_order(client_order_id)
            except APIError:  # the lookup refused (keys, permissions): still unknown, retried (DLQ-bounded)
                existing = None
            if existing is not None:
                return existing
            raise BrokerUnavailable(f"alpaca {code} placing {client_order_id}: {message}") from None
        return _to_broker_order(_json_object(order))

"""The paper broker over HTTP: the Trading API and market-data routes alpaca-py calls, plus `/_paper/` admin.

Alpaca routes require the `APCA-API-KEY-ID` and `APCA-API-SECRET-KEY` headers (any non-empty pair, or the
exact pair given to `build_app`); their values are never logged or echoed. Admin routes are for tests and
the local stack on the loopback interface and take no credentials.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradepipe.local.paper_broker.engine import BARS_LIMIT_DEFAULT, BarsQuery, OrderQuery, PaperBroker
from tradepipe.local.paper_broker.errors import (
    CODE_INTERNAL,
    CODE_MALFORMED_BODY,
    CODE_NOT_FOUND,
    CODE_RATE_LIMITED,
    CODE_UNAUTHORIZED,
    BrokerError,
    invalid,
)
from tradepipe.local.paper_broker.faults import Fault, Faults
from tradepipe.local.paper_broker.market_clock import MarketClock
from tradepipe.local.paper_broker.market_data import EndOfData
from tradepipe.local.paper_broker.state import Side
from tradepipe.local.paper_broker.wire import NEW_YORK

Handler = Callable[[Request], Awaitable[Response]]
KEY_HEADER = "APCA-API-KEY-ID"
SECRET_HEADER = "APCA-API-SECRET-KEY"  # noqa: S105 - a header name, not a secret
DAILY_TIMEFRAMES = frozenset({"1day", "1d"})
RATE_LIMIT_PER_MINUTE = 200


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


def _ok(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


async def _json_body(request: Request, *, required: bool = True) -> Any:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise invalid("request body is required")
        return {}
    try:
        # Decimal for non-integers: 430.1 must stay 430.1, not 430.09999999999999.
        return json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise BrokerError(400, CODE_MALFORMED_BODY, "request body format is invalid") from None


# --- query parameters --------------------------------------------------------------------------------


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise invalid(f"invalid {name}: {raw}") from None


def _bool_param(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


def _decimal_param(request: Request, name: str) -> Decimal | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise invalid(f"invalid {name}: {raw}") from None


def _time_param(request: Request, name: str) -> datetime | None:
    """RFC 3339, or a bare date (midnight New York). Naive times are UTC, as alpaca-py assumes."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), datetime.min.time(), NEW_YORK)
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"invalid {name}: {raw}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _date_param(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise invalid(f"invalid {name}: {raw}") from None


def _symbols_param(request: Request) -> list[str]:
    raw = request.query_params.get("symbols", "")
    return [s.strip().upper() for s in raw.split(",") if s.strip()]


def _order_query(request: Request) -> OrderQuery:
    status = request.query_params.get("status", "open").lower()
    if status not in ("open", "closed", "all"):
        raise invalid(f"invalid status: {status}")
    direction = request.query_params.get("direction", "desc").lower()
    side_raw = request.query_params.get("side", "").lower()
    symbols = _symbols_param(request)
    limit = _int_param(request, "limit", 50)
    return OrderQuery(
        status=status,
        limit=max(1, min(limit, 500)),
        after=_time_param(request, "after"),
        until=_time_param(request, "until"),
        direction="asc" if direction == "asc" else "desc",
        nested=_bool_param(request, "nested"),
        side=Side(side_raw) if side_raw in ("buy", "sell") else None,
        symbols=frozenset(symbols) if symbols else None,
    )


class _Credentials:
    """Who may call the Alpaca routes: any non-empty key pair, or exactly the configured one."""

    def __init__(self, api_key: str | None, secret_key: str | None) -> None:
        self._pair = None if api_key is None or secret_key is None else (api_key, secret_key)

    def admit(self, request: Request) -> bool:
        key = request.headers.get(KEY_HEADER, "")
        secret = request.headers.get(SECRET_HEADER, "")
        if not key or not secret:
            return False
        if self._pair is None:
            return True
        # Constant-time comparison: the answer must not leak how much of a key matched.
        return hmac.compare_digest(key, self._pair[0]) & hmac.compare_digest(secret, self._pair[1])


def _api(credentials: _Credentials) -> Callable[[Handler], Handler]:
    def wrap(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            if not credentials.admit(request):
                return _error(401, CODE_UNAUTHORIZED, "request is not authorized")
            try:
                return await handler(request)
            except BrokerError as exc:
                return JSONResponse(exc.body(), status_code=exc.status)

        return endpoint

    return wrap


def _admin(handler: Handler) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except BrokerError as exc:
            return JSONResponse(exc.body(), status_code=exc.status)
        except EndOfData as exc:
            return JSONResponse({"message": str(exc)}, status_code=409)
        except (ValueError, TypeError, InvalidOperation) as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)

    return endpoint


def build_app(engine: PaperBroker, *, api_key: str | None = None, secret_key: str | None = None) -> Starlette:
    """The Starlette app over `engine`. With `api_key`/`secret_key` only that pair is let in."""
    api = _api(_Credentials(api_key, secret_key))
    routes = _trading_routes(engine, api) + _data_routes(engine, api) + _admin_routes(engine, _admin)
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_exception, Exception: _internal_error},
    )


async def _http_exception(request: Request, exc: Exception) -> Response:
    # Starlette's own 404/405 in Alpaca's JSON shape, so clients can parse every error the same way.
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = "endpoint not found" if status == 404 else str(getattr(exc, "detail", "error"))
    return _error(status, CODE_NOT_FOUND if status == 404 else status * 100000, message.lower())


async def _internal_error(request: Request, exc: Exception) -> Response:
    return _error(500, CODE_INTERNAL, "internal server error occurred")


# --- /v2 trading ---------------------------------------------------------------------------------------


def _trading_routes(engine: PaperBroker, api: Callable[[Handler], Handler]) -> list[Route]:
    async def account(request: Request) -> Response:
        return _ok(engine.account())

    async def clock(request: Request) -> Response:
        return _ok(engine.clock.snapshot())

    async def calendar(request: Request) -> Response:
        return _ok(engine.clock.calendar(_date_param(request, "start"), _date_param(request, "end")))

    async def assets(request: Request) -> Response:
        return _ok(engine.assets())

    async def asset(request: Request) -> Response:
        return _ok(engine.asset(request.path_params["symbol_or_id"]))

    async def activities_fill(request: Request) -> Response:
        return _ok(
            engine.fill_activities(
                after=_time_param(request, "after"),
                until=_time_param(request, "until"),
                direction=request.query_params.get("direction", "desc").lower(),
                page_size=_int_param(request, "page_size", 100),
                page_token=request.query_params.get("page_token") or None,
            )
        )

    return [
        Route("/v2/account", api(account), methods=["GET"]),
        Route("/v2/clock", api(clock), methods=["GET"]),
        Route("/v2/calendar", api(calendar), methods=["GET"]),
        Route("/v2/assets", api(assets), methods=["GET"]),
        Route("/v2/assets/{symbol_or_id}", api(asset), methods=["GET"]),
        Route("/v2/account/activities/FILL", api(activities_fill), methods=["GET"]),
        *_order_routes(engine, api),
        *_position_routes(engine, api),
    ]


def _order_routes(engine: PaperBroker, api: Callable[[Handler], Handler]) -> list[Route]:
    async def submit(request: Request) -> Response:
        body = await _json_body(request)
        return await _submit_with_faults(engine, body)

    async def list_orders(request: Request) -> Response:
        return _ok(engine.list_orders(_order_query(request)))

    async def cancel_all(request: Request) -> Response:
        return _ok(engine.cancel_all_orders(), status=207)

    async def by_client_id(request: Request) -> Response:
        client_order_id = request.query_params.get("client_order_id", "")
        return _ok(engine.get_order_by_client_id(client_order_id))

    async def get_order(request: Request) -> Response:
        nested = request.query_params.get("nested", "true").lower() != "false"
        return _ok(engine.get_order(request.path_params["order_id"], nested=nested))

    async def cancel(request: Request) -> Response:
        engine.cancel_order(request.path_params["order_id"])
        return Response(status_code=204)

    return [
        Route("/v2/orders", api(submit), methods=["POST"]),
        Route("/v2/orders", api(list_orders), methods=["GET"]),
        Route("/v2/orders", api(cancel_all), methods=["DELETE"]),
        Route("/v2/orders:by_client_order_id", api(by_client_id), methods=["GET"]),
        Route("/v2/orders/{order_id}", api(get_order), methods=["GET"]),
        Route("/v2/orders/{order_id}", api(cancel), methods=["DELETE"]),
    ]


def _rate_limited(reset_s: int) -> JSONResponse:
    """Alpaca's 429: the window's limit, nothing left, when it resets (epoch seconds) and how long to wait."""
    now = time.time()
    reset_at = math.ceil(now + reset_s)
    headers = {
        "X-RateLimit-Limit": str(RATE_LIMIT_PER_MINUTE),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(reset_at),
        "Retry-After": str(max(0, reset_at - math.floor(now))),
    }
    return _error(429, CODE_RATE_LIMITED, "rate limit exceeded", headers)


async def _submit_with_faults(engine: PaperBroker, body: Any) -> Response:
    """The fault hook: one draw per submit decides whether to fail before or after placing the order, or
    (partial_fill, async_reject) how the engine treats the order it accepts. See faults.py."""
    fault = engine.draw_fault()
    faults = engine.faults
    if fault is Fault.RATE_LIMITED:
        engine.record_fault(fault)
        return _rate_limited(faults.rate_limit_reset_s)
    if fault is Fault.SERVER_ERROR:
        engine.record_fault(fault)
        return _error(500, CODE_INTERNAL, "internal server error occurred")
    if fault is Fault.TIMEOUT_BEFORE_ACCEPT:
        engine.record_fault(fault)
        await asyncio.sleep(faults.delay_s)
        return _error(504, 50410000, "gateway timeout")
    order = engine.submit_order(body, fault=fault)
    if fault is Fault.SERVER_ERROR_AFTER_ACCEPT:
        engine.record_fault(fault)
        return _error(500, CODE_INTERNAL, "internal server error occurred")
    if fault is Fault.TIMEOUT_AFTER_ACCEPT:
        engine.record_fault(fault)
        await asyncio.sleep(faults.delay_s)
    return _ok(order)


def _position_routes(engine: PaperBroker, api: Callable[[Handler], Handler]) -> list[Route]:
    async def positions(request: Request) -> Response:
        return _ok(engine.positions())

    async def close_all(request: Request) -> Response:
        return _ok(engine.close_all_positions(_bool_param(request, "cancel_orders")), status=207)

    async def position(request: Request) -> Response:
        return _ok(engine.position(request.path_params["symbol_or_id"]))

    async def close(request: Request) -> Response:
        symbol = request.path_params["symbol_or_id"]
        qty = _decimal_param(request, "qty")
        percentage = _decimal_param(request, "percentage")
        return _ok(engine.close_position(symbol, qty=qty, percentage=percentage))

    return [
        Route("/v2/positions", api(positions), methods=["GET"]),
        Route("/v2/positions", api(close_all), methods=["DELETE"]),
        Route("/v2/positions/{symbol_or_id}", api(position), methods=["GET"]),
        Route("/v2/positions/{symbol_or_id}", api(close), methods=["DELETE"]),
    ]


# --- /v2 market data -----------------------------------------------------------------------------------


def _data_routes(engine: PaperBroker, api: Callable[[Handler], Handler]) -> list[Route]:
    async def bars(request: Request) -> Response:
        timeframe = request.query_params.get("timeframe", "")
        if timeframe.lower() not in DAILY_TIMEFRAMES:
            raise BrokerError(422, 42210000, f"invalid timeframe {timeframe!r}: only 1Day bars are served")
        symbols = _symbols_param(request)
        if not symbols:
            raise invalid("symbols is required")
        query = BarsQuery(
            symbols=tuple(symbols),
            start=_time_param(request, "start"),
            end=_time_param(request, "end"),
            limit=_int_param(request, "limit", BARS_LIMIT_DEFAULT),
            page_token=request.query_params.get("page_token") or None,
            descending=request.query_params.get("sort", "asc").lower() == "desc",
        )
        return _ok(engine.bars(query))

    return [Route("/v2/stocks/bars", api(bars), methods=["GET"])]


# --- /_paper admin -------------------------------------------------------------------------------------


def _admin_routes(engine: PaperBroker, admin: Callable[[Handler], Handler]) -> list[Route]:
    async def reset(request: Request) -> Response:
        body = await _json_body(request, required=False)
        cash = body.get("cash")
        cursor = body.get("cursor")
        return _ok(
            engine.reset(
                cash=None if cash is None else Decimal(str(cash)),
                cursor=None if cursor is None else date.fromisoformat(str(cursor)),
            )
        )

    async def prices(request: Request) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise ValueError("body must be an object of symbol: price")
        return _ok(engine.set_prices({str(k): Decimal(str(v)) for k, v in body.items()}))

    async def advance(request: Request) -> Response:
        body = await _json_body(request, required=False)
        return _ok(engine.advance(int(body.get("days", 1))))

    async def state(request: Request) -> Response:
        return _ok(engine.dump())

    async def faults(request: Request) -> Response:
        # POST replaces every setting (absent ones take their defaults) and restarts the seeded sequence;
        # the counts in /_paper/faults/stats carry on until /_paper/reset.
        if request.method == "POST":
            engine.faults = Faults.from_json(await _json_body(request))
        return _ok(engine.faults.to_json())

    async def fault_stats(request: Request) -> Response:
        return _ok(engine.fault_stats())

    async def market_clock(request: Request) -> Response:
        body = await _json_body(request)
        engine.clock = MarketClock(always_open=bool(body.get("always_open", True)), now=engine.clock.now)
        return _ok(engine.clock.snapshot())

    return [
        Route("/_paper/reset", admin(reset), methods=["POST"]),
        Route("/_paper/prices", admin(prices), methods=["POST"]),
        Route("/_paper/advance", admin(advance), methods=["POST"]),
        Route("/_paper/state", admin(state), methods=["GET"]),
        Route("/_paper/faults", admin(faults), methods=["GET", "POST"]),
        Route("/_paper/faults/stats", admin(fault_stats), methods=["GET"]),
        Route("/_paper/clock", admin(market_clock), methods=["POST"]),
    ]

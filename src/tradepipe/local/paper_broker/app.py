"""The paper broker over HTTP: the Trading API and market-data routes alpaca-py calls, plus `/_paper/` admin.

Every route sits behind the guard (guard.py): the configured key pair on every request (admin included),
no browsers, Alpaca's rate limit on `/v2/`. Key values are never logged or echoed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from tradepipe.local.paper_broker.behaviour import ALPACA_REQUESTS_PER_MINUTE
from tradepipe.local.paper_broker.errors import (
    CODE_INTERNAL,
    CODE_NOT_FOUND,
    CODE_RATE_LIMITED,
    BrokerError,
    invalid,
)
from tradepipe.local.paper_broker.facade import PaperBroker
from tradepipe.local.paper_broker.faults import Fault, Faults
from tradepipe.local.paper_broker.guard import Credentials, Guard
from tradepipe.local.paper_broker.market_data import EndOfData
from tradepipe.local.paper_broker.params import (
    bool_param,
    date_param,
    decimal_param,
    int_param,
    json_body,
    order_query,
    symbols_param,
    time_param,
)
from tradepipe.local.paper_broker.queries import BARS_LIMIT_DEFAULT, BarsQuery
from tradepipe.local.paper_broker.rate_limit import RateLimiter
from tradepipe.local.paper_broker.synthetic_bars import minutes_of

Handler = Callable[[Request], Awaitable[Response]]
DAILY_TIMEFRAMES = frozenset({"1day", "1d"})


def build_app(engine: PaperBroker, *, key_id: str, secret_key: str) -> ASGIApp:
    """The Starlette app over `engine`, behind the guard: only `key_id` / `secret_key` are let in."""
    limit = engine.behaviour.rate_limit_per_minute
    limiter = None if limit is None else RateLimiter(limit, engine.market_clock.now)
    routes = _trading_routes(engine) + _data_routes(engine) + _admin_routes(engine, limiter)
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_exception, Exception: _internal_error},
    )
    return Guard(app, Credentials(key_id, secret_key), limiter)


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


def _ok(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def _api(handler: Handler) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except BrokerError as exc:
            return JSONResponse(exc.body(), status_code=exc.status)

    return endpoint


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


async def _http_exception(request: Request, exc: Exception) -> Response:
    # Starlette's own 404/405 in Alpaca's JSON shape, so clients can parse every error the same way.
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = "endpoint not found" if status == 404 else str(getattr(exc, "detail", "error"))
    return _error(status, CODE_NOT_FOUND if status == 404 else status * 100000, message.lower())


async def _internal_error(request: Request, exc: Exception) -> Response:
    return _error(500, CODE_INTERNAL, "internal server error occurred")


# --- /v2 trading ---------------------------------------------------------------------------------------


def _trading_routes(engine: PaperBroker) -> list[Route]:
    async def account(request: Request) -> Response:
        return _ok(engine.account())

    async def clock(request: Request) -> Response:
        return _ok(engine.clock())

    async def calendar(request: Request) -> Response:
        return _ok(engine.calendar(date_param(request, "start"), date_param(request, "end")))

    async def assets(request: Request) -> Response:
        return _ok(engine.assets())

    async def asset(request: Request) -> Response:
        return _ok(engine.asset(request.path_params["symbol_or_id"]))

    async def activities_fill(request: Request) -> Response:
        return _ok(_fills(request))

    async def activities(request: Request) -> Response:
        # GET /v2/account/activities: every type, or those in `activity_types`; fills are the only
        # activities this broker has.
        wanted = {t.strip().upper() for t in request.query_params.get("activity_types", "FILL").split(",")}
        return _ok(_fills(request) if "FILL" in wanted else [])

    def _fills(request: Request) -> list[Any]:
        return engine.fill_activities(
            after=time_param(request, "after"),
            until=time_param(request, "until"),
            direction=request.query_params.get("direction", "desc").lower(),
            page_size=int_param(request, "page_size", 100),
            page_token=request.query_params.get("page_token") or None,
        )

    return [
        Route("/v2/account", _api(account), methods=["GET"]),
        Route("/v2/clock", _api(clock), methods=["GET"]),
        Route("/v2/calendar", _api(calendar), methods=["GET"]),
        Route("/v2/assets", _api(assets), methods=["GET"]),
        Route("/v2/assets/{symbol_or_id}", _api(asset), methods=["GET"]),
        Route("/v2/account/activities", _api(activities), methods=["GET"]),
        Route("/v2/account/activities/FILL", _api(activities_fill), methods=["GET"]),
        *_order_routes(engine),
        *_position_routes(engine),
    ]


def _order_routes(engine: PaperBroker) -> list[Route]:
    async def submit(request: Request) -> Response:
        return await _submit_with_faults(engine, await json_body(request))

    async def list_orders(request: Request) -> Response:
        return _ok(engine.list_orders(order_query(request)))

    async def cancel_all(request: Request) -> Response:
        return _ok(engine.cancel_all_orders(), status=207)

    async def by_client_id(request: Request) -> Response:
        return _ok(engine.get_order_by_client_id(request.query_params.get("client_order_id", "")))

    async def get_order(request: Request) -> Response:
        nested = request.query_params.get("nested", "true").lower() != "false"
        return _ok(engine.get_order(request.path_params["order_id"], nested=nested))

    async def replace(request: Request) -> Response:
        return _ok(engine.replace_order(request.path_params["order_id"], await json_body(request)))

    async def cancel(request: Request) -> Response:
        engine.cancel_order(request.path_params["order_id"])
        return Response(status_code=204)

    return [
        Route("/v2/orders", _api(submit), methods=["POST"]),
        Route("/v2/orders", _api(list_orders), methods=["GET"]),
        Route("/v2/orders", _api(cancel_all), methods=["DELETE"]),
        Route("/v2/orders:by_client_order_id", _api(by_client_id), methods=["GET"]),
        Route("/v2/orders/{order_id}", _api(get_order), methods=["GET"]),
        Route("/v2/orders/{order_id}", _api(replace), methods=["PATCH"]),
        Route("/v2/orders/{order_id}", _api(cancel), methods=["DELETE"]),
    ]


def _injected_429(engine: PaperBroker, reset_s: int) -> JSONResponse:
    """The `rate_limited` fault: Alpaca's 429 with its headers, whatever the real count is."""
    now = engine.market_clock.now().timestamp()
    reset_at = int(now) + max(1, reset_s)
    headers = {
        "X-RateLimit-Limit": str(engine.behaviour.rate_limit_per_minute or ALPACA_REQUESTS_PER_MINUTE),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(reset_at),
        "Retry-After": str(max(1, reset_s)),
    }
    return _error(429, CODE_RATE_LIMITED, "rate limit exceeded", headers)


async def _submit_with_faults(engine: PaperBroker, body: Any) -> Response:
    """The fault hook: one draw per submit decides whether to fail before or after placing the order, or
    (partial_fill, async_reject) how the engine treats the order it accepts. See faults.py."""
    fault = engine.draw_fault()
    faults = engine.faults
    if fault is Fault.RATE_LIMITED:
        engine.record_fault(fault)
        return _injected_429(engine, faults.rate_limit_reset_s)
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


def _position_routes(engine: PaperBroker) -> list[Route]:
    async def positions(request: Request) -> Response:
        return _ok(engine.positions())

    async def close_all(request: Request) -> Response:
        return _ok(engine.close_all_positions(bool_param(request, "cancel_orders")), status=207)

    async def position(request: Request) -> Response:
        return _ok(engine.position(request.path_params["symbol_or_id"]))

    async def close(request: Request) -> Response:
        symbol = request.path_params["symbol_or_id"]
        qty = decimal_param(request, "qty")
        percentage = decimal_param(request, "percentage")
        return _ok(engine.close_position(symbol, qty=qty, percentage=percentage))

    return [
        Route("/v2/positions", _api(positions), methods=["GET"]),
        Route("/v2/positions", _api(close_all), methods=["DELETE"]),
        Route("/v2/positions/{symbol_or_id}", _api(position), methods=["GET"]),
        Route("/v2/positions/{symbol_or_id}", _api(close), methods=["DELETE"]),
    ]


# --- /v2 market data -----------------------------------------------------------------------------------


def _data_routes(engine: PaperBroker) -> list[Route]:
    async def bars(request: Request) -> Response:
        timeframe = request.query_params.get("timeframe", "")
        minutes = minutes_of(timeframe)
        if timeframe.lower() not in DAILY_TIMEFRAMES and minutes is None:
            raise BrokerError(
                422, 42210000, f"invalid timeframe {timeframe!r}: 1Day, or 1-59Min / 1-23Hour (synthetic)"
            )
        symbols = symbols_param(request)
        if not symbols:
            raise invalid("symbols is required")
        query = BarsQuery(
            symbols=tuple(symbols),
            start=time_param(request, "start"),
            end=time_param(request, "end"),
            limit=int_param(request, "limit", BARS_LIMIT_DEFAULT),
            page_token=request.query_params.get("page_token") or None,
            descending=request.query_params.get("sort", "asc").lower() == "desc",
            minutes=minutes,
        )
        return _ok(engine.bars(query))

    async def latest_quotes(request: Request) -> Response:
        # alpaca-py StockHistoricalDataClient.get_stock_latest_quote: GET /v2/stocks/quotes/latest?symbols=
        symbols = symbols_param(request)
        if not symbols:
            raise invalid("symbols is required")
        return _ok(engine.latest_quotes(symbols))

    return [
        Route("/v2/stocks/bars", _api(bars), methods=["GET"]),
        Route("/v2/stocks/quotes/latest", _api(latest_quotes), methods=["GET"]),
    ]


# --- /_paper admin -------------------------------------------------------------------------------------


def _admin_routes(engine: PaperBroker, limiter: RateLimiter | None) -> list[Route]:
    async def reset(request: Request) -> Response:
        # Forget everything, the rate-limit windows included.
        if limiter is not None:
            limiter.reset()
        body = await json_body(request, required=False)
        cash, cursor = body.get("cash"), body.get("cursor")
        return _ok(
            engine.reset(
                cash=None if cash is None else Decimal(str(cash)),
                cursor=None if cursor is None else date.fromisoformat(str(cursor)),
            )
        )

    async def prices(request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise ValueError("body must be an object of symbol: price")
        return _ok(engine.set_prices({str(k): Decimal(str(v)) for k, v in body.items()}))

    async def advance(request: Request) -> Response:
        body = await json_body(request, required=False)
        return _ok(engine.advance(int(body.get("days", 1))))

    async def state(request: Request) -> Response:
        return _ok(engine.dump())

    async def rate_limit(request: Request) -> Response:
        # Requests per bucket, those refused with 429 and the busiest window since the last reset.
        return _ok({} if limiter is None else limiter.stats())

    return [
        Route("/_paper/reset", _admin(reset), methods=["POST"]),
        Route("/_paper/prices", _admin(prices), methods=["POST"]),
        Route("/_paper/advance", _admin(advance), methods=["POST"]),
        Route("/_paper/state", _admin(state), methods=["GET"]),
        Route("/_paper/rate-limit", _admin(rate_limit), methods=["GET"]),
        *_admin_hook_routes(engine),
    ]


def _admin_hook_routes(engine: PaperBroker) -> list[Route]:
    async def faults(request: Request) -> Response:
        # POST replaces every setting (absent ones take their defaults) and restarts the seeded sequence;
        # the counts in /_paper/faults/stats carry on until /_paper/reset.
        if request.method == "POST":
            engine.faults = Faults.from_json(await json_body(request))
        return _ok(engine.faults.to_json())

    async def fault_stats(request: Request) -> Response:
        return _ok(engine.fault_stats())

    async def market_clock(request: Request) -> Response:
        body = await json_body(request)
        return _ok(engine.set_always_open(bool(body.get("always_open", True))))

    async def quote(request: Request) -> Response:
        return _ok(engine.quote(request.path_params["symbol"]))

    async def order_status(request: Request) -> Response:
        body = await json_body(request)
        return _ok(engine.set_order_status(request.path_params["order_id"], str(body.get("status", ""))))

    return [
        Route("/_paper/faults", _admin(faults), methods=["GET", "POST"]),
        Route("/_paper/faults/stats", _admin(fault_stats), methods=["GET"]),
        Route("/_paper/clock", _admin(market_clock), methods=["POST"]),
        Route("/_paper/quotes/{symbol}", _admin(quote), methods=["GET"]),
        Route("/_paper/orders/{order_id}/status", _admin(order_status), methods=["POST"]),
    ]

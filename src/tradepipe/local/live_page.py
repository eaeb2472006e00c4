"""The live page at http://127.0.0.1:8000/: plain HTML, one small JS file, Plotly.js from the installed
Python package. Local only (it is not a Lambda): every route here is loopback-only, like the read API.

The page reads the same API the CLI does (`GET /signals`, `GET /signals/{id}`, `GET|POST
/trading-state/{account}`, served by the webhook function through the API emulator) and two local
endpoints that have no AWS counterpart: `/ui/summary` (today's counts, with duplicates from the harvested
`AlertsDuplicate` metric) and `/ui/portfolio` (equity and positions from the broker)."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from tradepipe import composition
from tradepipe.app.signal_feed import count_day
from tradepipe.domain.model import Mode
from tradepipe.local.api_gateway import loopback_only
from tradepipe.settings import get_settings

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).with_name("web")
STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css"}
# Plotly injects <style> elements and inline styles on its SVG: style-src needs 'unsafe-inline'. Scripts
# and connections stay same-origin only; nothing is fetched from the internet.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# Served when plotly is not installed: the page shows a note instead of charts, with no console error.
PLOTLY_MISSING = b"window.PLOTLY_MISSING = true;\n"


def plotly_js() -> Path | None:
    """plotly.min.js shipped inside the plotly Python package (found without importing plotly)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def page_routes(duplicates_on: Callable[[str], int]) -> list[Route]:
    """`duplicates_on(day)`: how many duplicate alerts the webhook answered on that UTC day."""

    async def index(_: Request) -> Response:
        return FileResponse(WEB_DIR / "index.html", media_type="text/html", headers=PAGE_HEADERS)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "plotly.min.js":
            path = plotly_js()
            if path is None:
                return Response(PLOTLY_MISSING, media_type="text/javascript", headers=PAGE_HEADERS)
            return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"})
        if name not in STATIC_FILES:
            return _json({"message": "Not Found"}, 404)
        return FileResponse(WEB_DIR / name, media_type=STATIC_FILES[name], headers=PAGE_HEADERS)

    async def summary(_: Request) -> Response:
        def read() -> dict[str, Any]:
            now = datetime.now(UTC)
            counts = count_day(composition.backend().signal_feed, now, duplicates_on(now.date().isoformat()))
            return counts.model_dump() | {"live_trading_enabled": get_settings().live_trading_enabled}

        return _json(await run_in_threadpool(read))

    async def portfolio(request: Request) -> Response:
        try:
            mode = Mode(request.query_params.get("account", "paper"))
        except ValueError:
            return _json(
                {"status": "rejected", "errors": [{"field": "account", "message": "paper or live"}]}, 422
            )
        return _json(await run_in_threadpool(read_portfolio, mode))

    return [
        Route("/", loopback_only(index), methods=["GET"]),
        Route("/static/{name}", loopback_only(static), methods=["GET"]),
        Route("/ui/summary", loopback_only(summary), methods=["GET"]),
        Route("/ui/portfolio", loopback_only(portfolio), methods=["GET"]),
    ]


def read_portfolio(mode: Mode) -> dict[str, Any]:
    """Equity and positions from the broker of `mode`; `available: false` (with why) instead of an error,
    so the page keeps polling quietly while the broker is away or the mode is off."""
    base: dict[str, Any] = {"account": mode.value, "available": False}
    broker = composition.broker_factory().for_mode(mode)  # alpaca-py: loaded when the page first asks
    if broker is None:
        why = "live trading is off (config)" if mode is Mode.LIVE else "no broker credentials"
        return base | {"why": why}
    try:
        account, holdings = broker.account(), broker.holdings()
    except Exception:  # a page poll must not fail loudly: the broker may be restarting
        log.warning("portfolio read failed", exc_info=True)
        return base | {"why": "broker unavailable"}
    return base | {
        "available": True,
        "equity": str(account.equity),
        "last_equity": str(account.last_equity),
        "buying_power": str(account.buying_power),
        "positions": [
            {
                "symbol": symbol,
                "qty": str(h.qty),
                "market_value": str(h.market_value),
                "avg_entry_price": str(h.avg_entry_price),
            }
            for symbol, h in sorted(holdings.items())
        ],
    }

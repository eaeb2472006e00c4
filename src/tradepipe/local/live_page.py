"""The live page: plain HTML, one small JS file, Plotly.js from the installed Python package, served by the
operator process (local/runtime/operator_api.py), which guards every route.

The page reads the same API as the CLI (`GET /signals`, `GET /signals/{id}`, `GET|POST
/trading-state/{account}`) and two local endpoints that have no AWS counterpart: `/ui/summary` (today's
counts, duplicates from the `AlertsDuplicate` counter) and `/ui/portfolio` (equity and positions from the
broker)."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from tradepipe.domain.model import Mode
from tradepipe.ports.broker import BrokerFactory

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


def page_routes() -> list[tuple[str, Callable[[Request], Awaitable[Response]]]]:
    """(path, endpoint) of the page and its static files: nothing in them is data."""

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
            return JSONResponse({"message": "Not Found"}, 404)
        return FileResponse(WEB_DIR / name, media_type=STATIC_FILES[name], headers=PAGE_HEADERS)

    return [("/", index), ("/static/{name}", static)]


def read_portfolio(brokers: BrokerFactory, account: str) -> dict[str, Any]:
    """Equity and positions from the broker of `account`; `available: false` (with why) instead of an error,
    so the page keeps polling quietly while the broker is away or the mode is off."""
    mode = Mode(account)
    base: dict[str, Any] = {"account": mode.value, "available": False}
    broker = brokers.for_mode(mode)
    if broker is None:
        why = "live trading is off (config)" if mode is Mode.LIVE else "no broker credentials"
        return base | {"why": why}
    try:
        view, holdings = broker.account(), broker.holdings()
    except Exception:  # a page poll must not fail loudly: the broker may be restarting
        log.warning("portfolio read failed", exc_info=True)
        return base | {"why": "broker unavailable"}
    return base | {
        "available": True,
        "equity": str(view.equity),
        "last_equity": str(view.last_equity),
        "buying_power": str(view.buying_power),
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

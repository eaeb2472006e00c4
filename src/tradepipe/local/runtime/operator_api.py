"""The operator process: the live page, the read API, the kill switch and `flatten` on 127.0.0.1:8002, a
port of its own that is never tunneled (the webhook's 8000 is the one a trader exposes).

On AWS these routes are IAM-authorized; here every request must pass three checks:
- it comes from this machine, to a loopback Host (a DNS-rebinding page, evil.example -> 127.0.0.1, sends its
  own name as Host and gets nothing);
- it is not `Sec-Fetch-Site: cross-site` or `same-site` (a page of another origin, another port of this
  machine included, cannot drive it);
- every API request (reads and, above all, state changes) carries the per-install token in the
  `X-Tradepipe-Token` header. The token is in the state directory (0600, the owner only); `tradepipe local`
  prints the page's address with the token in the URL fragment, which the browser never sends to a server:
  the page keeps it in sessionStorage and sends it as the header. A header cannot be set by another site's
  form or image, and a script of another origin cannot send it without a CORS preflight, which is refused.
  The page and its static files need no token (they hold no data).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tradepipe import api_http as http
from tradepipe import composition
from tradepipe.app.flatten import request_flatten
from tradepipe.app.signal_feed import count_day, list_signals
from tradepipe.app.trading_state import switch_trading_state, trading_state_of
from tradepipe.app.trail import signal_trail
from tradepipe.contracts.api import FlattenRequest, SignalQuery, TradingStateRequest
from tradepipe.contracts.items import ErrorEntry
from tradepipe.local.live_page import page_routes, read_portfolio
from tradepipe.settings import get_settings

log = logging.getLogger(__name__)

TOKEN_HEADER = "x-tradepipe-token"  # noqa: S105 - the header's name, not a secret
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
LOOPBACK_CLIENTS = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
ACCOUNTS = ("paper", "live")
Endpoint = Callable[[Request], Awaitable[Response]]


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body, default=str),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _answer(status: int, body: BaseModel) -> Response:
    return Response(
        http.body_text(body),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _refused(why: str) -> Response:
    return _answer(403, http.error_body("forbidden", why))


def refusal(request: Request, token: str, *, needs_token: bool) -> str | None:
    """Why the request is refused, or None."""
    client = request.client.host if request.client else ""
    if client not in LOOPBACK_CLIENTS:
        return "client is not on this machine"
    host = request.headers.get("host", "")
    if urlsplit(f"//{host}").hostname not in LOOPBACK_NAMES:
        return "Host is not loopback"
    if request.headers.get("sec-fetch-site", "none") in ("cross-site", "same-site"):
        return "cross-site request"
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{host}":
        return "Origin is not this server"
    given = request.headers.get(TOKEN_HEADER, "").encode()
    if needs_token and not hmac.compare_digest(given, token.encode()):
        return "missing or wrong operator token"
    return None


def guarded(endpoint: Endpoint, token: str, *, needs_token: bool = True) -> Endpoint:
    async def check(request: Request) -> Response:
        why = refusal(request, token, needs_token=needs_token)
        if why is not None:
            return _refused(why)
        return await endpoint(request)

    return check


def _query(request: Request) -> SignalQuery:
    """Raises ValidationError. A repeated parameter stays a list and fails validation with its name."""
    multi: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        multi.setdefault(key, []).append(value)
    return SignalQuery.model_validate({k: v[0] if len(v) == 1 else v for k, v in multi.items()})


class OperatorApi:
    """The routes: each one use case through the composition root, mapped by `api_http` as the Lambda's."""

    async def _run(self, produce: Callable[[], BaseModel | None], ok: int = 200) -> Response:
        return _answer(*await run_in_threadpool(http.answer_parts, produce, ok))

    async def signals(self, request: Request) -> Response:
        return await self._run(lambda: list_signals(_query(request), composition.feed_deps()))

    async def trail(self, request: Request) -> Response:
        signal_id = request.path_params["signal_id"]
        return await self._run(lambda: signal_trail(signal_id, composition.trail_deps()))

    async def get_state(self, request: Request) -> Response:
        account = request.path_params["account"]
        return await self._run(lambda: trading_state_of(http.account(account), composition.state_deps()))

    async def set_state(self, request: Request) -> Response:
        account, body = request.path_params["account"], await request.body()

        def switch() -> BaseModel:
            mode = http.account(account)
            wanted = TradingStateRequest.model_validate_json(body or b"{}")
            return switch_trading_state(mode, wanted, wanted.by or "operator", composition.state_deps())

        return await self._run(switch)

    async def flatten(self, request: Request) -> Response:
        account, body = request.path_params["account"], await request.body()

        def send() -> BaseModel:
            mode = http.account(account)
            wanted = FlattenRequest.model_validate_json(body or b"{}")
            return request_flatten(mode, wanted.ticker, wanted.by or "operator", composition.flatten_deps())

        return await self._run(send, ok=202)  # handed to the executor, as on AWS

    async def summary(self, _: Request) -> Response:
        def read() -> dict[str, Any]:
            backend = composition.sqlite_backend()
            now = datetime.now(UTC)
            duplicates = backend.metrics.on_day(now.date().isoformat())["AlertsDuplicate"]
            counts = count_day(backend.signal_feed, now, duplicates)
            return counts.model_dump() | {"live_trading_enabled": get_settings().live_trading_enabled}

        return _json(await run_in_threadpool(read))

    async def portfolio(self, request: Request) -> Response:
        account = request.query_params.get("account", "paper")
        if account not in ACCOUNTS:
            errors = [ErrorEntry(field="account", message="paper or live")]
            return _answer(422, http.error_body("rejected", "invalid request: see errors", errors))
        return _json(await run_in_threadpool(read_portfolio, composition.page_brokers(), account))

    def routes(self) -> list[tuple[str, str, Endpoint]]:
        return [
            ("GET", "/signals", self.signals),
            ("GET", "/signals/{signal_id}", self.trail),
            ("GET", "/trading-state/{account}", self.get_state),
            ("POST", "/trading-state/{account}", self.set_state),
            ("POST", "/flatten/{account}", self.flatten),
            ("GET", "/ui/summary", self.summary),
            ("GET", "/ui/portfolio", self.portfolio),
        ]


async def _no_preflight(_: Request) -> Response:
    # No CORS: a preflight from another origin gets no Access-Control-Allow-* headers, so the browser never
    # sends the real request.
    return _refused("no cross-origin access")


async def _not_found(_: Request) -> Response:
    return _answer(404, http.error_body("not_found", "no such route"))


def build_operator_app(token: str) -> Starlette:
    api = OperatorApi()
    routes = [Route(path, guarded(fn, token), methods=[method]) for method, path, fn in api.routes()]
    routes += [
        Route(path, guarded(fn, token, needs_token=False), methods=["GET"]) for path, fn in page_routes()
    ]
    routes.append(Route("/{path:path}", _no_preflight, methods=["OPTIONS"]))
    routes.append(Route("/{path:path}", _not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]))
    return Starlette(routes=routes)

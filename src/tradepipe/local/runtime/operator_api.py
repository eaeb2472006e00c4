"""The operator process: the live page, the read API and the kill switch on 127.0.0.1:8002, a port of its own
that is never tunneled (the webhook's 8000 is the one a trader exposes).

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

import dataclasses
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tradepipe.app.signal_feed import BadPageToken, FeedDeps, count_day, list_signals
from tradepipe.app.status import signal_trail
from tradepipe.app.trading_state import StateDeps, switch_trading_state
from tradepipe.contracts.api import SignalQuery, TradingStateRequest
from tradepipe.local.live_page import page_routes, read_portfolio
from tradepipe.local.runtime.wiring import SqliteBackend

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


def _refused(why: str) -> Response:
    return _json({"status": "forbidden", "message": why}, 403)


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


def _rejected(exc: ValidationError) -> Response:
    """422 with the field errors, never the input."""
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]) or "query", "message": e["msg"]}
        for e in exc.errors(include_input=False, include_url=False)
    ]
    return _json({"status": "rejected", "errors": errors}, 422)


def _unknown_account(account: str) -> Response | None:
    return None if account in ACCOUNTS else _json({"status": "not_found", "account": account}, 404)


class OperatorApi:
    """The routes, each a use case call (the same ones the API Lambda serves)."""

    def __init__(self, backend: SqliteBackend) -> None:
        self.backend = backend

    async def signals(self, request: Request) -> Response:
        multi: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            multi.setdefault(key, []).append(value)
        # A repeated parameter stays a list and fails validation with its name: never "last one wins".
        params = {k: v[0] if len(v) == 1 else v for k, v in multi.items()}
        try:
            query = SignalQuery.model_validate(params)
        except ValidationError as exc:
            return _rejected(exc)
        deps = FeedDeps(self.backend.signals, self.backend.clock, self.backend.settings.dedupe_ttl_s)
        try:
            page = await run_in_threadpool(list_signals, query, deps)
        except BadPageToken as exc:
            errors = [{"field": "page_token", "message": str(exc)}]
            return _json({"status": "bad_request", "errors": errors}, 400)
        return _json(page.model_dump(mode="json"))

    async def trail(self, request: Request) -> Response:
        signal_id = request.path_params["signal_id"]
        b = self.backend
        found = await run_in_threadpool(signal_trail, signal_id, b.signals, b.orders)
        if found is None:
            return _json({"status": "not_found", "signal_id": signal_id}, 404)
        return _json(found.model_dump(mode="json"))

    async def get_state(self, request: Request) -> Response:
        account = request.path_params["account"]
        if (unknown := _unknown_account(account)) is not None:
            return unknown
        stored = await run_in_threadpool(self.backend.risk_state.trading_state, account)
        return _json({"account": account, **dataclasses.asdict(stored)})

    async def set_state(self, request: Request) -> Response:
        account = request.path_params["account"]
        if (unknown := _unknown_account(account)) is not None:
            return unknown
        try:
            wanted = TradingStateRequest.model_validate_json(await request.body() or b"{}")
        except ValidationError as exc:
            return _rejected(exc)
        b = self.backend
        deps = StateDeps(risk_state=b.risk_state, events=b.events, clock=b.clock)
        who = wanted.by or "operator"
        stored = await run_in_threadpool(
            switch_trading_state, account, wanted.state, who, wanted.reason, deps
        )
        return _json({"account": account, **dataclasses.asdict(stored)})

    async def summary(self, _: Request) -> Response:
        def read() -> dict[str, Any]:
            now = datetime.now(UTC)
            duplicates = self.backend.metrics.on_day(now.date().isoformat())["AlertsDuplicate"]
            counts = count_day(self.backend.signals, now, duplicates)
            return counts.model_dump() | {"live_trading_enabled": self.backend.settings.live_trading_enabled}

        return _json(await run_in_threadpool(read))

    async def portfolio(self, request: Request) -> Response:
        account = request.query_params.get("account", "paper")
        if account not in ACCOUNTS:
            errors = [{"field": "account", "message": "paper or live"}]
            return _json({"status": "rejected", "errors": errors}, 422)
        return _json(await run_in_threadpool(read_portfolio, self.backend.brokers, account))

    def routes(self) -> list[tuple[str, str, Endpoint]]:
        return [
            ("GET", "/signals", self.signals),
            ("GET", "/signals/{signal_id}", self.trail),
            ("GET", "/trading-state/{account}", self.get_state),
            ("POST", "/trading-state/{account}", self.set_state),
            ("GET", "/ui/summary", self.summary),
            ("GET", "/ui/portfolio", self.portfolio),
        ]


async def _no_preflight(_: Request) -> Response:
    # No CORS: a preflight from another origin gets no Access-Control-Allow-* headers, so the browser never
    # sends the real request.
    return _refused("no cross-origin access")


async def _not_found(_: Request) -> Response:
    return _json({"status": "not_found"}, 404)


def build_operator_app(backend: SqliteBackend, token: str) -> Starlette:
    api = OperatorApi(backend)
    routes = [Route(path, guarded(fn, token), methods=[method]) for method, path, fn in api.routes()]
    routes += [
        Route(path, guarded(fn, token, needs_token=False), methods=["GET"]) for path, fn in page_routes()
    ]
    routes.append(Route("/{path:path}", _no_preflight, methods=["OPTIONS"]))
    routes.append(Route("/{path:path}", _not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]))
    return Starlette(routes=routes)

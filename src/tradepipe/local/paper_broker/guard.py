"""Who may talk to the paper broker, and how often: the door in front of every route.

- Every request needs the configured `APCA-API-KEY-ID` and `APCA-API-SECRET-KEY` (Alpaca's headers, docs:
  Trading API, Authentication), admin routes included: otherwise 401 `{"code": 40110000, "message":
  "request is not authorized"}`, the body Alpaca sends, never echoing what was sent. Compared in constant
  time.
- No browser: an `OPTIONS` preflight or any request carrying `Origin` is refused (403) and no answer
  carries an `Access-Control-*` header, so a web page can neither read nor drive the broker. (Alpaca's
  own API answers `Access-Control-Allow-Origin: *`; a broker holding a trader's book on localhost must
  not.)
- `/v2/` requests count against the key's rate limit (rate_limit.py); every answer carries the
  `X-RateLimit-*` headers, a refused one is Alpaca's 429.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tradepipe.local.paper_broker.errors import CODE_FORBIDDEN, CODE_RATE_LIMITED, CODE_UNAUTHORIZED
from tradepipe.local.paper_broker.rate_limit import RateLimiter, Verdict

KEY_HEADER = "APCA-API-KEY-ID"
SECRET_HEADER = "APCA-API-SECRET-KEY"  # noqa: S105 - a header name, not a secret
UNAUTHORIZED = {"code": CODE_UNAUTHORIZED, "message": "request is not authorized"}
NO_BROWSERS = {"code": CODE_FORBIDDEN, "message": "cross-origin requests are not allowed"}
RATE_LIMITED = {"code": CODE_RATE_LIMITED, "message": "rate limit exceeded"}


class Credentials:
    def __init__(self, key_id: str, secret_key: str) -> None:
        if not key_id or not secret_key:
            raise ValueError("the paper broker needs an API key id and a secret key")
        self.key_id = key_id
        self._pair = (key_id.encode(), secret_key.encode())

    def admit(self, key: bytes, secret: bytes) -> bool:
        # Both compared whatever the first gives: the answer must not leak how much of a key matched.
        return hmac.compare_digest(key, self._pair[0]) & hmac.compare_digest(secret, self._pair[1])


class Guard:
    """ASGI middleware: refuse strangers and browsers, count requests, stamp the rate-limit headers."""

    def __init__(self, app: ASGIApp, credentials: Credentials, limiter: RateLimiter | None) -> None:
        self._app = app
        self._credentials = credentials
        self._limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope["headers"]}
        if scope["method"] == "OPTIONS" or "origin" in headers:
            await _answer(send, 403, NO_BROWSERS)
            return
        key = headers.get(KEY_HEADER.lower(), b"")
        secret = headers.get(SECRET_HEADER.lower(), b"")
        if not self._credentials.admit(key, secret):
            await _answer(send, 401, UNAUTHORIZED)
            return
        path: str = scope["path"]
        if self._limiter is None or not path.startswith("/v2/"):
            await self._app(scope, receive, send)
            return
        bucket = "data" if path.startswith("/v2/stocks/") else "trading"
        verdict = self._limiter.take(self._credentials.key_id, bucket, _route(scope["method"], path))
        if not verdict.allowed:
            await _answer(send, 429, RATE_LIMITED, verdict.headers())
            return
        await self._app(scope, receive, _stamped(send, verdict))


def _route(method: str, path: str) -> str:
    """`GET /v2/orders/<id>` as `GET /v2/orders/*`: what the rate-limit stats count requests by."""
    parts = path.split("/")
    return f"{method} " + "/".join(parts[:3] + ["*" for _ in parts[3:4]])


def _stamped(send: Send, verdict: Verdict) -> Send:
    extra = [(k.encode(), v.encode()) for k, v in verdict.headers().items()]

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            # An answer that set its own (the injected 429) keeps them.
            present = {name.lower() for name, _ in message.get("headers", [])}
            missing = [(k, v) for k, v in extra if k.lower() not in present]
            message = {**message, "headers": [*message.get("headers", []), *missing]}
        await send(message)

    return wrapped


async def _answer(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    payload = json.dumps(body).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})

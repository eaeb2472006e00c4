"""API Gateway on 127.0.0.1:8000: each HTTP request becomes the REST proxy event the handler gets on AWS."""

from __future__ import annotations

import base64
import ipaddress
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradepipe.local.lambda_context import LocalLambdaContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class ApiRoute:
    method: str
    resource: str  # API Gateway resource path, e.g. /signals/{signal_id}
    function_name: str
    handler: Handler
    timeout_s: int
    loopback_only: bool = False  # IAM-authorized on AWS: locally only the machine itself may call it

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        pattern = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.resource) + "$"
        found = re.match(pattern, path)
        return None if found is None else found.groupdict()


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def _is_loopback_address(host: str | None) -> bool:
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def loopback_refusal(request: Request) -> str | None:
    """Why a request to a local-only route (the read API, the kill switch, the live page) is refused, or
    None. On AWS these routes need SigV4; on one machine the rule is "this machine, this origin":
    - the client address is loopback;
    - the Host header names loopback, so a DNS-rebinding page (evil.example -> 127.0.0.1) gets nothing;
    - an Origin, when the browser sends one, is this server itself, so another site open in the same
      browser cannot press Halt or Resume (a cross-site POST carries its own Origin)."""
    if not _is_loopback_address(request.client.host if request.client else None):
        return "client is not on this machine"
    host = request.headers.get("host", "")
    if urlsplit(f"//{host}").hostname not in LOOPBACK_NAMES:
        return "Host is not loopback"
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{host}":
        return "Origin is not this server"
    return None


def loopback_only(
    endpoint: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a local endpoint (the live page's) in the loopback rule."""

    async def guarded(request: Request) -> Response:
        if loopback_refusal(request) is not None:
            return JSONResponse({"message": "Forbidden"}, status_code=403)
        return await endpoint(request)

    return guarded


def proxy_event(
    request: Request, body: bytes, route: ApiRoute, path_params: dict[str, str]
) -> dict[str, Any]:
    try:
        text, is_b64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_b64 = base64.b64encode(body).decode(), True
    headers = dict(request.headers.items())
    multi_headers: dict[str, list[str]] = {}
    for key, value in request.headers.items():
        multi_headers.setdefault(key, []).append(value)
    query = dict(request.query_params.items()) or None
    multi_query: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        multi_query.setdefault(key, []).append(value)
    source_ip = request.client.host if request.client else "127.0.0.1"
    return {
        "resource": route.resource,
        "path": request.url.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "resourcePath": route.resource,
            "httpMethod": request.method,
            "path": f"/local{request.url.path}",
            "stage": "local",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("user-agent", "")},
        },
        "body": text if body else None,
        "isBase64Encoded": is_b64,
    }


def build_api(routes: list[ApiRoute], extra_routes: list[Route] | None = None) -> Starlette:
    async def dispatch(request: Request) -> Response:
        for route in routes:
            params = route.match(request.method, request.url.path)
            if params is None:
                continue
            if route.loopback_only and loopback_refusal(request) is not None:
                return JSONResponse({"message": "Forbidden"}, status_code=403)
            body = await request.body()
            event = proxy_event(request, body, route, params)
            context = LocalLambdaContext(route.function_name, route.timeout_s)
            result = await run_in_threadpool(route.handler, event, context)
            payload = result.get("body") or ""
            content = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
            headers = {k: ", ".join(v) for k, v in (result.get("multiValueHeaders") or {}).items()}
            headers.update(result.get("headers") or {})
            headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
            return Response(content, status_code=int(result.get("statusCode", 502)), headers=headers)
        # API Gateway's own answer for a route that does not exist.
        return JSONResponse({"message": "Missing Authentication Token"}, status_code=403)

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    return Starlette(routes=[*(extra_routes or []), Route("/{path:path}", dispatch, methods=methods)])

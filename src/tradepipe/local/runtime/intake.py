"""The intake process: POST /webhook[/{token}] on 127.0.0.1:8000 (the port a trader tunnels), nothing else.

It does only what must happen before the answer, with the same use case as the webhook Lambda (`accept_alert`:
authenticate, parse, decide what the alert alone decides, record, enqueue), on SQLite instead of DynamoDB
+ SQS.

Group commit: a 202 promises TradingView (which never retries) that the alert is safe, so the intake writes
with `synchronous=FULL`, whose fsync costs milliseconds on these disks. Requests are handed to one writer
thread, which runs every request waiting into one transaction (a savepoint each, so one failing request does
not undo the others) and commits once: concurrent requests share the fsync, and nobody is answered before
their record is on disk. Then it wakes the workers with a datagram.

The HTTP server is uvicorn (uvloop, httptools) around a bare ASGI callable: no framework between the
socket and
the use case, because this path is what a bar-close burst hits.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from tradepipe.adapters.sqlite.database import Database
from tradepipe.app.intake import AlertRequest, IntakeDeps, IntakeResult, accept_alert, intake_response
from tradepipe.local.runtime.wakeup import Waker
from tradepipe.resources import WEBHOOK_MAX_BODY_BYTES

log = logging.getLogger(__name__)

MAX_GROUP = 128  # requests per commit: bounds one transaction's length, not the throughput
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
_Job = tuple[AlertRequest, asyncio.Future[IntakeResult | BaseException], asyncio.AbstractEventLoop]

_METRIC_BY_STATUS = {
    202: "AlertsAccepted",
    200: "AlertsDuplicate",
    401: "AlertsUnauthorized",
    403: "AlertsForbidden",
    422: "AlertsRejected",
    400: "AlertsMalformed",
    413: "AlertsTooLarge",
}
_ERROR = (500, {"status": "error", "message": "internal error, the alert was not accepted"})


class GroupCommitter(threading.Thread):
    def __init__(self, db: Database, deps: IntakeDeps, waker: Waker | None, metrics: Any) -> None:
        super().__init__(name="intake-writer", daemon=True)
        self._db, self._deps, self._waker, self._metrics = db, deps, waker, metrics
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()

    async def submit(self, request: AlertRequest) -> IntakeResult | BaseException:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IntakeResult | BaseException] = loop.create_future()
        self._jobs.put((request, future, loop))
        return await future

    def stop(self) -> None:
        self._jobs.put(None)

    def run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_GROUP:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._jobs.put(None)
                    break
                batch.append(job)
            self._commit(batch)

    def _commit(self, batch: list[_Job]) -> None:
        results: list[IntakeResult | BaseException] = []
        try:
            with self._db.transaction():
                for request, _, _ in batch:
                    try:
                        with self._db.transaction():
                            results.append(accept_alert(request, self._deps))
                    except Exception as exc:  # this request only: its savepoint is rolled back
                        log.exception("intake failed")
                        results.append(exc)
                counts = Counter(_METRIC_BY_STATUS.get(_status(r), "AlertsErrored") for r in results)
                self._metrics.add(counts)
        except Exception as exc:  # the commit itself failed: nothing in the group is safe
            log.exception("intake commit failed")
            results = [exc] * len(batch)
        for (_, future, loop), result in zip(batch, results, strict=True):
            loop.call_soon_threadsafe(_resolve, future, result)
        if self._waker is not None and any(_status(r) == 202 for r in results):
            self._waker.wake()


def _status(result: IntakeResult | BaseException) -> int:
    return 500 if isinstance(result, BaseException) else intake_response(result)[0]


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def webhook_token(path: str) -> tuple[bool, str | None]:
    """(is a webhook route, the path token if any)."""
    if path == "/webhook":
        return True, None
    if path.startswith("/webhook/"):
        token = path[len("/webhook/") :]
        if token and "/" not in token:
            return True, unquote(token)
    return False, None


class IntakeApp:
    """The ASGI callable."""

    def __init__(self, committer: GroupCommitter) -> None:
        self._committer = committer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        is_webhook, token = webhook_token(scope["path"])
        if not is_webhook:
            await _answer(send, 404, {"status": "not_found"})
            return
        if scope["method"] != "POST":
            await _answer(send, 405, {"status": "method_not_allowed"}, allow="POST")
            return
        body, too_large = await _read_body(receive, WEBHOOK_MAX_BODY_BYTES)
        client = scope.get("client")
        request = AlertRequest(body, client[0] if client else None, token)
        # An oversized body is cut at the limit + 1 byte: the use case answers 413 without reading the rest.
        result = await self._committer.submit(request)
        if isinstance(result, BaseException):
            status, payload = _ERROR
        else:
            status, payload = intake_response(result)
        if too_large:
            await _answer(send, status, payload, close=True)
            return
        await _answer(send, status, payload)


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            chunks.append(chunk)
            return b"".join(chunks)[: limit + 1], True
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


async def _answer(
    send: Send, status: int, payload: dict[str, Any], *, close: bool = False, allow: str = ""
) -> None:
    body = json.dumps(payload, default=str).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]
    if close:
        headers.append((b"connection", b"close"))
    if allow:
        headers.append((b"allow", allow.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return

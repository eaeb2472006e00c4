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
import logging
import queue
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from pydantic import BaseModel

from tradepipe import api_http as http
from tradepipe.adapters.sqlite.database import Database
from tradepipe.app.intake import (
    AlertRequest,
    IntakeDeps,
    IntakeResult,
    Recording,
    accepted_any,
    decide_alert,
    metric_counts,
)
from tradepipe.local.runtime.wakeup import Waker
from tradepipe.resources import WEBHOOK_MAX_BODY_BYTES

log = logging.getLogger(__name__)

MAX_GROUP = 128  # requests per commit: bounds one transaction's length, not the throughput
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
_Job = tuple[
    IntakeResult | Recording | BaseException,
    asyncio.Future[IntakeResult | BaseException],
    asyncio.AbstractEventLoop,
]

_ERROR = (500, http.error_body("error", "internal error, the alert was not accepted"))


class GroupCommitter(threading.Thread):
    def __init__(self, db: Database, deps: IntakeDeps, waker: Waker | None, metrics: Any) -> None:
        super().__init__(name="intake-writer", daemon=True)
        self._db, self._deps, self._waker, self._metrics = db, deps, waker, metrics
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()

    async def submit(self, request: AlertRequest) -> IntakeResult | BaseException:
        """Decided here, on the event loop, while the writer thread waits for the writer lock or its fsync
        (both outside the GIL); the writer then holds the lock only for the writes."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IntakeResult | BaseException] = loop.create_future()
        decided: IntakeResult | Recording | BaseException
        try:
            decided = decide_alert(request, self._deps)
        except Exception as exc:  # answered 500 and counted with the group, as a failed write is
            log.exception("intake failed")
            decided = exc
        self._jobs.put((decided, future, loop))
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
                for decided, _, _ in batch:
                    if not isinstance(decided, Recording):  # nothing to write (or deciding failed)
                        results.append(decided)
                        continue
                    try:
                        with self._db.transaction():
                            results.append(decided.record())
                    except Exception as exc:  # this request only: its savepoint is rolled back
                        log.exception("intake failed")
                        results.append(exc)
                counts: Counter[str] = Counter()
                for r in results:
                    counts.update(["WebhookErrors"] if isinstance(r, BaseException) else metric_counts(r))
                self._metrics.add(counts)
        except Exception as exc:  # the commit itself failed: nothing in the group is safe
            log.exception("intake commit failed")
            results = [exc] * len(batch)
        # One hand-off per event loop and commit, not per request: each call_soon_threadsafe wakes the loop
        # and costs this thread the GIL again (~3% of the intake's CPU at 10 senders when made per request).
        answers: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
        for (_, future, loop), result in zip(batch, results, strict=True):
            answers.setdefault(loop, []).append((future, result))
        for loop, answered in answers.items():
            loop.call_soon_threadsafe(_resolve, answered)
        if self._waker is not None and any(
            not isinstance(r, BaseException) and accepted_any(r) for r in results
        ):
            self._waker.wake()


def _resolve(answered: list[tuple[asyncio.Future[Any], Any]]) -> None:
    for future, result in answered:
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
            await _answer(send, 404, http.error_body("not_found", "no such route"))
            return
        if scope["method"] != "POST":
            await _answer(send, 405, http.error_body("method_not_allowed", "POST only"), allow="POST")
            return
        read = await _read_body(receive, WEBHOOK_MAX_BODY_BYTES)
        if read is None:  # the sender went away, or was cut for sending too slowly (http_deadline.py)
            return
        body, too_large = read
        client = scope.get("client")
        request = AlertRequest(body, client[0] if client else None, token)
        # An oversized body is cut at the limit + 1 byte: the use case answers 413 without reading the rest.
        result = await self._committer.submit(request)
        status, payload = _ERROR if isinstance(result, BaseException) else http.intake_answer(result)
        if too_large:
            await _answer(send, status, payload, close=True)
            return
        await _answer(send, status, payload)


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool] | None:
    """The body (cut at the limit + 1 byte, and whether it was), or None when the connection was lost first:
    part of a body is not an alert, even when that part parses."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            chunks.append(chunk)
            return b"".join(chunks)[: limit + 1], True
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


async def _answer(
    send: Send, status: int, payload: BaseModel, *, close: bool = False, allow: str = ""
) -> None:
    body = http.body_text(payload).encode()
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

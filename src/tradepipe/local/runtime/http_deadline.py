"""The intake's HTTP protocol: uvicorn's httptools protocol with a deadline for each request to arrive whole.

The intake is the port a trader exposes through a tunnel. uvicorn closes a connection idle between requests
(`timeout_keep_alive`), but once a byte arrives it waits for the rest of the request for ever: a sender
trickling its headers or its body a byte at a time holds a connection, a file descriptor and, for a body, an
asyncio task, and a few hundred such senders lock out TradingView (slowloris). TradingView sends each alert
at once (one small POST), so a request that has not arrived whole `REQUEST_ARRIVAL_S` after its first byte
(or after its connection opened, for the first) is cut: the connection is closed. The app, if it was already
reading the body, sees `http.disconnect` and answers nothing (`intake.py`). Between requests on a kept-alive
connection, uvicorn's own `timeout_keep_alive` closes an idle one."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Generous for a tunnel relaying a 16 KB body from anywhere; a slow sender is cut well before it matters.
REQUEST_ARRIVAL_S = 10.0


class DeadlineProtocol(HttpToolsProtocol):
    arrival_s: float = REQUEST_ARRIVAL_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm()  # the first request's first byte; between requests uvicorn's keep-alive timeout applies

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()  # each request, pipelined ones included, from its own first byte

    def on_message_complete(self) -> None:
        self._disarm()  # arrived whole: answering it is the app's, however long that takes
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.arrival_s, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def protocol_with_deadline(arrival_s: float) -> type[Any]:
    """The protocol class with another deadline (tests)."""
    return type("DeadlineProtocol", (DeadlineProtocol,), {"arrival_s": arrival_s})

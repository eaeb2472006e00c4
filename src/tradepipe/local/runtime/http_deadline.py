"""The intake's HTTP protocol: uvicorn's httptools protocol with a deadline for each request to arrive whole.

The intake is the port a trader exposes through a tunnel. uvicorn closes a connection idle between requests
(`timeout_keep_alive`), but once a byte arrives it waits for the rest of the request for ever: a sender
trickling its headers or its body a byte at a time holds a connection, a file descriptor and, for a body, an
asyncio task, and a few hundred such senders lock out TradingView (slowloris). TradingView sends each alert
at once (one small POST), so a request that has not arrived whole `REQUEST_ARRIVAL_S` after its connection
opened, or after the answer to the one before it on that connection, is cut: the connection is closed. The
app, if it was already reading the body, sees `http.disconnect` and answers nothing (`intake.py`)."""

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
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()  # arrived whole: answering it is the app's, however long that takes
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The next request on this connection has its own deadline, unless one already arrived whole
        # (pipelined: uvicorn has started it, and its cycle's answer is not complete).
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._arm()

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

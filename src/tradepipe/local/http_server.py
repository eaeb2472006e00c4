"""Serve an ASGI app with uvicorn in a daemon thread: the local API, the paper broker.

    with ThreadedServer(app, port=0) as server:   # port 0: the OS picks a free port
        httpx.get(server.url)

The listening socket is bound here, before uvicorn starts, so port 0 works without a find-a-free-port race
and `url` is known as soon as the object exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import uvicorn


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now, for a process started elsewhere (`tradepipe local --port`); servers in this
    process bind port 0 instead."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class QuietServer(uvicorn.Server):
    """uvicorn, minus its idle wake-ups. uvicorn's main loop wakes every 0.1 s to see whether it should exit
    (and once a second refreshes the Date header): ~1.5 ms of CPU a second per idle server, in each of the
    runtime's processes that serve HTTP, all day. This loop wakes once a second for the header and at once
    when told to exit (`should_exit`, set by uvicorn's signal handler or by `ThreadedServer.stop`)."""

    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None
    _exit = False

    @property
    def should_exit(self) -> bool:
        return self._exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._exit = value
        loop, wake = self._loop, self._wake
        if value and loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between: nothing left to wake
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        counter = 0
        while not await self.on_tick(counter):
            # on_tick refreshes the default headers when counter % 10 == 0: every tick here is a second.
            counter = (counter + 10) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)


class _ThreadServer(QuietServer):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Ctrl-C and SIGTERM belong to the main thread (the CLI or pytest), never to a server in a thread.
        # uvicorn already skips this off the main thread; overriding makes it independent of that detail.
        yield


class ThreadedServer:
    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0, name: str = "http", http: Any = "auto"
    ) -> None:
        self.host = host
        self.name = name
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # proto must say TCP: asyncio sets TCP_NODELAY on accepted connections only for IPPROTO_TCP sockets,
        # and without it every keep-alive response waits ~40 ms on Nagle + delayed ACK.
        self._socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
        except OSError:
            self._socket.close()
            raise
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            # None: leave the process's logging configuration alone (uvicorn's default would replace it).
            log_config=None,
            lifespan="off",
            http=http,  # uvicorn's name for one, or a protocol class
            ws="none",  # no websocket routes; also skips importing the websockets package
            # Slow responses (the broker's injected delays) must not hold shutdown for long.
            timeout_graceful_shutdown=1,
        )
        self._server = _ThreadServer(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> ThreadedServer:
        """Serve in a daemon thread; returns once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("already started")
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name=self.name, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"{self.name} on {self.url} exited during startup")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"{self.name} on {self.url} did not start within {timeout_s} s")
            time.sleep(0.01)
        with socket.create_connection((self.host, self.port), timeout=timeout_s):
            pass
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=timeout_s)
            self._thread = None
        self._socket.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

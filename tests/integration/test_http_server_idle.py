"""The runtime's HTTP servers (intake, operator API, paper broker) sit idle most of the day: their event loop
must not wake ten times a second (uvicorn's own main loop), yet must stop at once when asked."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from tradepipe.local.http_server import QuietServer, ThreadedServer


async def _ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_an_idle_server_wakes_about_once_a_second_not_ten_times() -> None:
    ticks: list[float] = []
    original = QuietServer.on_tick

    async def counted(self: QuietServer, counter: int) -> bool:
        ticks.append(time.monotonic())
        return await original(self, counter)

    server = ThreadedServer(_ok)
    server._server.on_tick = counted.__get__(server._server)  # type: ignore[method-assign]
    with server:
        assert httpx.get(server.url, timeout=5).text == "ok"
        ticks.clear()
        time.sleep(2.1)
    # uvicorn's loop ticks every 0.1 s (~21 here); this one once a second (2 or 3).
    assert len(ticks) <= 4, f"{len(ticks)} wake-ups in 2.1 s of idling"


def test_stop_is_not_held_by_the_one_second_tick() -> None:
    server = ThreadedServer(_ok).start()
    time.sleep(0.05)  # inside the loop's one-second wait
    started = time.monotonic()
    stopping = threading.Thread(target=server.stop)
    stopping.start()
    stopping.join(timeout=5)
    # Woken by should_exit, not by the next tick a second later.
    assert time.monotonic() - started < 0.5

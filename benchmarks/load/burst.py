"""An open-loop burst: N alerts spread evenly over one second on C keep-alive connections, each request's
send and answer times recorded. Raw HTTP/1.1 on asyncio (uvloop), so the sender costs little CPU and never
waits for one answer before sending the next on another connection."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Sent:
    sent_at: float
    answered_at: float | None
    status: int | None
    answer: bytes = b""


async def _connection(
    host: str, port: int, path: str, bodies: list[tuple[float, bytes]], out: list[Sent]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    pending: asyncio.Queue[float] = asyncio.Queue()

    async def read_answers() -> None:
        for _ in bodies:
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            answer = await reader.readexactly(length)
            sent_at = await pending.get()
            status = int(status_line.split()[1]) if status_line else None
            out.append(Sent(sent_at, time.time(), status, answer))

    answers = asyncio.create_task(read_answers())
    for at, body in bodies:
        delay = at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        pending.put_nowait(time.time())
        writer.write(request)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(answers, timeout=30)
    writer.close()


def burst(
    url: str, make_body: Callable[[int], dict[str, object]], n: int, connections: int, spread_s: float = 1.0
) -> list[Sent]:
    parts = urlsplit(url)
    start = time.time() + 0.2
    plan = [(start + spread_s * i / n, json.dumps(make_body(i)).encode()) for i in range(n)]
    out: list[Sent] = []

    async def main() -> None:
        await asyncio.gather(
            *(
                _connection(
                    parts.hostname or "127.0.0.1", parts.port or 80, parts.path, plan[c::connections], out
                )
                for c in range(connections)
            )
        )

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
    answered = {(s.sent_at) for s in out}
    lost = [Sent(at, None, None) for at, _ in plan if at not in answered][: n - len(out)]
    return out + lost

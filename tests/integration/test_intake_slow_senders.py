"""The intake's port against slow and odd senders (local/runtime/http_deadline.py, local/runtime/intake.py):
the real intake app and group committer on SQLite behind uvicorn with the deadline protocol (0.5 s here,
10 s in the runtime), spoken to over raw sockets."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tradepipe.adapters.memory import StaticPassphrases
from tradepipe.app.intake import IntakeDeps
from tradepipe.backends.sqlite import SqliteBackend
from tradepipe.local.http_server import ThreadedServer
from tradepipe.local.runtime.http_deadline import DeadlineProtocol, protocol_with_deadline
from tradepipe.local.runtime.intake import GroupCommitter, IntakeApp
from tradepipe.local.runtime.roles import server_config
from tradepipe.settings import Settings

DEADLINE_S = 0.5


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Metrics:
    def add(self, counts: Any) -> None:
        pass


class Intake:
    def __init__(self, server: ThreadedServer, backend: SqliteBackend) -> None:
        self.server, self.backend = server, backend

    def connect(self) -> socket.socket:
        sock = socket.create_connection((self.server.host, self.server.port), timeout=5)
        sock.settimeout(0.1)
        return sock

    def recorded(self) -> int:
        return sum(self.backend.signal_fifo.depth())


@pytest.fixture
def intake(tmp_path: Path) -> Iterator[Intake]:
    backend = SqliteBackend(Settings.explicit(backend="sqlite", state_dir=str(tmp_path)))
    deps = IntakeDeps(
        secrets=StaticPassphrases(default="p"),
        store=backend.signal_store,
        queue=backend.signal_queue,
        clock=Clock(),
        dedupe_ttl_s=3600,
    )
    committer = GroupCommitter(backend.db, deps, None, Metrics())
    committer.start()
    server = ThreadedServer(IntakeApp(committer), http=protocol_with_deadline(DEADLINE_S), name="intake")
    with server:
        yield Intake(server, backend)
    committer.stop()
    committer.join(5)


def _alert(ticker: str = "MSFT") -> bytes:
    alert = {"passphrase": "p", "ticker": ticker, "action": "buy", "quantity": 1, "signalPrice": 100}
    return json.dumps({**alert, "time": datetime.now(UTC).isoformat()}).encode()


def _post(body: bytes, length: int | None = None) -> bytes:
    head = "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
    return (head + f"{len(body) if length is None else length}\r\n\r\n").encode() + body


def _closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> tuple[bool, bytes]:
    """Whether the server closed the connection within `seconds` while we sent `trickle` every 0.1 s."""
    got, until = b"", time.monotonic() + seconds
    while time.monotonic() < until:
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            if trickle:
                try:
                    sock.sendall(trickle)
                except OSError:
                    return True, got
            continue
        except OSError:
            return True, got
        if not chunk:
            return True, got
        got += chunk
    return False, got


def _answers(sock: socket.socket, count: int) -> list[int]:
    got, until = b"", time.monotonic() + 5
    while got.count(b"HTTP/1.1 ") < count and time.monotonic() < until:
        try:
            got += sock.recv(65536)
        except TimeoutError:
            continue
    return [int(part[:3]) for part in got.split(b"HTTP/1.1 ")[1:]]


@pytest.mark.parametrize("trickle", [b"X-Slow: 1\r\n", b""], ids=["trickling headers", "silent"])
def test_a_request_that_does_not_arrive_in_time_is_cut(intake: Intake, trickle: bytes) -> None:
    sock = intake.connect()
    sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\n" if trickle else b"")

    closed, answer = _closed_within(sock, DEADLINE_S * 6, trickle)

    assert closed
    assert answer == b""


def test_a_body_cut_for_its_slowness_is_never_taken_for_an_alert(intake: Intake) -> None:
    # The first bytes already make a valid alert; the rest promised by Content-Length never comes.
    body = _alert()
    sock = intake.connect()
    sock.sendall(_post(body, length=len(body) + 100))

    closed, answer = _closed_within(sock, DEADLINE_S * 6, trickle=b" ")

    assert closed
    assert answer == b""
    time.sleep(0.3)  # what the app was handed is decided and committed by now
    assert intake.recorded() == 0  # part of a body is not an alert


def test_a_sender_gone_mid_body_leaves_nothing_recorded(intake: Intake) -> None:
    body = _alert()
    sock = intake.connect()
    sock.sendall(_post(body, length=len(body) + 100))
    time.sleep(0.1)
    sock.close()
    time.sleep(0.3)

    assert intake.recorded() == 0


def test_requests_in_time_on_one_connection_are_answered_each_with_its_own_deadline(intake: Intake) -> None:
    sock = intake.connect()
    sock.sendall(_post(_alert("MSFT")))
    assert _answers(sock, 1) == [202]
    time.sleep(DEADLINE_S * 0.6)
    sock.sendall(_post(_alert("AAPL")))  # its own deadline, from its first byte
    assert _answers(sock, 1) == [202]
    time.sleep(DEADLINE_S * 0.6)
    sock.sendall(_post(_alert("IBM")) + _post(_alert("GOOG")))  # pipelined
    assert _answers(sock, 2) == [202, 202]

    assert intake.recorded() == 4


def test_a_pipelined_request_trickling_behind_an_answered_one_is_cut(intake: Intake) -> None:
    body = _alert("AAPL")
    sock = intake.connect()
    # A whole first request, then the head and part of the body of a second, in one send.
    sock.sendall(_post(_alert("MSFT")) + _post(body, length=len(body) + 100))
    assert _answers(sock, 1) == [202]

    closed, _ = _closed_within(sock, DEADLINE_S * 6, trickle=b" ")

    assert closed
    time.sleep(0.3)
    assert intake.recorded() == 1


def test_a_request_is_timed_from_its_own_first_byte_not_from_the_answer_before_it(intake: Intake) -> None:
    sock = intake.connect()
    sock.sendall(_post(_alert("MSFT")))
    assert _answers(sock, 1) == [202]
    time.sleep(DEADLINE_S * 0.8)  # idle, kept alive
    second = _post(_alert("AAPL"))
    sock.sendall(second[:20])
    time.sleep(DEADLINE_S * 0.5)  # slow, but it arrives whole within its own deadline
    sock.sendall(second[20:])

    assert _answers(sock, 1) == [202]


def test_a_websocket_upgrade_is_an_ordinary_request(intake: Intake) -> None:
    sock = intake.connect()
    sock.sendall(
        b"GET /webhook HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )

    assert _answers(sock, 1) == [405]  # POST only; not a 500 for a handshake nobody answers


def test_the_runtime_serves_the_intake_with_the_deadline_no_websockets_and_a_connection_limit() -> None:
    config: Any = server_config(object(), "127.0.0.1", 0, fast=True)

    assert config.http is DeadlineProtocol
    assert DeadlineProtocol.arrival_s == 10.0
    assert config.ws == "none"
    assert 64 <= config.limit_concurrency <= 1000
    assert server_config(object(), "127.0.0.1", 0, fast=False).ws == "none"  # the operator API too

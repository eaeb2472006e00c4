"""`tradepipe local` as a user starts it: a separate process on free ports, its output in a file (never a
pipe nobody drains after start-up: a full pipe would block the stack mid-test)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tradepipe.local.http_server import free_port

PASSPHRASE = "local stack passphrase"
STARTED = "passphrase"  # the last line `tradepipe local` prints once everything listens


@dataclass(frozen=True)
class RunningLocal:
    api_url: str
    broker_url: str
    search_url: str
    passphrase: str
    log: Path  # everything the process printed, for a failing test's report


@contextmanager
def running_local(log: Path, startup_s: float = 60.0) -> Iterator[RunningLocal]:
    ports = {name: free_port() for name in ("port", "broker-port", "search-port", "aws-port")}
    args = [sys.executable, "-m", "tradepipe.cli", "local", "--passphrase", PASSPHRASE]
    for name, port in ports.items():
        args += [f"--{name}", str(port)]
    with log.open("w") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI with the current interpreter
            args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
    try:
        deadline = time.monotonic() + startup_s
        while STARTED not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if STARTED not in log.read_text():
            raise RuntimeError(f"tradepipe local did not start (output in {log}):\n{log.read_text()}")
        yield RunningLocal(
            f"http://127.0.0.1:{ports['port']}",
            f"http://127.0.0.1:{ports['broker-port']}",
            f"http://127.0.0.1:{ports['search-port']}",
            PASSPHRASE,
            log,
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

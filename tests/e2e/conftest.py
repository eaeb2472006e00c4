"""Start `tradepipe local` as the user would (a separate process), on free ports, and stop it after."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tradepipe.local.http_server import free_port

PASSPHRASE = "e2e passphrase"


@dataclass(frozen=True)
class RunningLocal:
    api_url: str
    broker_url: str
    search_url: str
    passphrase: str


@pytest.fixture(scope="session")
def local_stack() -> Iterator[RunningLocal]:
    ports = {name: free_port() for name in ("port", "broker-port", "search-port", "aws-port")}
    args = [sys.executable, "-m", "tradepipe.cli", "local", "--passphrase", PASSPHRASE]
    for name, port in ports.items():
        args += [f"--{name}", str(port)]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,  # noqa: S603
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    deadline, seen = time.monotonic() + 60, []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if "passphrase" in line:
            break
    else:
        proc.kill()
    if proc.poll() is not None:
        pytest.fail("tradepipe local did not start:\n" + "".join(seen))
    yield RunningLocal(
        f"http://127.0.0.1:{ports['port']}",
        f"http://127.0.0.1:{ports['broker-port']}",
        f"http://127.0.0.1:{ports['search-port']}",
        PASSPHRASE,
    )
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()

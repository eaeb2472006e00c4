"""`tradepipe local` as a user starts it: a separate process with its own state directory on free ports, its
output in a file (never a pipe nobody drains after start-up: a full pipe would block the runtime mid-test)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tradepipe.local.http_server import free_port

PASSPHRASE = "local stack passphrase"
STARTED = "live page"  # printed once every process serves


@dataclass(frozen=True)
class RunningLocal:
    webhook_url: str
    operator_url: str
    broker_url: str
    search_url: str
    passphrase: str
    state_dir: Path
    token: str
    broker_key: str
    broker_secret: str
    log: Path  # everything the process printed, for a failing test's report

    def operator(self) -> httpx.Client:
        """The operator API with this install's token (what `tradepipe status`/`halt` use)."""
        return httpx.Client(base_url=self.operator_url, headers={"X-Tradepipe-Token": self.token}, timeout=10)


@contextmanager
def running_local(state_dir: Path, *extra: str, timeout_s: float = 90.0) -> Iterator[RunningLocal]:
    ports = {name: free_port() for name in ("port", "operator-port", "broker-port", "search-port")}
    args = [sys.executable, "-m", "tradepipe.cli", "local", "--state-dir", str(state_dir)]
    args += ["--passphrase", PASSPHRASE]
    # The default broker (the Alpaca behaviour: asynchronous fills and cancels, 200 requests a minute), its
    # market always open: these tests run at any hour.
    args += ["--always-open"]
    for name, port in ports.items():
        args += [f"--{name}", str(port)]
    log = state_dir.parent / f"{state_dir.name}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI with the current interpreter
            [*args, *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout_s
    while STARTED not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if STARTED not in log.read_text():
        proc.kill()
        raise RuntimeError("tradepipe local did not start:\n" + log.read_text())
    secrets = json.loads((state_dir / "secrets.json").read_text())
    try:
        yield RunningLocal(
            webhook_url=f"http://127.0.0.1:{ports['port']}/webhook",
            operator_url=f"http://127.0.0.1:{ports['operator-port']}",
            broker_url=f"http://127.0.0.1:{ports['broker-port']}",
            search_url=f"http://127.0.0.1:{ports['search-port']}",
            passphrase=PASSPHRASE,
            state_dir=state_dir,
            token=(state_dir / "operator.token").read_text().strip(),
            broker_key=secrets["alpaca"]["paper"]["api_key"],
            broker_secret=secrets["alpaca"]["paper"]["secret_key"],
            log=log,
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)

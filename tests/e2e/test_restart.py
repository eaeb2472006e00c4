"""Restart safety: the same scripted day of alerts (entries, exits, exact repeats, price moves that make
losers, a halt and a resume) runs twice against the same kind of paper broker: once uninterrupted (the
control), once while the whole runtime (supervisor, intake, workers, operator, osmem; not the broker, which
is Alpaca's stand-in) is killed with SIGKILL at random moments and started again on the same state directory.

The sender behaves as a careful TradingView would if it could: an alert that got no answer (the runtime was
down) is sent again once the runtime is back; every answer must then be a 2xx or the 4xx the control got.
Afterwards both runs must agree on every alert's outcome, and on the trading state, high-water mark, losing
streak, cooldowns and broker positions; every answered alert is terminal exactly once and none has a second
order."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.models import Order
from alpaca.trading.requests import GetOrdersRequest

from tests.local_stack import PASSPHRASE
from tradepipe.adapters.sqlite.database import Database
from tradepipe.adapters.sqlite.records import SqliteSignalStore
from tradepipe.adapters.sqlite.risk_state import SqliteRiskStateStore
from tradepipe.domain.model import TERMINAL_STATUSES, SignalStatus
from tradepipe.local.http_server import free_port

pytestmark = pytest.mark.e2e

STEPS_N = int(os.environ.get("TRADEPIPE_RESTART_STEPS", "240"))
PRICES = {
    "MSFT": Decimal("27.95"),
    "IBM": Decimal("202.91"),
    "FB": Decimal("27.78"),
    "GOOG": Decimal("806.19"),
}
STRATEGIES = ("alpha", "beta", "gamma")
RISK = Path(__file__).with_name("risk_restart.toml")
# The runtime is killed while the script runs at KILLS steps chosen at random, each after a random delay of
# up to KILL_DELAY_S so it lands anywhere in the processing of the alerts in flight (the answer, the risk
# decision, the order, the indexing).
KILLS = 6
KILL_DELAY_S = 0.4
KEY, SECRET = "PKRESTARTTEST0000001", "restart-test-secret-key-000000000000000"


# --- the script ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    kind: str  # alert | repeat | price | halt | resume
    body: dict[str, Any] = field(default_factory=dict)
    repeat_of: int = -1
    prices: dict[str, str] = field(default_factory=dict)


def script(n: int) -> list[Step]:
    """Deterministic (seeded): entries and exits per ticker and strategy, repeats of earlier alerts, price
    moves between an entry and its exit (some exits lose: the losing streak reaches its limit and REDUCING
    holds the rest of the day's entries back), a halt and a resume."""
    rng = random.Random(20261203)  # noqa: S311 - a reproducible plan, not security
    steps: list[Step] = []
    holding: dict[tuple[str, str], bool] = {}
    prices = dict(PRICES)
    for i in range(n):
        if i == n // 3:
            steps.append(Step("halt"))
            continue
        if i == n // 3 + 20:
            steps.append(Step("resume"))
            continue
        roll = rng.random()
        alerts = [j for j, s in enumerate(steps) if s.kind == "alert"]
        if roll < 0.12 and alerts:
            steps.append(Step("repeat", repeat_of=rng.choice(alerts)))
            continue
        if roll < 0.22:
            ticker = rng.choice(sorted(prices))
            prices[ticker] = (
                prices[ticker] * Decimal(rng.choice(("0.97", "0.99", "1.01", "1.03")))
            ).quantize(Decimal("0.01"))
            steps.append(Step("price", prices={ticker: str(prices[ticker])}))
            continue
        ticker, strategy = rng.choice(sorted(prices)), rng.choice(STRATEGIES)
        if holding.get((ticker, strategy)):
            body = {"ticker": ticker, "action": "exit", "strategy": strategy}
            holding[(ticker, strategy)] = False
        else:
            body = {
                "ticker": ticker,
                "action": rng.choice(("buy", "sell")),
                "quantity": rng.randint(1, 4),
                "quantityType": "fixed_quantity",
                "signalPrice": str(prices[ticker]),
                "stopLoss": {"percent": 5},
                "strategy": strategy,
            }
            holding[(ticker, strategy)] = True
        steps.append(Step("alert", body={**body, "n": i}))
    return steps


# --- one run ------------------------------------------------------------------------------------------------


class Runtime:
    """`tradepipe local` on fixed ports and one state directory, started again after each kill."""

    def __init__(self, root: Path, broker_url: str) -> None:
        self.state = root / "state"
        self.ports = {name: free_port() for name in ("port", "operator-port", "search-port")}
        self.broker_url = broker_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.up = threading.Event()
        self.starts = 0
        self.kills = 0
        self.lock = threading.Lock()

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.ports['port']}/webhook"

    @property
    def operator(self) -> str:
        return f"http://127.0.0.1:{self.ports['operator-port']}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        # The risk stage reads equity for every signal: with the 5 s snapshot, which equity a decision sees
        # (and so the high-water mark it raises) depends on when a restarted process last read it, a timing
        # both runs cannot share; the durability of what is decided is what this test compares.
        args = [sys.executable, "-m", "tradepipe.cli", "local", "--state-dir", str(self.state)]
        args += ["--broker-snapshot-age", "0"]
        args += ["--broker-url", self.broker_url, "--risk-config", str(RISK), "--passphrase", PASSPHRASE]
        for name, port in self.ports.items():
            args += [f"--{name}", str(port)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "APCA_API_KEY_ID": KEY, "APCA_API_SECRET_KEY": SECRET}
        proc = subprocess.Popen(  # noqa: S603
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        assert proc.stdout is not None
        deadline, seen = time.monotonic() + 90, b""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            seen += line
            if b"live page" in line:
                break
            if not line and proc.poll() is not None:
                break
        if b"live page" not in seen:
            proc.kill()
            raise AssertionError("runtime did not start:\n" + seen.decode(errors="replace"))
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep draining its output
        self.proc = proc
        self.starts += 1
        self.up.set()

    def kill(self) -> None:
        with self.lock:
            if self.alive():
                assert self.proc is not None
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                self.kills += 1
                self.up.clear()

    def ensure_up(self) -> None:
        with self.lock:
            if not self.alive():
                self.start()

    def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


class Killer:
    """Kills the runtime at chosen steps, after a random delay (a timer thread: the step goes on)."""

    def __init__(self, runtime: Runtime, rng: random.Random, steps: int) -> None:
        self.runtime, self.rng = runtime, rng
        self.at = set(rng.sample(range(5, steps), KILLS))

    def step(self, i: int) -> None:
        if i in self.at:
            threading.Timer(self.rng.uniform(0, KILL_DELAY_S), self.runtime.kill).start()


@dataclass
class Outcome:
    answers: list[int | None] = field(default_factory=list)  # HTTP status per alert step, None for non-alerts
    resent: set[int] = field(default_factory=set)  # steps whose first attempt was cut by a kill
    outcomes: list[tuple[str, str | None] | None] = field(default_factory=list)  # (status, reason) per step
    signal_ids: list[str | None] = field(default_factory=list)
    state: tuple[str, Decimal, int] | None = None
    cooldowns: set[tuple[str, str]] = field(default_factory=set)
    positions: dict[str, Decimal] = field(default_factory=dict)
    orders_per_signal: Counter[str] = field(default_factory=Counter)
    terminal_entries: dict[str, int] = field(default_factory=dict)
    kills: int = 0


def start_broker(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "TRADEPIPE_PAPER_BROKER_KEY_ID": KEY,
        "TRADEPIPE_PAPER_BROKER_SECRET_KEY": SECRET,
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "tradepipe.local.paper_broker",
            "--port",
            str(port),
            "--state-dir",
            str(root / "broker"),
            # The Alpaca behaviour (asynchronous fills and cancels), always open (the test runs at any hour),
            # its rate limit raised: the scripted day compresses hours of alerts into a minute or two, ten
            # times what 200 requests a minute would carry (the limit has its own tests).
            "--behaviour",
            "alpaca",
            "--always-open",
            "--rate-limit",
            "100000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, "paper broker did not start"
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    return proc, f"http://127.0.0.1:{port}"


def _send(runtime: Runtime, http: httpx.Client, body: bytes) -> tuple[httpx.Response, bool]:
    """POST until answered: a connection refused or cut by a kill is sent again once the runtime is back.
    Says whether it had to resend (a cut attempt may have been recorded before the kill, as TradingView's
    would be, so its resend is rightly answered 200 duplicate)."""
    resent = False
    while True:
        runtime.ensure_up()
        try:
            response = http.post(runtime.webhook, content=body, headers={"Content-Type": "application/json"})
            return response, resent
        except httpx.TransportError:
            resent = True
            time.sleep(0.2)


def _operate(runtime: Runtime, http: httpx.Client, state: str) -> None:
    token = (runtime.state / "operator.token").read_text().strip()
    while True:
        runtime.ensure_up()
        try:
            response = http.post(
                f"{runtime.operator}/trading-state/paper",
                json={"state": state, "reason": "restart test"},
                headers={"X-Tradepipe-Token": token},
            )
            response.raise_for_status()
            return
        except httpx.TransportError:
            time.sleep(0.2)


def _wait_terminal(runtime: Runtime, store: SqliteSignalStore, signal_id: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        item = store.get(signal_id)
        if item is not None and item.status in TERMINAL_STATUSES:
            return
        runtime.ensure_up()  # a kill while waiting: the restarted workers finish the signal
        time.sleep(0.05)
    dead = store._db.connection().execute("SELECT queue, receive_count, body FROM dead_letters").fetchall()
    raise AssertionError(
        f"signal {signal_id} not terminal within {timeout_s} s: {store.get(signal_id)}; dead letters: {dead}"
    )


def run_script(root: Path, steps: list[Step], kill: bool) -> Outcome:
    broker, broker_url = start_broker(root)
    runtime = Runtime(root, broker_url)
    outcome = Outcome()
    killer = Killer(runtime, random.Random(7), len(steps)) if kill else None  # noqa: S311
    sent: dict[int, bytes] = {}
    try:
        runtime.start()
        store = SqliteSignalStore(Database(runtime.state / "tradepipe.db"))
        with httpx.Client(timeout=30) as http:
            for i, step in enumerate(steps):
                if killer is not None:
                    killer.step(i)
                outcome.answers.append(None)
                outcome.signal_ids.append(None)
                if step.kind == "price":
                    httpx.post(
                        f"{broker_url}/_paper/prices",
                        json=step.prices,
                        headers={"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET},
                    ).raise_for_status()
                    continue
                if step.kind in ("halt", "resume"):
                    _operate(runtime, http, "HALTED" if step.kind == "halt" else "ACTIVE")
                    continue
                if step.kind == "alert":
                    when = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                    sent[i] = json.dumps({"passphrase": PASSPHRASE, **step.body, "time": when}).encode()
                body = sent[step.repeat_of] if step.kind == "repeat" else sent[i]
                response, resent = _send(runtime, http, body)
                outcome.answers[i] = response.status_code
                if resent:
                    outcome.resent.add(i)
                signal_id = response.json().get("signal_id")
                outcome.signal_ids[i] = signal_id
                if signal_id and response.status_code in (200, 202):
                    _wait_terminal(runtime, store, signal_id)
        time.sleep(KILL_DELAY_S)  # the last timer has fired
        runtime.ensure_up()
        for signal_id in {s for s in outcome.signal_ids if s}:
            _wait_terminal(runtime, store, signal_id)
        outcome.outcomes = [_outcome(store, s) if s else None for s in outcome.signal_ids]
        outcome.terminal_entries = {
            s: sum(1 for e in item.history if e.status in TERMINAL_STATUSES)
            for s in {s for s in outcome.signal_ids if s}
            if (item := store.get(s)) is not None
        }
        risk = SqliteRiskStateStore(Database(runtime.state / "tradepipe.db"))
        stored = risk.trading_state("paper")
        outcome.state = (stored.state, stored.high_water_mark, stored.losing_streak)
        outcome.cooldowns = {
            (t, s) for t in PRICES for s in STRATEGIES if any(risk.symbol_history("paper", t, s)[:2])
        }
        client = TradingClient(KEY, SECRET, paper=True, url_override=broker_url)
        outcome.positions = {
            p.symbol: Decimal(str(p.qty))  # type: ignore[union-attr]
            for p in client.get_all_positions()
        }
        orders = [
            o
            for o in client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, limit=500, nested=False))
            if isinstance(o, Order)
        ]
        # A signal's own orders (its entry, its close); protection the reconciler re-armed is not a signal's.
        outcome.orders_per_signal = Counter(
            o.client_order_id.split("-")[1]
            for o in orders
            if o.client_order_id.startswith("tp-") and o.client_order_id.endswith(("-open", "-close"))
        )
        outcome.kills = runtime.kills
    finally:
        runtime.stop()
        broker.terminate()
        broker.wait(timeout=20)
    return outcome


def _outcome(store: SqliteSignalStore, signal_id: str) -> tuple[str, str | None]:
    item = store.get(signal_id)
    assert item is not None
    return item.status.value, item.reject_reason


def test_runtime_killed_at_random_then_same_outcome_as_uninterrupted_run(tmp_path: Path) -> None:
    steps = script(STEPS_N)

    # The two runs share nothing (each its own broker, runtime, ports and files) and spend most of their time
    # waiting on each alert's fill wait, so they run side by side: the test takes one run's time, not two.
    with ThreadPoolExecutor(max_workers=2) as pool:
        control_run = pool.submit(run_script, tmp_path / "control", steps, False)
        chaos_run = pool.submit(run_script, tmp_path / "chaos", steps, True)
        control, chaos = control_run.result(), chaos_run.result()

    sys.stdout.write(
        f"\nrestart test: {len(steps)} steps, runtime killed {chaos.kills} times; "
        f"outcomes {Counter(o for o in chaos.outcomes if o)}; state {chaos.state}; "
        f"positions {chaos.positions}\n"
    )
    assert chaos.kills >= KILLS - 1  # a timer may fire while the runtime is still restarting
    # Every alert answered as in the control; an attempt cut by a kill may have been recorded before it, so
    # its resend is 200 (duplicate, same signal) where the control said 202: that is the promise, not a loss.
    assert [
        control.answers[i] if i in chaos.resent and (a, control.answers[i]) == (200, 202) else a
        for i, a in enumerate(chaos.answers)
    ] == control.answers
    assert chaos.outcomes == control.outcomes
    assert chaos.state == control.state
    assert chaos.cooldowns == control.cooldowns
    assert chaos.positions == control.positions
    assert set(chaos.terminal_entries.values()) == {1}  # terminal exactly once
    assert max(chaos.orders_per_signal.values()) <= 2  # an entry, or a close and an open: never a second
    assert sorted(chaos.orders_per_signal.values()) == sorted(control.orders_per_signal.values())
    # The day exercised what must survive a restart.
    assert control.state is not None
    assert control.state[1] > 0  # a high-water mark was recorded
    assert any(o and o[1] == "TRADING_HALTED" for o in control.outcomes)
    assert any(o and o[1] == "COOLDOWN" for o in control.outcomes)
    assert any(o and o[0] == SignalStatus.FILLED.value for o in control.outcomes)

"""Chaos on the single-machine runtime: 2,000 alerts (20% exact repeats) against a paper broker injecting
every fault (5xx before and after accept, 429 with rate-limit headers, timeouts before and after accept,
partial fills, asynchronous rejections) at a combined 23%, on top of Alpaca's asynchronous lifecycle (orders
answered pending_new and filled tens of ms later, cancels through pending_cancel), while the workers process
(risk, executor, reconciler, indexer) is killed with SIGKILL at random moments and restarted by the
supervisor: crashes land anywhere, between the broker's accept and the record, or between a leg's cancel and
the close, included. Afterwards: no signal has more orders than it may, every accepted signal is terminal (or
its message sits in the dead-letter table), and each broker position equals the sum of the recorded fills
and of the broker's own fill activities.

Every entry carries a stop (an OTO order); the plan's FB and GOOG alerts alternate sides, so positions are
reversed again and again (legs cancelled, the close, the new entry). A sampler reads the broker's positions
and open orders through alpaca-py all along and records, per position, every stretch in which its working
stop orders did not cover all of it; none may last longer than the replacement window (see WINDOW_S)."""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.models import Order
from alpaca.trading.requests import GetOrdersRequest

from tests.alpaca_models import broker_order
from tradepipe.app.protective_close import resting
from tradepipe.domain.model import TERMINAL_STATUSES
from tradepipe.domain.protection import coverage
from tradepipe.local.demo import run_schedule_now
from tradepipe.local.runtime.supervisor import LocalConfig, Supervisor
from tradepipe.ports.broker import BrokerOrder

pytestmark = pytest.mark.chaos
# `make chaos` runs the full 2,000; `make test` a smaller run of the same test to stay within its budget.
ALERTS = int(os.environ.get("TRADEPIPE_CHAOS_ALERTS", "2000"))
REPEAT_SHARE = 0.20
FAULTS = {
    "server_error": 0.04,
    "server_error_after_accept": 0.03,
    "rate_limited": 0.03,
    "timeout_before_accept": 0.03,
    "timeout_after_accept": 0.03,
    "partial_fill": 0.04,
    "async_reject": 0.03,
    "delay_s": 0.8,
    "partial_fill_delay_s": 0.3,
    "async_reject_delay_s": 0.3,
    "rate_limit_reset_s": 1,
    "seed": 7,
}
# The workers process is killed KILL_AFTER_S (uniformly 0.5x to 1.5x) after each start, at most MAX_KILLS
# times (a restart costs a few seconds of imports, which bounds how long the run takes).
KILL_AFTER_S = 8.0
MAX_KILLS = max(4, ALERTS // 40)
PLAN = [("MSFT", "buy"), ("IBM", "buy"), ("FB", "buy"), ("FB", "sell"), ("GOOG", "sell"), ("GOOG", "buy")]
PRICES = {"MSFT": 27.95, "IBM": 202.91, "FB": 27.78, "GOOG": 806.19}
SCHEDULE_S = 3.0  # the reconciler's period in this run (60 s in production)
# The replacement window: how long a position may lack full stop cover.
# - The executor replacing legs (a reverse): the broker confirms the cancel 50 ms after the request; the
#   executor reads once after cancel_wait_s (0.25 s) and, if not yet, the queue retries the message after
#   0.5 s (its first retry delay), which reads again after 0.25 s; the close is acknowledged and
#   filled 20 + 30 ms after it is sent, and the executor reads it once after fill_wait_s (0.25 s) before
#   the new entry goes out; that entry fills 50 ms later and its stop leg wakes with the fill.
#   0.05 + 0.25 + 0.5 + 0.25 + 0.05 + 0.25 + 0.05 = 1.4 s.
# - Injected faults on those calls: a 429 waits the broker's reset (1 s) once per call that meets it; a
#   timeout costs alpaca_timeout_s (0.5 s) plus a lookup, up to 4 attempts, then the message is retried
#   (0.5, 1, 2 s).
#   A partial fill holds the entry's legs dormant until its last part (partial_fill_delay_s = 0.3 s later).
#   Bounded by the reconciler: whatever the executor leaves uncovered is re-armed at its next run, at most
#   SCHEDULE_S later (plus the run itself, ~1 s under this load).
# - A SIGKILL of the workers in the middle: nothing runs until the supervisor has them back (it polls every
#   0.5 s and restarts a healthy child at once; imports and recovery take seconds on these 2 shared cores),
#   then the redelivered message or the reconciler's next run finishes the replacement. Each kill's downtime
#   (from the SIGKILL until the new workers report ready) is measured, and a stretch with kills in it may
#   last WINDOW_S plus their downtime.
EXECUTOR_WINDOW_S = 1.4
WINDOW_S = EXECUTOR_WINDOW_S + SCHEDULE_S + 1.0


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supervisor]:
    config = LocalConfig.ephemeral(
        tmp_path_factory.mktemp("chaos") / "state",
        log_level="CRITICAL",
        schedule_s=SCHEDULE_S,
        risk_config_path=str(Path(__file__).with_name("risk_chaos.toml")),
        alpaca_timeout_s=0.5,  # below the broker's injected 0.8 s delays
        # The Alpaca behaviour, always open (the test runs at any hour). Its rate limit is raised: the run
        # sends in about a minute what Alpaca's 200 requests a minute would stretch to many, and the coverage
        # sampler reads through the same key; 429s still come, injected (rate_limited).
        broker_behaviour="alpaca",
        always_open=True,
        broker_rate_limit=100_000,
        # Faults, not pacing: the account's request budget would stretch 2,000 alerts over 45 minutes, aging
        # entries into STALE_AT_SUBMIT (tests/e2e/test_request_budget_burst.py holds the budget against
        # Alpaca's limit).
        request_budget_per_minute=0,
    )
    with Supervisor(config) as sup:
        yield sup


def _keys(sup: Supervisor) -> tuple[str, str]:
    pair = sup.backend().local_secrets.alpaca("paper")
    assert pair is not None
    return pair.api_key.get_secret_value(), pair.secret_key.get_secret_value()


def _headers(sup: Supervisor) -> dict[str, str]:
    key, secret = _keys(sup)
    return {"APCA-API-KEY-ID": key, "APCA-API-SECRET-KEY": secret}


def _alerts(passphrase: str) -> list[str]:
    rng = random.Random(11)  # noqa: S311 - a reproducible test plan, not security
    unique = int(ALERTS * (1 - REPEAT_SHARE))
    bodies = []
    for n in range(unique):
        ticker, action = PLAN[n % len(PLAN)]
        bodies.append(
            json.dumps(
                {
                    "passphrase": passphrase,
                    "ticker": ticker,
                    "action": action,
                    "quantity": 1 + n % 3,
                    "quantityType": "fixed_quantity",
                    "signalPrice": PRICES[ticker],
                    # Every entry protected: a stop 10% away (an OTO order at the broker).
                    "stopLoss": {"stopPrice": round(PRICES[ticker] * (0.9 if action == "buy" else 1.1), 2)},
                    "strategy": f"chaos{n % 4}",
                    # No time: sending 2,000 alerts outlasts the 60 s staleness limit; `timeframe` keeps
                    # each alert distinct.
                    "timeframe": f"n{n}",
                }
            )
        )
    repeats = [rng.choice(bodies) for _ in range(ALERTS - unique)]
    mixed = bodies + repeats
    rng.shuffle(mixed)
    return mixed


def _orders(sup: Supervisor) -> list[Order]:
    """Every order at the broker, paged 500 at a time as Alpaca answers."""
    client = TradingClient(*_keys(sup), paper=True, url_override=sup.broker_url)
    found: dict[str, Order] = {}
    after = datetime(2000, 1, 1, tzinfo=UTC)
    while True:
        page = [
            o
            for o in client.get_orders(
                GetOrdersRequest(
                    status=QueryOrderStatus.ALL, limit=500, nested=False, after=after, direction="asc"
                )
            )
            if isinstance(o, Order)
        ]
        found.update((str(o.id), o) for o in page)
        if len(page) < 500 or page[-1].submitted_at is None:
            return list(found.values())
        after = page[-1].submitted_at - timedelta(microseconds=1)


def _activity_net(sup: Supervisor) -> dict[str, Decimal]:
    """The broker's own fill activities summed per symbol: a witness besides positions and our fills."""
    net: dict[str, Decimal] = {}
    token = None
    headers = _headers(sup)
    while True:
        params = {"direction": "asc", "page_size": "100", **({"page_token": token} if token else {})}
        page = httpx.get(
            f"{sup.broker_url}/v2/account/activities/FILL", params=params, headers=headers
        ).json()
        for a in page:
            net[a["symbol"]] = net.get(a["symbol"], Decimal(0)) + Decimal(a["qty"]) * (
                1 if a["side"] == "buy" else -1
            )
        if len(page) < 100:
            return net
        token = page[-1]["id"]


def _dead_lettered_signal_ids(sup: Supervisor) -> set[str]:
    backend = sup.backend()
    found: set[str] = set()
    for fifo in (backend.signal_fifo, backend.intent_fifo):
        for letter in fifo.dead_letters():
            body = json.loads(letter.body)
            found.add(body.get("signal_id") or body["signal"]["signal_id"])
    return found


class CoverageSampler(threading.Thread):
    """Reads the broker's open orders, positions and open orders again (alpaca-py), every SAMPLE_S: a
    position is uncovered in a sample when neither order snapshot's working stops cover all of it (two reads
    around the positions, so a leg replaced between two requests is not taken for a gap). Records each
    stretch of uncovered samples per ticker: (ticker, start, end)."""

    SAMPLE_S = 0.1

    def __init__(self, sup: Supervisor) -> None:
        super().__init__(daemon=True)
        self._client = TradingClient(*_keys(sup), paper=True, url_override=sup.broker_url)
        self._client._retry = 0
        self.stopping = threading.Event()
        self.samples = 0
        self.stretches: list[tuple[str, float, float]] = []
        self._open: dict[str, float] = {}

    def _orders(self) -> dict[str, list[BrokerOrder]]:
        request = GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=500, nested=True)
        by_symbol: dict[str, list[BrokerOrder]] = {}
        for o in self._client.get_orders(request):
            if isinstance(o, Order):
                for order in [
                    broker_order(o),
                    *(broker_order(leg, o.client_order_id) for leg in o.legs or []),
                ]:
                    by_symbol.setdefault(order.symbol, []).append(order)
        return by_symbol

    def _sample(self) -> None:
        before = self._orders()
        held = {
            p.symbol: abs(Decimal(str(p.qty))) * (-1 if str(p.side.value) == "short" else 1)
            for p in self._client.get_all_positions()
        }  # type: ignore[union-attr]
        after = self._orders()
        now = time.monotonic()
        self.samples += 1
        for ticker in set(held) | set(self._open):
            qty = held.get(ticker, Decimal(0))
            uncovered = qty != 0 and not any(
                coverage(qty, [resting(o) for o in snapshot.get(ticker, [])]).full
                for snapshot in (before, after)
            )
            if uncovered:
                self._open.setdefault(ticker, now)
            elif ticker in self._open:
                self.stretches.append((ticker, self._open.pop(ticker), now))

    def run(self) -> None:
        while not self.stopping.wait(self.SAMPLE_S):
            try:
                self._sample()
            except Exception:  # noqa: S112 - a 429 or a timeout: the next sample
                continue

    def finish(self) -> None:
        self.stopping.set()
        self.join(timeout=10)
        now = time.monotonic()
        self.stretches += [(t, start, now) for t, start in self._open.items()]


class WorkerKiller(threading.Thread):
    """SIGKILLs the workers process at random moments; the supervisor starts it again."""

    def __init__(self, sup: Supervisor, rng: random.Random) -> None:
        super().__init__(daemon=True)
        self._sup, self._rng, self.kills = sup, rng, 0
        self.stopping = threading.Event()
        self.downtimes: list[tuple[float, float]] = []  # (SIGKILL, the new workers ready)

    def run(self) -> None:
        while self.kills < MAX_KILLS and not self.stopping.wait(KILL_AFTER_S * self._rng.uniform(0.5, 1.5)):
            child = self._sup.children["workers"]
            process = child.process
            if process is not None and process.poll() is None and child.ready:
                os.kill(process.pid, signal.SIGKILL)
                self.kills += 1
                killed_at = time.monotonic()
                while time.monotonic() - killed_at < 120:
                    back = child.process
                    if back is not None and back.pid != process.pid and child.ready:
                        break
                    time.sleep(0.05)
                self.downtimes.append((killed_at, time.monotonic()))


def test_chaos_no_duplicate_no_lost_order_positions_match_fills(runtime: Supervisor) -> None:
    sup = runtime
    backend = sup.backend()
    httpx.post(f"{sup.broker_url}/_paper/faults", json=FAULTS, headers=_headers(sup)).raise_for_status()
    passphrase = backend.local_secrets.passphrases()["default"].get_secret_value()
    killer = WorkerKiller(sup, random.Random(3))  # noqa: S311 - a reproducible test plan, not security
    sampler = CoverageSampler(sup)
    started = time.monotonic()
    killer.start()
    sampler.start()
    try:
        with httpx.Client(timeout=30) as http, ThreadPoolExecutor(4) as pool:
            answers = list(
                pool.map(lambda body: http.post(sup.webhook_url, content=body).json(), _alerts(passphrase))
            )
        sent_s = time.monotonic() - started
        signal_ids = {a["signal_id"] for a in answers if a.get("status") == "accepted"}
        statuses = Counter(a.get("status") for a in answers)
        store = backend.signal_store
        deadline = time.monotonic() + 120 + ALERTS * 0.8
        pending = set(signal_ids)
        while pending and time.monotonic() < deadline:
            pending = {
                s for s in pending if (item := store.get(s)) is None or item.status not in TERMINAL_STATUSES
            }
            if time.monotonic() - started > 30 and killer.is_alive() and len(pending) < len(signal_ids) / 4:
                killer.stopping.set()  # let the tail settle without a kill in the middle of it
            time.sleep(1.0)
    finally:
        killer.stopping.set()
    settled_s = time.monotonic() - started
    httpx.post(f"{sup.broker_url}/_paper/faults", json={}, headers=_headers(sup)).raise_for_status()
    assert run_schedule_now(sup, backend, "reconcile")  # on demand: the last fills and late rejections
    time.sleep(1.0)  # the sampler sees the state the reconciler left
    sampler.finish()
    sys.stderr.write(
        f"chaos timing: sent {sent_s:.0f} s, settled {settled_s:.0f} s, "
        f"reconciled {time.monotonic() - started:.0f} s\n"
    )
    pending = {s for s in pending if (item := store.get(s)) is None or item.status not in TERMINAL_STATUSES}
    in_dlq = _dead_lettered_signal_ids(sup) if pending else set()

    orders = _orders(sup)
    ours = [o.client_order_id for o in orders if o.client_order_id.startswith("tp-")]
    unrecorded = [coid for coid in ours if backend.order_store.get(coid) is None]
    client = TradingClient(*_keys(sup), paper=True, url_override=sup.broker_url)
    held = {
        p.symbol: abs(Decimal(str(p.qty))) * (-1 if str(p.side.value) == "short" else 1)
        for p in client.get_all_positions()
    }  # type: ignore[union-attr]
    activities = _activity_net(sup)
    positions = {
        t: (
            held.get(t, Decimal(0)),
            backend.fill_store.net_quantity("paper", t),
            activities.get(t, Decimal(0)),
        )
        for t in PRICES
    }
    final = Counter(store.get(s).status.value for s in signal_ids)  # type: ignore[union-attr]
    injected = httpx.get(f"{sup.broker_url}/_paper/faults/stats", headers=_headers(sup)).json()
    sys.stdout.write(
        f"\nchaos: {ALERTS} alerts in {sent_s:.0f} s -> {dict(statuses)}; "
        f"{len(signal_ids)} signals {dict(final)}; "
        f"{len(orders)} broker orders ({sum(1 for o in orders if str(o.status.value) == 'filled')} filled); "
        f"faults injected {injected}; workers killed {killer.kills} times; unsettled {len(pending)} "
        f"(in a DLQ: {len(pending & in_dlq)}); "
        f"positions (broker, recorded fills, broker activities) {positions}\n"
    )

    def allowed(start: float, end: float) -> float:
        """WINDOW_S, plus the downtime of every kill that could have left this stretch open."""
        return WINDOW_S + sum(back - k for k, back in killer.downtimes if start - WINDOW_S <= k <= end)

    stretches = sorted(
        (
            (round(end - start, 2), ticker, round(allowed(start, end), 2))
            for ticker, start, end in sampler.stretches
        ),
        reverse=True,
    )
    sys.stdout.write(
        f"coverage: {sampler.samples} samples; {len(stretches)} stretches without full stop cover; longest "
        f"(seconds, ticker, allowed) {stretches[:8]}; window {WINDOW_S:.1f} s (+ downtime when the workers "
        f"were killed: {[round(back - k, 1) for k, back in killer.downtimes]})\n"
    )
    assert sampler.samples > 50
    assert [s for s in stretches if s[0] > s[2]] == []

    # Alpaca refuses a reused client_order_id, so counting orders per id proves nothing. What must hold:
    # every order at the broker was recorded before it was sent, whatever moment the workers were killed at.
    assert unrecorded == []
    assert pending <= in_dlq  # every signal settled, or waits in the dead-letter table (alarmed)
    for ticker, (broker_qty, recorded, executed) in positions.items():
        assert broker_qty == recorded == executed, ticker
    assert statuses["duplicate"] >= ALERTS * REPEAT_SHARE * 0.9
    assert killer.kills > 0
    # The chaos profile's 200 orders a minute rejects the rest of a fast burst (ORDER_RATE_LIMIT): the faults
    # are measured on the orders actually submitted, about a fifth of which meet one.
    assert injected["draws"] >= min(100, ALERTS // 4)
    assert sum(injected["injected"].values()) >= injected["draws"] * 0.1

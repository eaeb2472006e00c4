"""Chaos on the single-machine runtime: 2,000 alerts (20% exact repeats) against a paper broker injecting
every fault (5xx before and after accept, 429 with rate-limit headers, timeouts before and after accept,
partial fills, asynchronous rejections) at a combined 23%, while the workers process (risk, executor,
indexer) is killed with SIGKILL at random moments and restarted by the supervisor: crashes land anywhere,
between the broker's accept and the record included. Afterwards: no signal has more orders than it may,
every accepted signal is terminal
(or its message sits in the dead-letter table), and each broker position equals the sum of the recorded fills
and of the broker's own fill activities."""

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

from tradepipe.domain.model import TERMINAL_STATUSES
from tradepipe.local.demo import run_schedule_now
from tradepipe.local.runtime.supervisor import LocalConfig, Supervisor

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


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supervisor]:
    config = LocalConfig.ephemeral(
        tmp_path_factory.mktemp("chaos") / "state",
        log_level="CRITICAL",
        schedule_s=3.0,
        risk_config_path=str(Path(__file__).with_name("risk_chaos.toml")),
        alpaca_timeout_s=0.5,  # below the broker's injected 0.8 s delays
        # TODO(async-executor): the Alpaca-like broker once the executor waits for cancels to complete.
        broker_behaviour="instant",
        # Faults, not pacing: this broker has no rate limit (its injected 429s test their handling), and the
        # account's request budget would stretch 2,000 alerts over 45 minutes, aging entries into
        # STALE_AT_SUBMIT (tests/e2e/test_request_budget_burst.py holds the budget against Alpaca's limit).
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


class WorkerKiller(threading.Thread):
    """SIGKILLs the workers process at random moments; the supervisor starts it again."""

    def __init__(self, sup: Supervisor, rng: random.Random) -> None:
        super().__init__(daemon=True)
        self._sup, self._rng, self.kills = sup, rng, 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while self.kills < MAX_KILLS and not self.stopping.wait(KILL_AFTER_S * self._rng.uniform(0.5, 1.5)):
            child = self._sup.children["workers"]
            process = child.process
            if process is not None and process.poll() is None and child.ready:
                os.kill(process.pid, signal.SIGKILL)
                self.kills += 1


def test_chaos_no_duplicate_no_lost_order_positions_match_fills(runtime: Supervisor) -> None:
    sup = runtime
    backend = sup.backend()
    httpx.post(f"{sup.broker_url}/_paper/faults", json=FAULTS, headers=_headers(sup)).raise_for_status()
    passphrase = backend.local_secrets.passphrases()["default"].get_secret_value()
    killer = WorkerKiller(sup, random.Random(3))  # noqa: S311 - a reproducible test plan, not security
    started = time.monotonic()
    killer.start()
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

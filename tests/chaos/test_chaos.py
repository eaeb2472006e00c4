"""Chaos on the local stack: 2,000 alerts (20% exact repeats) against a paper broker injecting every fault
(5xx before and after accept, 429 with rate-limit headers, timeouts before and after accept, partial fills,
asynchronous rejections) at a combined 23%, plus executor crashes between the broker's accept and the
record. Afterwards: every order at the broker was recorded before it was sent, every signal is terminal
(or its message sits in a DLQ), and each broker position equals the sum of the recorded fills and of the
broker's own fill activities. How often the broker had to refuse a reused client_order_id is reported."""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.models import Order
from alpaca.trading.requests import GetOrdersRequest

from tradepipe import composition
from tradepipe.adapters.dynamodb import DynamoOrderStore
from tradepipe.contracts.items import OrderUpdate
from tradepipe.domain.model import TERMINAL_STATUSES
from tradepipe.local.aws import client
from tradepipe.local.stack import LocalConfig, LocalStack

pytestmark = pytest.mark.chaos
# `make chaos` runs the full 2,000; `make test` a smaller run of the same test to stay within its budget
# (on 2 cores the whole stack in one process settles about 1.5 signals a second).
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
CRASH_RATE = 0.05
# Cheap symbols keep buying power far away; GOOG and FB alternate sides, so reverses run under faults too.
PLAN = [("MSFT", "buy"), ("IBM", "buy"), ("FB", "buy"), ("FB", "sell"), ("GOOG", "sell"), ("GOOG", "buy")]
PRICES = {"MSFT": 27.95, "IBM": 202.91, "FB": 27.78, "GOOG": 806.19}


class CrashAfterAccept(DynamoOrderStore):
    """The executor dies right after the broker accepted an order, before recording the answer (once per
    order): the redelivered message must find the order by client_order_id, never place a second one."""

    def __init__(self, table: Any, rng: random.Random) -> None:
        super().__init__(table)
        self._rng, self._lock, self.crashed = rng, threading.Lock(), set[str]()

    def update(self, client_order_id: str, update: OrderUpdate) -> None:
        with self._lock:
            crash = (
                update.broker_order_id is not None
                and client_order_id not in self.crashed
                and self._rng.random() < CRASH_RATE
            )
            if crash:
                self.crashed.add(client_order_id)
        if crash:
            raise RuntimeError(f"chaos: executor killed after the broker accepted {client_order_id}")
        super().update(client_order_id, update)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    os.environ["TRADEPIPE_RISK_CONFIG_PATH"] = str(Path(__file__).with_name("risk_chaos.toml"))
    os.environ["TRADEPIPE_ALPACA_TIMEOUT_S"] = "0.5"  # below the broker's injected 0.8 s delays
    local = LocalStack(LocalConfig.ephemeral(log_level="CRITICAL", schedule_interval_s=3.0))
    try:
        local.start()
        yield local
    finally:
        local.stop()
        for name in ("TRADEPIPE_RISK_CONFIG_PATH", "TRADEPIPE_ALPACA_TIMEOUT_S"):
            os.environ.pop(name, None)
        composition.reset()


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


def _orders(broker_url: str) -> list[Order]:
    """Every order at the broker, paged 500 at a time as Alpaca answers."""
    client = TradingClient("k", "s", paper=True, url_override=broker_url)
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


def _activity_net(broker_url: str) -> dict[str, Decimal]:
    """The broker's own fill activities summed per symbol: a witness besides positions and our fills."""
    net: dict[str, Decimal] = {}
    token = None
    headers = {"APCA-API-KEY-ID": "k", "APCA-API-SECRET-KEY": "s"}
    while True:
        params = {"direction": "asc", "page_size": "100", **({"page_token": token} if token else {})}
        page = httpx.get(f"{broker_url}/v2/account/activities/FILL", params=params, headers=headers).json()
        for a in page:
            net[a["symbol"]] = net.get(a["symbol"], Decimal(0)) + Decimal(a["qty"]) * (
                1 if a["side"] == "buy" else -1
            )
        if len(page) < 100:
            return net
        token = page[-1]["id"]


def _dlq_signal_ids(stack: LocalStack) -> set[str]:
    sqs: Any = client("sqs", stack.aws_url)
    found: set[str] = set()
    assert stack.provisioned is not None
    for queue in stack.provisioned.queues.values():
        while messages := sqs.receive_message(
            QueueUrl=queue.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=600
        ).get("Messages", []):
            for m in messages:
                body = json.loads(m["Body"])
                found.add(body.get("signal_id") or body["signal"]["signal_id"])
    return found


def _count_reused_client_order_ids(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every submission the broker refused because its client_order_id already existed: how often the
    broker's uniqueness rule, not the executor's lookup before resubmitting, stopped a second order."""
    refused: list[str] = []
    submit = TradingClient.submit_order

    def counting(self: TradingClient, order_data: Any) -> Any:
        try:
            return submit(self, order_data)
        except APIError as exc:
            if "client_order_id must be unique" in str(exc):
                refused.append(str(order_data.client_order_id))
            raise

    monkeypatch.setattr(TradingClient, "submit_order", counting)
    return refused


def test_chaos_no_duplicate_no_lost_order_positions_match_fills(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    reused = _count_reused_client_order_ids(monkeypatch)
    httpx.post(f"{stack.broker_url}/_paper/faults", json=FAULTS).raise_for_status()
    backend: Any = composition.backend()
    crashing = CrashAfterAccept(backend.order_store._table, random.Random(3))  # noqa: S311
    original = backend.order_store
    backend.order_store = crashing  # the executor's deps are built per record: they pick it up
    try:
        started = time.monotonic()
        with httpx.Client(base_url=stack.api_url, timeout=30) as http, ThreadPoolExecutor(4) as pool:
            answers = list(
                pool.map(lambda body: http.post("/webhook", content=body).json(), _alerts(stack.passphrase))
            )
        sent_s = time.monotonic() - started
        signal_ids = {a["signal_id"] for a in answers if a.get("status") == "accepted"}
        statuses = Counter(a.get("status") for a in answers)
        store = composition.backend().signal_store
        deadline = time.monotonic() + 120 + ALERTS * 0.8
        pending = set(signal_ids)
        while pending and time.monotonic() < deadline:
            pending = {
                s for s in pending if (item := store.get(s)) is None or item.status not in TERMINAL_STATUSES
            }
            time.sleep(1.0)
    finally:
        backend.order_store = original
    settled_s = time.monotonic() - started
    httpx.post(f"{stack.broker_url}/_paper/faults", json={}).raise_for_status()
    from functions.executor.handler import run_reconciler

    run_reconciler()
    sys.stderr.write(
        f"chaos timing: sent {sent_s:.0f} s, settled {settled_s:.0f} s, "
        f"reconciled {time.monotonic() - started:.0f} s\n"
    )  # on demand: the last fills and late rejections
    pending = {s for s in pending if (item := store.get(s)) is None or item.status not in TERMINAL_STATUSES}
    in_dlq = _dlq_signal_ids(stack) if pending else set()

    orders = _orders(stack.broker_url)
    ours = [o.client_order_id for o in orders if o.client_order_id.startswith("tp-")]
    unrecorded = [coid for coid in ours if backend.order_store.get(coid) is None]
    fills = composition.backend().fill_store
    client = TradingClient("k", "s", paper=True, url_override=stack.broker_url)
    held = {
        p.symbol: abs(Decimal(str(p.qty))) * (-1 if str(p.side.value) == "short" else 1)
        for p in client.get_all_positions()
    }  # type: ignore[union-attr]
    activities = _activity_net(stack.broker_url)
    positions = {
        t: (held.get(t, Decimal(0)), fills.net_quantity("paper", t), activities.get(t, Decimal(0)))
        for t in PRICES
    }
    final = Counter(store.get(s).status.value for s in signal_ids)  # type: ignore[union-attr]
    injected = httpx.get(f"{stack.broker_url}/_paper/faults/stats").json()
    sys.stdout.write(
        f"\nchaos: {ALERTS} alerts in {sent_s:.0f} s -> {dict(statuses)}; "
        f"{len(signal_ids)} signals {dict(final)}; "
        f"{len(orders)} broker orders ({sum(1 for o in orders if str(o.status.value) == 'filled')} filled); "
        f"faults injected {injected}; executor crashes {len(crashing.crashed)}; refused reuses {reused}; "
        f"unsettled {len(pending)} "
        f"(in a DLQ: {len(pending & in_dlq)}); "
        f"positions (broker, recorded fills, broker activities) {positions}\n"
    )

    # Alpaca refuses a reused client_order_id, so counting orders per id proves nothing. What must hold:
    # every order at the broker was recorded before it was sent. (`reused` is reported, not asserted:
    # with the local 5 s visibility timeout a slow batch is redelivered while still running, two
    # invocations race to place the same order, and the broker's refusal, resolved by lookup, is the
    # designed last line. On AWS the visibility timeout is six times the function's.)
    assert unrecorded == []
    assert pending <= in_dlq  # every signal settled, or waits in a DLQ (alarmed on AWS)
    for ticker, (broker_qty, recorded, executed) in positions.items():
        assert broker_qty == recorded == executed, ticker
    assert statuses["duplicate"] >= ALERTS * REPEAT_SHARE * 0.9
    assert len(crashing.crashed) > 0
    assert sum(injected["injected"].values()) >= ALERTS * 0.8 * 0.2 * 0.5  # about a fifth of orders faulted

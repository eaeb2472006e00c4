"""The paper broker keeps its state in its own SQLite file: a restarted broker finds its orders, positions,
cash, fills, market, clock marks and day trades, and carries on with what was pending. Also as its own
process (`python -m tradepipe.local.paper_broker`), killed with SIGKILL and started again."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from alpaca.trading.enums import OrderStatus
from alpaca.trading.models import Order, Position

from tests.integration.broker_helpers import market, trading_client, typed
from tests.integration.conftest import BROKER_KEY, BROKER_SECRET, SESSION_START
from tradepipe.local.http_server import free_port
from tradepipe.local.paper_broker import ManualClock, PaperBroker, SqliteStore
from tradepipe.local.paper_broker.__main__ import KEYS_FILE
from tradepipe.local.paper_broker.store import FILE_NAME

BRACKET = {
    "symbol": "IBM",
    "qty": "10",
    "side": "buy",
    "type": "market",
    "time_in_force": "gtc",
    "order_class": "bracket",
    "take_profit": {"limit_price": "210"},
    "stop_loss": {"stop_price": "198"},
    "client_order_id": "durable-1",
}


def _market(symbol: str, side: str, qty: str = "10") -> dict[str, str]:
    return {"symbol": symbol, "qty": qty, "side": side, "type": "market", "time_in_force": "day"}


def _lasting(dump: dict[str, Any]) -> dict[str, Any]:
    """What a restart must keep (the fault settings and their counts are a test's, not the account's)."""
    return {k: v for k, v in dump.items() if k not in ("faults", "fault_stats")}


def test_restart_on_the_same_file_then_the_broker_resumes_where_it_stood(tmp_path: Path) -> None:
    clock = ManualClock(SESSION_START)
    first = PaperBroker(now=clock, store=SqliteStore.in_dir(tmp_path))
    first.reset(cursor=date(2013, 2, 27))
    first.advance(1)  # the market moved a day: 2013-02-28
    entry = first.submit_order(BRACKET)
    first.submit_order(_market("FB", "buy"))
    clock.advance(0.2)
    first.submit_order(_market("FB", "sell"))  # a day trade
    clock.advance(0.2)
    first.set_prices({"IBM": Decimal("204.00")})
    take_profit = next(leg for leg in first.get_order(entry["id"])["legs"] if leg["type"] == "limit")
    first.cancel_order(take_profit["id"])  # pending_cancel when the broker stops
    before = _lasting(first.dump())
    first.close()

    second = PaperBroker(now=clock, store=SqliteStore.in_dir(tmp_path), cash=Decimal(1))
    after = _lasting(second.dump())
    clock.advance(0.1)

    assert after == before
    assert after["cursor"] == "2013-02-28"
    assert after["prices"]["IBM"] == "204"
    assert {leg["status"] for leg in second.get_order_by_client_id("durable-1")["legs"]} == {"canceled"}
    assert second.account()["daytrade_count"] == 1
    with pytest.raises(Exception, match="client_order_id must be unique"):
        second.submit_order(BRACKET)


def test_sqlite_file_then_wal_and_full_sync(tmp_path: Path) -> None:
    store = SqliteStore.in_dir(tmp_path)
    PaperBroker(now=ManualClock(SESSION_START), store=store).submit_order(_market("IBM", "buy"))

    journal = store._db.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = store._db.execute("PRAGMA synchronous").fetchone()[0]

    assert (journal, synchronous) == ("wal", 2)  # 2 = FULL
    assert (tmp_path / FILE_NAME).exists()


# --- as its own process ------------------------------------------------------------------------------------


def _start(state_dir: Path, port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    args = [
        sys.executable,
        "-m",
        "tradepipe.local.paper_broker",
        "--state-dir",
        str(state_dir),
        "--port",
        str(port),
        "--always-open",
    ]
    log = (state_dir.parent / f"broker-{port}.log").open("a")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, text=True, env=env)  # noqa: S603
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(
        "the paper broker process did not start:\n" + (state_dir.parent / f"broker-{port}.log").read_text()
    )


@pytest.fixture
def broker_env() -> dict[str, str]:
    return {
        **os.environ,
        "TRADEPIPE_PAPER_BROKER_KEY_ID": BROKER_KEY,
        "TRADEPIPE_PAPER_BROKER_SECRET_KEY": BROKER_SECRET,
    }


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _eventually_filled(url: str, coid: str) -> Order:
    client = trading_client(url)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        order = typed(Order, client.get_order_by_client_id(coid))
        if order.status == OrderStatus.FILLED:
            return order
        time.sleep(0.02)
    raise AssertionError(f"{coid} not filled within 10 s")


def test_process_killed_and_restarted_then_its_orders_and_positions_are_still_there(
    tmp_path: Path, broker_env: dict[str, str], processes: list[subprocess.Popen[str]]
) -> None:
    state_dir, port = tmp_path / "broker", free_port()
    processes.append(_start(state_dir, port, broker_env))
    url = f"http://127.0.0.1:{port}"
    trading_client(url).submit_order(market("IBM", 7, coid="before-the-kill"))
    filled = _eventually_filled(url, "before-the-kill")

    processes[0].send_signal(signal.SIGKILL)
    processes[0].wait(timeout=10)
    processes.append(_start(state_dir, port, broker_env))

    again = typed(Order, trading_client(url).get_order_by_client_id("before-the-kill"))
    assert (again.id, again.status, again.filled_avg_price) == (
        filled.id,
        OrderStatus.FILLED,
        filled.filled_avg_price,
    )
    position = typed(Position, trading_client(url).get_open_position("IBM"))
    assert Decimal(position.qty) == 7


def test_process_without_keys_given_then_a_0600_keys_file_and_strangers_refused(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEPIPE_PAPER_BROKER_")}
    state_dir, port = tmp_path / "broker", free_port()
    processes.append(_start(state_dir, port, env))

    keys = (state_dir / KEYS_FILE).read_text()
    stranger = httpx.get(f"http://127.0.0.1:{port}/v2/account")
    log = (tmp_path / f"broker-{port}.log").read_text()

    assert stat.S_IMODE((state_dir / KEYS_FILE).stat().st_mode) == 0o600
    assert stranger.status_code == 401
    secret = keys.split('"secret_key": "')[1].split('"')[0]
    assert secret not in log
    assert "paper broker on http://127.0.0.1" in log

"""One alert over HTTP -> one bracket order at the paper broker -> documents in both indices."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal
from typing import Any, TypeVar

import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, QueryOrderStatus
from alpaca.trading.models import Order
from alpaca.trading.requests import GetOrdersRequest
from opensearchpy import OpenSearch

from tests.local_stack import RunningLocal
from tests.unit.builders import fresh_timestamp

pytestmark = pytest.mark.e2e
T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout_s: float = 20.0) -> T:
    """Poll until `probe` returns something truthy: no fixed sleeps, a deadline instead."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout_s} s")


def _alert(passphrase: str, minute: int, **over: Any) -> dict[str, Any]:
    body = {
        "passphrase": passphrase,
        "signal": "BUY",
        "ticker": "MSFT",
        "tradingMode": "Paper",
        "riskAmount": 100.0,
        "entryPrice": 27.95,
        "stopLoss": 27.40,
        "takeProfit": 29.05,
        "timestamp": fresh_timestamp(minute),
        "strategy": "e2e",
        # Daily-chart alerts: their stops are a day's scale (on a 5m alert they would be measured against
        # 5-minute ATR and refused as too wide).
        "timeframe": "1D",
    }
    return body | over


@pytest.fixture(scope="module")
def trading(local_stack: RunningLocal) -> TradingClient:
    # Any keys: the local broker checks that they are sent, the stack's secret holds its own pair.
    # The runtime's own paper keys: the local broker refuses any other pair.
    return TradingClient(
        local_stack.broker_key, local_stack.broker_secret, paper=True, url_override=local_stack.broker_url
    )


def _order_for(trading: TradingClient, signal_id: str) -> Order | None:
    try:
        order = trading.get_order_by_client_id(f"tp-{signal_id}-open")
    except APIError:
        return None
    assert isinstance(order, Order)
    return order


def _all_orders(trading: TradingClient) -> list[Order]:
    orders = trading.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, limit=500, nested=False))
    return [o for o in orders if isinstance(o, Order)]


def test_valid_alert_then_one_bracket_order_sized_by_risk_and_documents_in_both_indices(
    local_stack: RunningLocal, trading: TradingClient
) -> None:
    body = _alert(local_stack.passphrase, 1)

    response = httpx.post(
        local_stack.webhook_url, content=json.dumps(body), headers={"Content-Type": "text/plain"}
    )

    assert response.status_code == 202
    signal_id = response.json()["signal_id"]
    order = eventually(lambda: _order_for(trading, signal_id))
    # Sized at the alert's price (181 shares), then re-sized by the executor for the quote (issue 19): $100
    # of risk to the stop at the ask, and at most $110 (the 10% tolerance) should it fill at its limit.
    ask, limit = Decimal(str(_quote(local_stack, "MSFT")["ap"])), Decimal(str(order.limit_price))
    expected_qty = min(
        (Decimal("100") / (ask - Decimal("27.40"))).to_integral_value(ROUND_FLOOR),
        (Decimal("110") / (limit - Decimal("27.40"))).to_integral_value(ROUND_FLOOR),
    )
    assert Decimal(str(order.qty)) == expected_qty <= 181
    assert order.order_type is not None
    assert order.order_type.value == "limit"
    assert limit >= ask
    assert order.order_class == OrderClass.BRACKET
    assert order.legs is not None
    assert len(order.legs) == 2
    search = OpenSearch(hosts=[local_stack.search_url])

    def documents() -> tuple[dict[str, Any], dict[str, Any]] | None:
        try:
            signal_doc = search.get(index="trading-signals", id=signal_id)["_source"]
            order_doc = search.get(index="trade-executions", id=f"tp-{signal_id}-open")["_source"]
        except Exception:
            return None
        return (
            (signal_doc, order_doc)
            if signal_doc["status"] == "FILLED" and order_doc["broker_order_id"]
            else None
        )

    signal_doc, order_doc = eventually(documents)
    assert signal_doc["qty"] == 181
    assert signal_doc["mode"] == "paper"
    assert order_doc["broker_order_id"] == str(order.id)
    assert "passphrase" not in json.dumps(signal_doc)

    again = httpx.post(local_stack.webhook_url, json=body)

    assert again.status_code == 200
    assert again.json() == {"signal_id": signal_id, "status": "duplicate"}
    mine = [o for o in _all_orders(trading) if o.client_order_id.startswith(f"tp-{signal_id}")]
    assert len(mine) == 1


def _coids(trading: TradingClient) -> set[str]:
    """Our orders at the broker (bracket legs carry the broker's own ids)."""
    return {o.client_order_id for o in _all_orders(trading) if o.client_order_id.startswith("tp-")}


# A ticker no other test of this module trades: an order for it can only come from the alert under test
# (MSFT's working bracket legs would make the broker refuse any second MSFT entry as a wash trade anyway).
AAPL = {"ticker": "AAPL", "entryPrice": 430.47, "stopLoss": 421.86, "takeProfit": 447.69}


def _barrier(local_stack: RunningLocal, ticker: str, name: str) -> None:
    """A CANCEL for the same account and ticker, so the same FIFO group on both queues: once it has been
    carried out (COMPLETED), everything sent before it for that ticker has been through the executor too."""
    body = {"passphrase": local_stack.passphrase, "ticker": ticker, "action": "cancel", "strategy": name}
    response = httpx.post(local_stack.webhook_url, json=body)
    assert response.status_code == 202, response.text
    eventually(lambda: _trail(local_stack, response.json()["signal_id"], "COMPLETED"))


def test_malformed_alert_then_422_and_no_order(local_stack: RunningLocal, trading: TradingClient) -> None:
    before = _coids(trading)

    response = httpx.post(
        local_stack.webhook_url,
        json=_alert(local_stack.passphrase, 2, **AAPL) | {"riskAmount": None, "entryPrice": "abc"},
    )

    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"riskAmount", "entryPrice"}
    _barrier(local_stack, "AAPL", "e2e-barrier-malformed")
    assert _coids(trading) == before


def test_wrong_passphrase_then_401_and_no_order(local_stack: RunningLocal, trading: TradingClient) -> None:
    before = _coids(trading)

    response = httpx.post(local_stack.webhook_url, json=_alert("not the passphrase", 3, **AAPL))

    assert response.status_code == 401
    _barrier(local_stack, "AAPL", "e2e-barrier-unauthorized")
    assert _coids(trading) == before


def _trail(local_stack: RunningLocal, signal_id: str, status: str) -> dict[str, Any] | None:
    response = local_stack.operator().get(f"/signals/{signal_id}")
    return response.json() if response.status_code == 200 and response.json()["status"] == status else None


def test_buy_while_short_then_close_then_open_never_a_flipped_single_order(
    local_stack: RunningLocal, trading: TradingClient
) -> None:
    short = _alert(
        local_stack.passphrase,
        10,
        signal="SELL",
        ticker="IBM",
        entryPrice=202.91,
        stopLoss=205.0,
        takeProfit=198.0,
        riskAmount=200.0,
    )
    sold = httpx.post(local_stack.webhook_url, json=short).json()["signal_id"]
    eventually(lambda: _trail(local_stack, sold, "FILLED"))
    reverse = {
        "passphrase": local_stack.passphrase,
        "ticker": "IBM",
        "action": "buy",
        "sentiment": "long",
        "quantity": 40,
        "quantityType": "fixed_quantity",
        "signalPrice": 202.91,
        "stopLoss": {"percent": 1},
        "takeProfit": {"percent": 2},
        # The short's own strategy: a strategy reverses its own position (another strategy's buy would be
        # refused OPPOSITE_LOTS_HELD rather than close shares it does not own: test_strategy_lots.py).
        "strategy": "e2e",
    }

    response = httpx.post(
        local_stack.webhook_url, content=json.dumps(reverse), headers={"Content-Type": "text/plain"}
    )

    assert response.status_code == 202
    signal_id = response.json()["signal_id"]
    trail = eventually(lambda: _trail(local_stack, signal_id, "FILLED"))
    assert [o["purpose"] for o in trail["orders"]] == ["close", "open"]
    close, open_ = (_order_for_coid(trading, o["client_order_id"]) for o in trail["orders"])
    assert close.side.value == "buy"
    short_qty = _order_for_coid(trading, f"tp-{sold}-open").filled_qty
    # floor(200 / |bid - 205.00|) (re-sized for the bid at the entry): the whole short, no more.
    assert Decimal(str(close.qty)) == Decimal(str(short_qty)) <= 95
    assert open_.side.value == "buy"
    assert Decimal(str(open_.qty)) == 40  # the new long, not 95 + 40 in one order
    assert close.filled_at is not None
    assert open_.submitted_at is not None
    assert close.filled_at <= open_.submitted_at
    position = trading.get_open_position("IBM")
    assert Decimal(str(position.qty)) == 40  # type: ignore[union-attr]


def _quote(local_stack: RunningLocal, symbol: str) -> dict[str, Any]:
    """The latest quote as Alpaca's market data serves it (the paper broker's /v2/stocks/quotes/latest)."""
    response = httpx.get(
        f"{local_stack.broker_url}/v2/stocks/quotes/latest",
        params={"symbols": symbol},
        headers={"APCA-API-KEY-ID": local_stack.broker_key, "APCA-API-SECRET-KEY": local_stack.broker_secret},
    )
    response.raise_for_status()
    quote: dict[str, Any] = response.json()["quotes"][symbol]
    return quote


def _order_for_coid(trading: TradingClient, coid: str) -> Order:
    order = trading.get_order_by_client_id(coid)
    assert isinstance(order, Order)
    return order


def test_status_route_when_signal_unknown_then_404(local_stack: RunningLocal) -> None:
    response = local_stack.operator().get("/signals/unknown")

    assert response.status_code == 404
    assert response.json()["status"] == "not_found"


def _run_cli(*args: str) -> str:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "tradepipe.cli", *args], capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout


def test_halt_then_entries_rejected_until_resume(local_stack: RunningLocal, trading: TradingClient) -> None:
    halted = _run_cli("halt", "--state-dir", str(local_stack.state_dir), "--reason", "e2e kill switch")
    assert "paper: HALTED (manual" in halted
    before = _coids(trading)
    try:
        response = httpx.post(
            local_stack.webhook_url,
            json=_alert(local_stack.passphrase, 20, strategy="e2e-halt", **AAPL),
        )
        signal_id = response.json()["signal_id"]

        trail = eventually(lambda: _trail(local_stack, signal_id, "REJECTED"))

        assert trail["reject_reason"] == "TRADING_HALTED"
    finally:
        resumed = _run_cli("resume", "--state-dir", str(local_stack.state_dir))
    assert "paper: ACTIVE (manual" in resumed
    assert "paper: ACTIVE" in _run_cli("state", "--state-dir", str(local_stack.state_dir))
    _barrier(local_stack, "AAPL", "e2e-barrier-halt")
    assert _coids(trading) == before  # the halted entry never reached the broker

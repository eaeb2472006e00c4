"""Two strategies on one ticker of one account, through `tradepipe local` (webhook -> risk -> executor ->
the Alpaca-like paper broker, SQLite stores): both entries fill, every share is protected at its own
strategy's stop, one strategy's exit closes its own shares only, and the operator's flatten closes the
rest."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.models import Order, Position
from alpaca.trading.requests import GetOrdersRequest

from tests.e2e.test_local_pipeline import _alert, _run_cli, eventually
from tests.local_stack import RunningLocal
from tradepipe.adapters.sqlite.database import Database
from tradepipe.adapters.sqlite.lots import SqliteLotStore

pytestmark = pytest.mark.e2e
TICKER = "MSFT"


@pytest.fixture(scope="module")
def trading(local_stack: RunningLocal) -> TradingClient:
    return TradingClient(
        local_stack.broker_key, local_stack.broker_secret, paper=True, url_override=local_stack.broker_url
    )


def _held(trading: TradingClient) -> Decimal:
    for p in trading.get_all_positions():
        if isinstance(p, Position) and p.symbol == TICKER:
            return Decimal(str(p.qty))
    return Decimal(0)


def _stops(trading: TradingClient) -> list[tuple[Decimal, Decimal]]:
    request = GetOrdersRequest(status=QueryOrderStatus.OPEN, symbols=[TICKER], nested=True)
    found: list[Order] = []
    for o in trading.get_orders(request):
        if isinstance(o, Order):
            found.extend([o, *(o.legs or [])])
    return sorted(
        (Decimal(str(o.stop_price)), Decimal(str(o.qty)))
        for o in found
        if str(getattr(o.type, "value", o.type)) == "stop"
        and str(getattr(o.status, "value", o.status)) in ("new", "held", "accepted", "pending_new")
    )


def _owners(local_stack: RunningLocal) -> dict[str, Decimal]:
    lots = SqliteLotStore(Database.open(local_stack.state_dir))
    return {lot.strategy: lot.qty for lot in lots.lots("paper", TICKER)}


def _status(local_stack: RunningLocal, signal_id: str, status: str) -> dict[str, Any] | None:
    response = local_stack.operator().get(f"/signals/{signal_id}")
    return response.json() if response.status_code == 200 and response.json()["status"] == status else None


def _send(local_stack: RunningLocal, body: dict[str, Any]) -> str:
    response = httpx.post(local_stack.webhook_url, json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["signal_id"])


def test_two_strategies_one_ticker_then_an_exit_of_one_then_flatten(
    local_stack: RunningLocal, trading: TradingClient
) -> None:
    alpha = _send(local_stack, _alert(local_stack.passphrase, 11, strategy="alpha"))
    eventually(lambda: _status(local_stack, alpha, "FILLED"))
    beta = _send(
        local_stack,
        _alert(
            local_stack.passphrase, 12, strategy="beta", riskAmount=50.0, stopLoss=27.50, takeProfit=29.20
        ),
    )
    eventually(lambda: _status(local_stack, beta, "FILLED"))

    # Each collared entry is re-sized against the ask it would pay (27.96, a cent over the alert's 27.95):
    # 100 / (27.96 - 27.40) = 178 shares for alpha, 50 / (27.96 - 27.50) = 108 for beta.
    assert _held(trading) == 286
    assert _owners(local_stack) == {"alpha": Decimal(178), "beta": Decimal(108)}
    assert _stops(trading) == [(Decimal("27.4"), Decimal(178)), (Decimal("27.5"), Decimal(108))]

    exit_alpha = _send(
        local_stack,
        {"passphrase": local_stack.passphrase, "ticker": TICKER, "action": "exit", "strategy": "alpha"},
    )
    eventually(lambda: _status(local_stack, exit_alpha, "FILLED"))

    assert _held(trading) == 108
    assert _owners(local_stack) == {"beta": Decimal(108)}
    assert _stops(trading) == [(Decimal("27.5"), Decimal(108))]

    said = _run_cli("flatten", TICKER.lower(), "--state-dir", str(local_stack.state_dir))
    assert said.startswith(f"paper {TICKER}: flatten sent (signal ")
    flatten_id = said.split("(signal ")[1].rstrip(")\n")
    eventually(lambda: _status(local_stack, flatten_id, "FILLED"))

    assert _held(trading) == 0
    assert _owners(local_stack) == {}
    assert _stops(trading) == []

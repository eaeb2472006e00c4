"""A batch of alerts through `tradepipe local` (the runtime's intake, workers and paper broker): each element
becomes its own signal and order, a bad element is rejected on its own, a resend is all duplicates, and a
stop-limit leg reaches the broker as one."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from alpaca.trading.client import TradingClient

from tests.e2e.test_local_pipeline import _alert, _order_for, _trail, eventually, trading
from tests.local_stack import RunningLocal
from tests.unit.builders import fresh_timestamp

pytestmark = pytest.mark.e2e
__all__ = ["trading"]  # the module-scoped fixture, shared with test_local_pipeline


def _batch(passphrase: str) -> dict[str, Any]:
    def element(**over: Any) -> dict[str, Any]:
        body = _alert(passphrase, 1, strategy="e2e batch", **over)
        del body["passphrase"]
        return body

    stop_limit = {
        "ticker": "FB",
        "action": "buy",
        "quantity": 5,
        "signalPrice": 27.78,
        "stopLoss": {"type": "stop_limit", "stopPrice": 27.2, "limitPrice": 27.1},
        "takeProfit": {"limitPrice": 28.9},
        "time": fresh_timestamp(1),
        "strategy": "e2e batch",
    }
    return {
        "passphrase": passphrase,
        "alerts": [
            element(),
            element(ticker="IBM", entryPrice=202.9, stopLoss=203.5, takeProfit=208.0),  # stop above a buy
            stop_limit,
        ],
    }


def test_batch_then_one_order_per_valid_element_the_bad_one_rejected_and_a_resend_all_duplicates(
    local_stack: RunningLocal, trading: TradingClient
) -> None:
    body = json.dumps(_batch(local_stack.passphrase))

    response = httpx.post(local_stack.webhook_url, content=body, headers={"Content-Type": "text/plain"})

    assert response.status_code == 202
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]
    assert results[1]["reason"] == "STOP_WRONG_SIDE"
    msft, fb = (
        eventually(lambda sid=r["signal_id"]: _order_for(trading, sid)) for r in (results[0], results[2])
    )
    assert (msft.symbol, fb.symbol) == ("MSFT", "FB")
    assert fb.legs is not None
    stop_leg = next(leg for leg in fb.legs if leg.stop_price is not None)
    assert (stop_leg.type.value if stop_leg.type else None, stop_leg.limit_price) == ("stop_limit", "27.1")
    rejected = eventually(lambda: _trail(local_stack, results[1]["signal_id"], "REJECTED"))
    assert rejected["reject_reason"] == "STOP_WRONG_SIDE"

    again = httpx.post(local_stack.webhook_url, content=body)

    assert again.status_code == 200
    assert [r["status"] for r in again.json()["results"]] == ["duplicate"] * 3
    assert [r["signal_id"] for r in again.json()["results"]] == [r["signal_id"] for r in results]

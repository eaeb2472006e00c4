"""The reconciler turns a bracket's filled leg into an exit: a target resets the losing streak, a stop
extends it and starts the stop-out cooldown. Real alpaca-py against the paper broker, moto for the tables."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderStatus, QueryOrderStatus
from alpaca.trading.models import Order
from alpaca.trading.requests import GetOrdersRequest

from tests.integration.conftest import Aws
from tests.integration.test_executor_and_indexer_handlers import NOW, _event, _intent
from tests.support.lambda_context import LocalLambdaContext

pytestmark = pytest.mark.usefixtures("empty_queues")
SETTLE_S = 0.3  # longer than the Alpaca behaviour's acknowledge + fill (50 ms) and cancel (50 ms) delays
CLOSED = {
    OrderStatus.FILLED,
    OrderStatus.CANCELED,
    OrderStatus.EXPIRED,
    OrderStatus.REPLACED,
    OrderStatus.REJECTED,
}


@pytest.fixture(scope="module")
def handler(paper_broker: Any) -> Any:
    from functions.executor.handler import lambda_handler

    return lambda_handler


@pytest.fixture(autouse=True)
def flat_ibm(paper_broker: Any) -> Iterator[None]:
    """The session's broker may hold IBM from earlier modules (an open bracket would fill at the same price
    move and count as a second exit): each test starts flat in IBM, with no IBM order open; IBM's price goes
    back to what it was after each test, so the modules after this one meet the session's usual market."""
    price = paper_broker.engine.feed.price("IBM")
    client = TradingClient(
        paper_broker.key_id, paper_broker.secret_key, paper=True, url_override=paper_broker.url
    )
    request = GetOrdersRequest(status=QueryOrderStatus.OPEN, symbols=["IBM"], nested=True)
    for order in client.get_orders(request):
        assert isinstance(order, Order)
        # Cancelling one open member cancels its group (a filled entry's legs go together).
        member = next(o for o in [order, *(order.legs or [])] if o.status not in CLOSED)
        if member.status != OrderStatus.PENDING_CANCEL:
            client.cancel_order_by_id(member.id)
    # A cancel is a request (pending_cancel, the shares held until canceled): wait past the broker's delay.
    time.sleep(SETTLE_S)
    if any(getattr(p, "symbol", None) == "IBM" for p in client.get_all_positions()):
        client.close_position("IBM")
        time.sleep(SETTLE_S)
    yield
    paper_broker.engine.set_prices({"IBM": price})


def _bracket_then_price(handler: Any, aws: Aws, broker: Any, signal_id: str, exit_price: str) -> None:
    httpx.post(
        f"{broker.url}/_paper/prices", json={"IBM": "204.00"}, headers=broker.headers
    ).raise_for_status()
    intent = _intent(signal_id)  # IBM, BUY 10, take-profit 210, stop 198, strategy itest
    assert handler(_event(aws, intent), LocalLambdaContext("executor", 30)) == {"batchItemFailures": []}
    time.sleep(SETTLE_S)  # the entry fills on the broker's clock, and its legs wake with the fill
    httpx.post(
        f"{broker.url}/_paper/prices", json={"IBM": exit_price}, headers=broker.headers
    ).raise_for_status()
    time.sleep(SETTLE_S)  # the triggered leg fills on the broker's clock


def test_take_profit_fill_is_an_exit_that_resets_the_losing_streak(
    handler: Any, aws: Aws, paper_broker: Any
) -> None:
    from functions.executor.handler import run_reconciler

    risk = aws.risk_state()
    risk.reset_losing_streak("paper")
    for minutes in (1, 2):  # two earlier losses elsewhere
        risk.record_exit(
            "paper", "MSFT", "other", NOW.replace(minute=minutes), stop_out=True, pnl=Decimal(-5)
        )
    assert risk.trading_state("paper").losing_streak == 2

    _bracket_then_price(handler, aws, paper_broker, "a1" * 16, "211.00")
    summary = run_reconciler()

    assert summary["paper"]["target_exits"] == 1
    assert summary["paper"]["stop_outs"] == 0
    assert risk.trading_state("paper").losing_streak == 0
    last_exit, last_stop_out, _ = risk.symbol_history("paper", "IBM", "itest")
    assert last_exit is not None
    assert last_stop_out is None
    # The bracket is done: the next run no longer follows it, and records nothing twice.
    assert run_reconciler()["paper"]["target_exits"] == 0
    assert risk.trading_state("paper").losing_streak == 0


def test_stop_fill_is_a_stop_out_that_extends_the_losing_streak_once(
    handler: Any, aws: Aws, paper_broker: Any
) -> None:
    from functions.executor.handler import run_reconciler

    risk = aws.risk_state()
    risk.reset_losing_streak("paper")

    _bracket_then_price(handler, aws, paper_broker, "b2" * 16, "197.00")
    run_reconciler()
    run_reconciler()

    assert risk.trading_state("paper").losing_streak == 1
    _, last_stop_out, _ = risk.symbol_history("paper", "IBM", "itest")
    assert last_stop_out is not None

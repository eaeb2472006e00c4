"""The reconciler turns a bracket's filled leg into an exit: a target resets the losing streak, a stop
extends it and starts the stop-out cooldown. Real alpaca-py against the paper broker, moto for the tables."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Aws
from tests.integration.test_executor_and_indexer_handlers import NOW, _event, _intent
from tests.support.lambda_context import LocalLambdaContext

pytestmark = pytest.mark.usefixtures("empty_queues")


@pytest.fixture(scope="module")
def handler(paper_broker: Any) -> Any:
    from functions.executor.handler import lambda_handler

    return lambda_handler


def _bracket_then_price(handler: Any, aws: Aws, broker: Any, signal_id: str, exit_price: str) -> None:
    httpx.post(f"{broker.url}/_paper/prices", json={"IBM": "204.00"}).raise_for_status()
    intent = _intent(signal_id)  # IBM, BUY 10, take-profit 210, stop 198, strategy itest
    assert handler(_event(aws, intent), LocalLambdaContext("executor", 30)) == {"batchItemFailures": []}
    httpx.post(f"{broker.url}/_paper/prices", json={"IBM": exit_price}).raise_for_status()


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
    # The next sweep meets the same filled leg and records nothing twice.
    assert run_reconciler()["paper"]["target_exits"] == 1
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

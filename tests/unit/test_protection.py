"""The protective-stop invariant as values: what covers a position, and what restores cover."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradepipe.domain.model import Side
from tradepipe.domain.order_status import is_terminal, is_working
from tradepipe.domain.protection import (
    Coverage,
    Flatten,
    Leave,
    Owner,
    Rearm,
    RestingOrder,
    coverage,
    manual_stop,
    repair,
)

D = Decimal


def stop(qty: int, status: str = "new", side: Side = Side.SELL, parent: str | None = None) -> RestingOrder:
    return RestingOrder(
        f"s-{qty}-{status}", status, side, "stop", D(qty), stop_price=D(95), parent_client_order_id=parent
    )


def entry(status: str) -> RestingOrder:
    return RestingOrder("tp-e-open", status, Side.BUY, "market", D(10))


def test_coverage_counts_working_stops_on_the_closing_side_only() -> None:
    orders = [
        stop(4),
        stop(3, status="done_for_day"),  # trades again next session: still protection
        stop(2, status="pending_cancel"),  # on its way out
        stop(5, side=Side.BUY),  # the wrong side for a long
        RestingOrder("tp", "new", Side.SELL, "limit", D(10)),  # a take-profit is not a stop
    ]

    assert coverage(D(10), orders) == Coverage(D(10), D(7))
    assert coverage(D(7), orders).full


def test_a_brackets_stop_leg_covers_only_once_its_entry_is_completely_filled() -> None:
    leg = stop(10, status="held", parent="tp-e-open")

    assert coverage(D(6), [entry("partially_filled"), leg]).covered == 0
    assert coverage(D(10), [entry("filled"), leg]).full
    assert coverage(D(10), [leg]).full  # the entry is no longer open: Alpaca lists the leg alone


def test_a_short_is_covered_by_buy_stops() -> None:
    assert coverage(D(-5), [stop(5, side=Side.BUY)]).full
    assert coverage(D(-5), [stop(5)]).uncovered == 5


@pytest.mark.parametrize(
    ("status", "terminal", "working"),
    [
        ("filled", True, False),
        ("canceled", True, False),
        ("replaced", True, False),
        ("done_for_day", False, True),  # Alpaca: no further updates until the next trading day
        ("stopped", False, True),  # Alpaca: a trade is guaranteed, not yet occurred
        ("pending_cancel", False, False),
    ],
)
def test_statuses_as_alpaca_means_them(status: str, terminal: bool, working: bool) -> None:
    assert (is_terminal(status), is_working(status)) == (terminal, working)


OWNER = Owner("sig", "tp-sig-open", "alpha", D(95))


def test_repair_rearms_the_recorded_stop_for_the_uncovered_quantity() -> None:
    assert repair(Coverage(D(10), D(4)), OWNER, D(100), D(100)) == Rearm(D(6), D(95), Side.SELL)


def test_repair_flattens_when_the_price_is_already_through_the_stop() -> None:
    decision = repair(Coverage(D(10), D(0)), OWNER, D(94.5), D(100))

    assert isinstance(decision, Flatten)
    assert (decision.qty, decision.side) == (D(10), Side.SELL)
    short = repair(Coverage(D(-10), D(0)), Owner("s", "c", "a", D(105)), D(105), D(100))
    assert isinstance(short, Flatten)
    assert short.side is Side.BUY


def test_repair_leaves_a_manual_position_unless_a_setting_asks_to_protect_it() -> None:
    assert isinstance(repair(Coverage(D(10), D(0)), None, D(100), D(100)), Leave)
    assert repair(Coverage(D(10), D(0)), None, D(100), D(100), manual_stop_pct=D(5)) == Rearm(
        D(10), D(95), Side.SELL
    )
    assert isinstance(repair(Coverage(D(10), D(0)), Owner("s", "c", "a", None), D(100), D(100)), Leave)


def test_manual_stop_is_rounded_away_from_the_position() -> None:
    assert manual_stop(D(10), D("100.03"), D(5)) == D("95.02")  # 95.0285 floored
    assert manual_stop(D(-10), D("100.03"), D(5)) == D("105.04")  # 105.0315 ceiled

"""Strategy-owned lots (domain/lots.py): the account's position is the sum of the lots, a strategy's exit
closes its own shares only, and the protection left covers exactly what remains."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradepipe.domain.lots import (
    ExitPlan,
    Lot,
    StopLeg,
    combined_stop,
    net_position,
    plan_exit,
    plan_flatten,
    protection,
)
from tradepipe.domain.model import Rejected, RejectReason

AT = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
D = Decimal


def lot(strategy: str, qty: str, stop: str | None, lot_id: str | None = None) -> Lot:
    return Lot(
        "paper", "AAPL", strategy, lot_id or f"tp-{strategy}-open", D(qty), D("150"), stop and D(stop), AT
    )


def test_net_position_is_the_sum_of_every_strategys_lots() -> None:
    assert net_position([lot("a", "10", "140"), lot("b", "5", "145"), lot("c", "-3", "160")]) == 12
    assert net_position([]) == 0


def test_exit_when_a_exits_then_only_as_shares_close_and_bs_stay_protected_at_bs_stop() -> None:
    lots = [lot("a", "10", "140"), lot("a", "2", "141", "tp-a2-open"), lot("b", "5", "145")]

    plan = plan_exit(lots, "a")

    assert isinstance(plan, ExitPlan)
    assert plan.close_qty == 12
    assert [x.strategy for x in plan.remaining] == ["b"]
    assert plan.protection.legs == (StopLeg(D("145"), D(5), "sell", ("b",)),)
    assert plan.protection.unprotected_qty == 0


def test_exit_when_the_strategy_owns_nothing_then_no_position_and_nothing_closes() -> None:
    decision = plan_exit([lot("b", "5", "145")], "a")

    assert isinstance(decision, Rejected)
    assert decision.reason is RejectReason.NO_POSITION
    assert "AAPL" in decision.detail


def test_protection_when_two_stops_then_one_leg_each_tightest_first_and_shared_prices_share_a_leg() -> None:
    lots = [lot("a", "10", "140"), lot("b", "5", "145"), lot("c", "3", "140")]

    legs = protection(lots).legs

    assert legs == (
        StopLeg(D("145"), D(5), "sell", ("b",)),
        StopLeg(D("140"), D(13), "sell", ("a", "c")),
    )


def test_protection_when_short_then_buy_stops_lowest_first() -> None:
    legs = protection([lot("a", "-10", "160"), lot("b", "-5", "155")]).legs

    assert [(leg.stop_price, leg.qty, leg.side) for leg in legs] == [
        (D(155), D(5), "buy"),
        (D(160), D(10), "buy"),
    ]


def test_protection_when_a_lot_has_no_stop_then_its_shares_are_unprotected_not_covered_by_another() -> None:
    result = protection([lot("a", "10", None), lot("b", "5", "145")])

    assert result.covered_qty == 5
    assert result.unprotected_qty == 10


def test_protection_when_opposite_lots_offset_then_the_net_side_is_covered_tightest_stops_first() -> None:
    # a long 10 @ stop 140, b long 5 @ stop 145, c short 8: the broker holds 7 long; the 7 kept are b's 5
    # (tightest) and 2 of a's.
    result = protection([lot("a", "10", "140"), lot("b", "5", "145"), lot("c", "-8", "160")])

    assert [(leg.stop_price, leg.qty) for leg in result.legs] == [(D(145), D(5)), (D(140), D(2))]


def test_combined_stop_is_the_tightest_for_longs_and_shorts() -> None:
    assert combined_stop([lot("a", "10", "140"), lot("b", "5", "145")]) == D(145)
    assert combined_stop([lot("a", "-10", "160"), lot("b", "-5", "155")]) == D(155)
    assert combined_stop([lot("a", "10", None)]) is None
    assert combined_stop([]) is None


def test_flatten_closes_every_lot_and_leaves_no_protection() -> None:
    plan = plan_flatten([lot("a", "10", "140"), lot("b", "5", "145")])

    assert (plan.close_qty, plan.remaining, plan.protection.legs) == (D(15), (), ())


@given(
    qtys=st.lists(st.integers(min_value=-50, max_value=50), min_size=1, max_size=8),
    stops=st.lists(st.sampled_from([None, "140", "145", "160"]), min_size=8, max_size=8),
)
def test_protection_never_covers_more_than_the_net_position(qtys: list[int], stops: list[str | None]) -> None:
    lots = [lot(f"s{i}", str(q), stops[i]) for i, q in enumerate(qtys)]

    result = protection(lots)

    assert result.covered_qty + result.unprotected_qty == abs(net_position(lots))
    exit_plan = plan_exit(lots, "s0")
    if isinstance(exit_plan, ExitPlan):
        assert exit_plan.close_qty + net_position(exit_plan.remaining) == net_position(lots)
    else:
        assert qtys[0] == 0


@pytest.mark.parametrize("strategy", ["a", "b"])
def test_exit_then_the_other_strategys_lots_are_untouched(strategy: str) -> None:
    lots = [lot("a", "10", "140"), lot("b", "5", "145")]

    plan = plan_exit(lots, strategy)

    assert isinstance(plan, ExitPlan)
    assert all(x.strategy != strategy for x in plan.remaining)
    assert all(x.strategy == strategy for x in plan.closing)

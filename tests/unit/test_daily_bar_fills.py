"""The daily-bar fill rules shared by the backtest and the paper broker."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradepipe.domain.daily_bar_fills import (
    Bar,
    ExitLeg,
    exit_pair_fill,
    limit_fill,
    stop_limit_fill,
    stop_trigger,
)
from tradepipe.domain.model import Side

D = Decimal


def bar(o: str, h: str, lo: str) -> Bar:
    return Bar(D(o), D(h), D(lo))


@pytest.mark.parametrize(
    ("side", "limit", "the_bar", "expected"),
    [
        pytest.param(Side.BUY, "100", bar("99", "101", "98"), "99", id="buy-limit-gap-below-fills-at-open"),
        pytest.param(Side.BUY, "100", bar("101", "102", "99.5"), "100", id="buy-limit-range-reaches"),
        pytest.param(Side.BUY, "100", bar("101", "102", "100.01"), None, id="buy-limit-not-reached"),
        pytest.param(Side.SELL, "100", bar("101", "101", "95"), "101", id="sell-limit-gap-above"),
        pytest.param(Side.SELL, "100", bar("99", "100", "95"), "100", id="sell-limit-touched-at-high"),
    ],
)
def test_limit_fill(side: Side, limit: str, the_bar: Bar, expected: str | None) -> None:
    assert limit_fill(side, D(limit), the_bar) == (None if expected is None else D(expected))


@pytest.mark.parametrize(
    ("side", "stop", "the_bar", "expected"),
    [
        pytest.param(Side.SELL, "95", bar("90", "96", "89"), "90", id="sell-stop-gap-through-at-open"),
        pytest.param(Side.SELL, "95", bar("97", "98", "94"), "95", id="sell-stop-range-reaches"),
        pytest.param(Side.SELL, "95", bar("97", "98", "95.01"), None, id="sell-stop-not-reached"),
        pytest.param(Side.BUY, "105", bar("107", "108", "106"), "107", id="buy-stop-gap-up"),
    ],
)
def test_stop_trigger(side: Side, stop: str, the_bar: Bar, expected: str | None) -> None:
    assert stop_trigger(side, D(stop), the_bar) == (None if expected is None else D(expected))


def test_stop_limit_when_gap_through_limit_then_triggered_but_unfilled() -> None:
    # A sell stop-limit 95/94 on a bar opening at 90 that never trades back up to 94.
    outcome = stop_limit_fill(Side.SELL, D(95), D(94), bar("90", "93", "88"))

    assert (outcome.triggered, outcome.fill_price) == (True, None)


def test_stop_limit_when_triggered_inside_the_bar_then_fills_at_the_trigger_better_than_its_limit() -> None:
    outcome = stop_limit_fill(Side.SELL, D(95), D(94), bar("97", "98", "93"))

    assert (outcome.triggered, outcome.fill_price) == (True, D(95))


@pytest.mark.parametrize(
    ("the_bar", "expected"),
    [
        pytest.param(bar("94", "111", "93"), (ExitLeg.STOP, "94"), id="gap-through-stop-at-open"),
        pytest.param(bar("112", "113", "94"), (ExitLeg.TARGET, "112"), id="gap-through-target-at-open"),
        pytest.param(bar("100", "111", "94"), (ExitLeg.STOP, "95"), id="both-in-range-stop-wins"),
        pytest.param(bar("100", "111", "96"), (ExitLeg.TARGET, "110"), id="only-target-in-range"),
        pytest.param(bar("100", "109", "96"), None, id="neither"),
    ],
)
def test_exit_pair_of_a_long_stop_95_target_110(the_bar: Bar, expected: tuple[ExitLeg, str] | None) -> None:
    hit = exit_pair_fill(Side.SELL, D(95), D(110), the_bar)

    assert hit == (None if expected is None else (expected[0], D(expected[1])))


def test_exit_pair_of_a_short_mirrors_the_long() -> None:
    # Short at 100, stop 105, target 90: a bar reaching both -> the stop.
    assert exit_pair_fill(Side.BUY, D(105), D(90), bar("100", "106", "89")) == (ExitLeg.STOP, D(105))
    assert exit_pair_fill(Side.BUY, D(105), D(90), bar("88", "92", "87")) == (ExitLeg.TARGET, D(88))


def _four_step_rule(long: bool, stop: Decimal, target: Decimal, b: Bar) -> tuple[str, Decimal] | None:
    """The backtest's rule as it was written before the module existed (stop gap, target gap, stop in range,
    target in range): the shared module must keep its results."""
    if long:
        checks = [(b.open <= stop, "stop", b.open), (b.open >= target, "target", b.open)]
        checks += [(b.low <= stop, "stop", stop), (b.high >= target, "target", target)]
    else:
        checks = [(b.open >= stop, "stop", b.open), (b.open <= target, "target", b.open)]
        checks += [(b.high >= stop, "stop", stop), (b.low <= target, "target", target)]
    return next(((leg, price) for hit, leg, price in checks if hit), None)


_price = st.integers(50, 150).map(Decimal)


@given(o=_price, up=st.integers(0, 30), down=st.integers(0, 30), stop=_price, gap=st.integers(1, 30))
def test_exit_pair_equals_the_backtests_four_step_rule(
    o: Decimal, up: int, down: int, stop: Decimal, gap: int
) -> None:
    b = Bar(o, o + up, o - down)
    for long in (True, False):
        target = stop + gap if long else stop - gap
        hit = exit_pair_fill(Side.SELL if long else Side.BUY, stop, target, b)
        expected = _four_step_rule(long, stop, target, b)
        assert (None if hit is None else (hit[0].value, hit[1])) == expected

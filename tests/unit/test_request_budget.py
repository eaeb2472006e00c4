"""The request budget's rule (domain/request_budget.py): no 60-second window ever sees more than
burst + per_minute requests, a take beyond the caller's wait reserves nothing, and the gate in front of the
Alpaca client waits or gives the request back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradepipe.adapters.budget_gate import BudgetGate
from tradepipe.adapters.request_budget import MemoryRequestBudget
from tradepipe.domain.request_budget import (
    ALPACA_REQUESTS_PER_MINUTE,
    DEFAULT_RULE,
    BudgetRule,
    reserve,
)
from tradepipe.ports.broker import BrokerRateLimited

RULE = BudgetRule(per_minute=60, burst=5)  # one a second, five at once


def test_default_rule_leaves_headroom_under_alpacas_limit() -> None:
    assert DEFAULT_RULE.worst_minute == 180
    assert DEFAULT_RULE.worst_minute < ALPACA_REQUESTS_PER_MINUTE


def test_reserve_when_idle_then_burst_goes_at_once_and_the_next_waits_one_interval() -> None:
    due = None
    waits = []
    for _ in range(6):
        granted = reserve(due, 1, 1000.0, RULE, max_wait_s=10)
        due = granted.due
        waits.append(granted.wait_s)

    assert waits == [0.0, 0.0, 0.0, 0.0, 0.0, pytest.approx(1.0)]


def test_reserve_when_wait_exceeds_max_then_nothing_taken_and_wait_says_when() -> None:
    full = 1000.0 + 5 * RULE.interval_s + 3.0  # burst used and 3 s of slots booked

    granted = reserve(full, 1, 1000.0, RULE, max_wait_s=2.0)

    assert granted.due is None
    assert granted.wait_s == pytest.approx(4.0)


def test_reserve_when_quiet_long_enough_then_the_bucket_is_full_again() -> None:
    granted = reserve(900.0, 5, 1000.0, RULE, max_wait_s=0)

    assert (granted.wait_s, granted.due) == (0.0, pytest.approx(1005.0))


@pytest.mark.parametrize(("per_minute", "burst"), [(0, 5), (60, 0)])
def test_rule_when_empty_then_refused(per_minute: int, burst: int) -> None:
    with pytest.raises(ValueError, match="request budget"):
        BudgetRule(per_minute=per_minute, burst=burst)


@settings(max_examples=200, deadline=None)
@given(
    arrivals=st.lists(st.floats(min_value=0, max_value=300, allow_nan=False), min_size=1, max_size=400),
    per_minute=st.integers(min_value=1, max_value=200),
    burst=st.integers(min_value=1, max_value=50),
    max_wait_s=st.floats(min_value=0, max_value=30),
)
def test_reserve_never_lets_a_minute_see_more_than_burst_plus_per_minute(
    arrivals: list[float], per_minute: int, burst: int, max_wait_s: float
) -> None:
    rule = BudgetRule(per_minute, burst)
    due: float | None = None
    sent: list[float] = []
    for at in sorted(arrivals):
        granted = reserve(due, 1, at, rule, max_wait_s)
        if granted.due is not None:
            due = granted.due
            assert granted.wait_s <= max_wait_s
            sent.append(at + granted.wait_s)
    sent.sort()
    for i, start in enumerate(sent):
        in_window = sum(1 for t in sent[i:] if t < start + 60 - 1e-9)
        assert in_window <= rule.worst_minute


class _Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


def test_gate_when_slot_is_near_then_sleeps_until_it_and_when_far_then_raises_rate_limited() -> None:
    clock, slept = _Clock(), []

    def sleep(s: float) -> None:
        slept.append(s)
        clock.at += timedelta(seconds=s)

    gate = BudgetGate(MemoryRequestBudget(RULE), "paper", clock, max_wait_s=2.0, sleep=sleep)
    for _ in range(7):  # 5 at once, then one a second
        gate()

    assert slept == [pytest.approx(1.0), pytest.approx(1.0)]
    other = BudgetGate(gate.budget, "paper", clock, max_wait_s=0.5, sleep=sleep)
    booked = BudgetGate(gate.budget, "paper", clock, max_wait_s=10.0, sleep=lambda s: None)
    booked()
    booked()  # two slots booked ahead without the clock moving
    with pytest.raises(BrokerRateLimited) as refused:
        other()
    assert refused.value.retry_after_s == pytest.approx(3.0)


def test_gate_accounts_apart_when_paper_is_exhausted_then_live_still_goes() -> None:
    clock = _Clock()
    budget = MemoryRequestBudget(RULE)
    paper = BudgetGate(budget, "paper", clock, max_wait_s=0)
    live = BudgetGate(budget, "live", clock, max_wait_s=0)
    for _ in range(5):
        paper()
    with pytest.raises(BrokerRateLimited):
        paper()

    live()  # its own bucket

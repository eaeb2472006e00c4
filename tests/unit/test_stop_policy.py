"""Every entry has a sane stop before it is sent: STOP_REQUIRED in every sizing mode unless the profile says
`stop_required = false`; a stop at or below zero, or farther than `max_stop_pct` (default 20%) from the
entry, is STOP_INVALID whatever its source (the alert, a percent, or entry -/+ atr_stop x ATR)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.unit.test_risk_engine import NOW, _ctx, _signal
from tradepipe.domain.model import Rejected, RejectReason, SizingMode
from tradepipe.domain.risk.engine import Approved, assess
from tradepipe.domain.risk.profile import RiskProfile

D = Decimal
NO_STOP = {"stop": None, "target": None}


def _decide(profile: RiskProfile | None = None, atr: str | None = None, **signal: Any) -> Approved | Rejected:
    decision = assess(
        _signal(**signal), _ctx(atr=None if atr is None else D(atr)), profile or RiskProfile(), NOW
    )
    assert isinstance(decision.decision, Approved | Rejected)
    return decision.decision


@pytest.mark.parametrize(
    ("mode", "value"),
    [
        pytest.param(SizingMode.RISK_DOLLARS, D(100), id="risk-dollars"),
        pytest.param(SizingMode.RISK_PERCENT, D(1), id="risk-percent"),
        pytest.param(SizingMode.FIXED_QUANTITY, D(10), id="fixed-quantity"),
        pytest.param(SizingMode.DOLLAR_AMOUNT, D(2500), id="dollar-amount"),
        pytest.param(SizingMode.PERCENT_OF_EQUITY, D(5), id="percent-of-equity"),
    ],
)
def test_entry_without_stop_and_without_atr_then_stop_required_in_every_sizing_mode(
    mode: SizingMode, value: Decimal
) -> None:
    decision = _decide(**NO_STOP, sizing_mode=mode, sizing_value=value)

    assert isinstance(decision, Rejected)
    assert decision.reason is RejectReason.STOP_REQUIRED
    assert "no stop in the alert and no ATR available" in decision.detail


def test_entry_without_stop_when_profile_opts_out_then_sent_without_one() -> None:
    decision = _decide(
        RiskProfile(stop_required=False), **NO_STOP, sizing_mode=SizingMode.FIXED_QUANTITY, sizing_value=D(10)
    )

    assert isinstance(decision, Approved)
    assert (decision.qty, decision.exits.stop) == (D(10), None)


def test_entry_without_stop_when_atr_rule_off_then_stop_required_naming_the_rule() -> None:
    decision = _decide(RiskProfile(atr_stop=None), atr="4", **NO_STOP)

    assert isinstance(decision, Rejected)
    assert decision.reason is RejectReason.STOP_REQUIRED
    assert "no ATR stop rule" in decision.detail


def test_atr_stop_below_zero_then_stop_invalid_never_sent() -> None:
    # The case: entry 50, ATR 30, atr_stop 2 -> a stop of -10.00.
    decision = _decide(atr="30", entry="50", **NO_STOP)

    assert isinstance(decision, Rejected)
    assert decision.reason is RejectReason.STOP_INVALID
    assert decision.detail == "stop -10.0000 <= 0 for entry 50"


def test_percent_stop_of_100_pct_then_stop_invalid_at_zero() -> None:
    decision = _decide(stop=None, stop_loss_percent=D(100))

    assert isinstance(decision, Rejected)
    assert decision.reason is RejectReason.STOP_INVALID
    assert "<= 0" in decision.detail


def test_stop_farther_than_max_stop_pct_then_stop_invalid() -> None:
    decision = _decide(entry="100", stop="79.99")  # no ATR: only the percent rule can catch it

    assert isinstance(decision, Rejected)
    assert decision.reason is RejectReason.STOP_INVALID
    assert decision.detail == "stop 79.99 is 20.01% from entry 100 > max_stop_pct 20%"


def test_stop_at_max_stop_pct_then_approved_and_the_limit_is_the_profiles() -> None:
    at_limit = _decide(entry="100", stop="80")
    wider_profile = _decide(RiskProfile(max_stop_pct=D(30)), entry="100", stop="75")

    assert isinstance(at_limit, Approved)
    assert isinstance(wider_profile, Approved)
    assert wider_profile.exits.stop == D(75)


def test_atr_derived_stop_beyond_max_stop_pct_then_stop_invalid() -> None:
    decision = _decide(atr="12", entry="100", **NO_STOP)  # 100 - 2 x 12 = 76: 24% away

    assert isinstance(decision, Rejected)
    assert decision.reason is RejectReason.STOP_INVALID
    assert "24.00% from entry 100" in decision.detail


def test_alert_stop_beyond_max_stop_pct_with_atr_known_then_stop_invalid_before_any_atr_judgement() -> None:
    decision = _decide(atr="4", entry="100", stop="70")  # 30%: also > 5 x ATR, but a typo is not "too wide"

    assert isinstance(decision, Rejected)
    assert decision.reason is RejectReason.STOP_INVALID

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.builders import signal
from tradepipe.domain.model import Rejected, RejectReason, Side
from tradepipe.domain.sizing import Sized, size_entry


@pytest.mark.parametrize(
    ("side", "entry", "stop", "target", "risk", "expected"),
    [
        pytest.param(Side.BUY, "150.25", "148.5", "155", "100", 57, id="buy-issue-example"),
        pytest.param(Side.SELL, "150.25", "152", "145", "100", 57, id="sell-mirror"),
        pytest.param(Side.BUY, "10", "9", None, "100", 100, id="buy-exact-division"),
        pytest.param(Side.BUY, "10", "9.01", None, "100", 101, id="buy-rounds-down"),
        pytest.param(Side.BUY, "430.47", "426.17", "439.07", "250", 58, id="aapl-demo"),
    ],
)
def test_size_by_risk_when_sides_are_right_then_floor_of_risk_over_distance(
    side: Side, entry: str, stop: str, target: str | None, risk: str, expected: int
) -> None:
    decision = size_entry(signal(side=side, entry=entry, stop=stop, target=target, risk=risk))

    assert isinstance(decision, Sized)
    assert decision.qty == expected
    assert decision.realized_risk <= Decimal(risk)


@pytest.mark.parametrize(
    ("side", "entry", "stop", "target", "risk", "reason", "detail_has"),
    [
        pytest.param(
            Side.BUY,
            "150",
            "151",
            None,
            "100",
            RejectReason.STOP_WRONG_SIDE,
            "stop=151",
            id="buy-stop-above-entry",
        ),
        pytest.param(
            Side.SELL,
            "150",
            "149",
            None,
            "100",
            RejectReason.STOP_WRONG_SIDE,
            "side=SELL",
            id="sell-stop-below-entry",
        ),
        pytest.param(
            Side.BUY,
            "150",
            "149",
            "149.5",
            "100",
            RejectReason.TAKE_PROFIT_WRONG_SIDE,
            "take_profit=149.5",
            id="buy-target-below-entry",
        ),
        pytest.param(
            Side.SELL,
            "150",
            "151",
            "150",
            "100",
            RejectReason.TAKE_PROFIT_WRONG_SIDE,
            "take_profit=150",
            id="sell-target-at-entry",
        ),
        pytest.param(
            Side.BUY,
            "150",
            "150",
            None,
            "100",
            RejectReason.ZERO_STOP_DISTANCE,
            "stop=150",
            id="stop-equals-entry",
        ),
        pytest.param(
            Side.BUY,
            "806.19",
            "794.10",
            None,
            "5",
            RejectReason.SIZE_BELOW_ONE_SHARE,
            "qty=0",
            id="risk-below-one-share",
        ),
    ],
)
def test_size_by_risk_when_input_is_unsafe_then_rejected_with_reason(
    side: Side, entry: str, stop: str, target: str | None, risk: str, reason: RejectReason, detail_has: str
) -> None:
    decision = size_entry(signal(side=side, entry=entry, stop=stop, target=target, risk=risk))

    assert isinstance(decision, Rejected)
    assert decision.reason is reason
    assert detail_has in decision.detail


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
risks = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2)


@given(entry=prices, stop=prices, risk=risks, side=st.sampled_from(list(Side)))
def test_size_by_risk_never_over_risks_and_never_divides_by_zero(
    entry: Decimal, stop: Decimal, risk: Decimal, side: Side
) -> None:
    decision = size_entry(signal(side=side, entry=str(entry), stop=str(stop), target=None, risk=str(risk)))

    if isinstance(decision, Sized):
        assert decision.qty >= 1
        assert decision.realized_risk <= risk
        assert (
            decision.realized_risk + decision.risk_per_share > risk
        )  # floor: one more share would over-risk
    else:
        assert decision.reason in set(RejectReason)

"""Prices on Alpaca's tick grid ($0.01 at or above $1, $0.0001 below: "Orders at Alpaca", sub-penny
increments) before the risk stage sizes, reserves or counts anything: a limit entry never worse than asked
(buy down, sell up), stops and take-profits away from the entry (a take-profit never lands on it), and
Alpaca's leg-distance rule checked in the risk stage."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.unit.test_pipeline_use_cases import _recorded, risk_deps
from tests.unit.test_risk_engine import NOW, PROFILE, _ctx, _signal
from tradepipe.adapters.memory import MemoryBroker, MemoryQueue, MemorySignalStore
from tradepipe.adapters.memory_risk import MemoryRiskStateStore
from tradepipe.app.assess import assess_signal
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.exits import round_away, round_entry, round_target
from tradepipe.domain.model import OrderType, Rejected, RejectReason, Side, SignalStatus
from tradepipe.domain.risk.engine import Approved, assess

D = Decimal


@pytest.mark.parametrize(
    ("limit", "side", "expected"),
    [
        pytest.param("150.257", Side.BUY, "150.25", id="buy-limit-rounds-down"),
        pytest.param("150.251", Side.SELL, "150.26", id="sell-limit-rounds-up"),
        pytest.param("150.25", Side.BUY, "150.25", id="on-grid-unchanged"),
        pytest.param("0.51237", Side.BUY, "0.5123", id="sub-dollar-buy-four-decimals-down"),
        pytest.param("0.51231", Side.SELL, "0.5124", id="sub-dollar-sell-four-decimals-up"),
        pytest.param("0.99996", Side.SELL, "1.00", id="sell-crossing-one-dollar-lands-on-the-cent-grid"),
    ],
)
def test_round_entry_then_never_a_worse_price_than_asked(limit: str, side: Side, expected: str) -> None:
    assert round_entry(D(limit), side) == D(expected)


@pytest.mark.parametrize(
    ("price", "side", "stop", "target"),
    [
        pytest.param("148.505", Side.BUY, "148.50", "148.51", id="buy-stop-down-target-up"),
        pytest.param("152.001", Side.SELL, "152.01", "152.00", id="sell-stop-up-target-down"),
        pytest.param("0.48765", Side.BUY, "0.4876", "0.4877", id="sub-dollar-four-decimals"),
    ],
)
def test_stops_and_targets_round_away_from_the_entry(price: str, side: Side, stop: str, target: str) -> None:
    assert round_away(D(price), D(150), side) == D(stop)
    assert round_target(D(price), side) == D(target)


def _assess(atr: str = "4", **over: Any) -> Approved | Rejected:
    decision = assess(_signal(**over), _ctx(atr=D(atr)), PROFILE, NOW).decision
    assert isinstance(decision, Approved | Rejected)
    return decision


def test_assess_when_take_profit_a_fraction_of_a_cent_above_entry_then_rounded_up_not_onto_it() -> None:
    decision = _assess(entry="100", stop="98", target="100.004")

    assert isinstance(decision, Approved)
    assert decision.exits.target == D("100.01")  # was rounded to nearest: 100.00, the entry itself


def test_assess_when_limit_off_grid_then_approved_at_the_rounded_limit_and_sized_from_it() -> None:
    decision = _assess(
        entry="100", stop="98", target="104", order_type=OrderType.LIMIT, limit_price=D("100.0099")
    )

    assert isinstance(decision, Approved)
    assert (decision.limit_price, decision.entry) == (D("100.00"), D("100.00"))
    assert decision.qty == 50  # risk 100 / (100.00 - 98)


def test_assess_when_sub_dollar_target_inside_alpacas_cent_then_order_invalid_before_sizing_counts() -> None:
    decision = _assess(atr="0.1", entry="0.5000", stop="0.4000", target="0.5050", risk="10")

    assert isinstance(decision, Rejected)
    assert decision.reason is RejectReason.ORDER_INVALID
    assert "take_profit 0.5050 must be >= $0.01 beyond" in decision.detail


def test_assess_signal_when_legs_break_alpacas_rules_then_rejected_and_nothing_reserved_or_counted() -> None:
    store, queue = MemorySignalStore(), MemoryQueue()
    deps = risk_deps(store, queue, MemoryBroker(), atr=None)
    message = _recorded(store, entry="0.5000", stop="0.4000", target="0.5050", risk="10")

    outcome = assess_signal(message, deps)

    assert isinstance(outcome, Rejected)
    assert outcome.reason is RejectReason.ORDER_INVALID
    assert queue.sent == []
    reservations = deps.reservations
    assert isinstance(reservations, MemoryRiskStateStore)
    assert reservations.book("paper").reservations == ()
    assert reservations.book("paper").order_times == ()  # no order-rate slot spent
    item = store.get(message.signal.signal_id)
    assert item is not None
    assert item.status is SignalStatus.REJECTED
    assert not isinstance(outcome, OrderIntent)

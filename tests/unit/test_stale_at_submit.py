"""STALE_AT_SUBMIT: an entry the executor could not send within its profile's max_intent_age_s of being
sized is rejected without a broker call; an entry already at the broker, and every exit, goes on whatever
its age."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.unit.test_pipeline_use_cases import NOW, _intent
from tradepipe.adapters.memory import (
    FixedClock,
    MemoryBroker,
    MemoryBrokers,
    MemoryOrderStore,
    MemorySignalStore,
)
from tradepipe.app.execute import ExecutorDeps, execute_intent
from tradepipe.config import load_bundled_risk_config
from tradepipe.domain.model import RejectReason, SignalStatus
from tradepipe.domain.risk.profile import RiskProfile
from tradepipe.domain.staleness import check_intent_age
from tradepipe.ports.broker import BrokerUnavailable

PROFILES = load_bundled_risk_config(None)
LIMIT = RiskProfile().max_intent_age_s


def test_default_max_intent_age_is_the_intakes_alert_lag() -> None:
    assert LIMIT == 60
    assert PROFILES.profile_for("any").max_intent_age_s == 60


@pytest.mark.parametrize(
    ("is_entry", "age_s", "stale"),
    [
        pytest.param(True, 60, False, id="entry-at-the-limit"),
        pytest.param(True, 61, True, id="entry-past-the-limit"),
        pytest.param(False, 3600, False, id="exit-an-hour-late-still-goes"),
    ],
)
def test_check_intent_age(is_entry: bool, age_s: int, stale: bool) -> None:
    decision = check_intent_age(is_entry, NOW, NOW + timedelta(seconds=age_s), 60)

    assert (decision is not None) is stale
    if decision is not None:
        assert decision.reason is RejectReason.STALE_AT_SUBMIT
        assert "61 s" in decision.detail


def _deps(
    signals: MemorySignalStore, orders: MemoryOrderStore, broker: MemoryBroker, at: datetime
) -> ExecutorDeps:
    return ExecutorDeps(
        signals, orders, MemoryBrokers(paper=broker), FixedClock(at), profiles=PROFILES, sleep=lambda s: None
    )


def test_execute_when_entry_aged_past_its_limit_then_rejected_stale_without_a_broker_call() -> None:
    signals, orders, broker = MemorySignalStore(), MemoryOrderStore(), MemoryBroker()
    intent = _intent(signals)  # sized at NOW

    result = execute_intent(intent, _deps(signals, orders, broker, NOW + timedelta(seconds=LIMIT + 1)))

    assert result.rejected == RejectReason.STALE_AT_SUBMIT
    assert broker.submissions == 0
    assert orders.items == {}
    item = signals.get(intent.signal_id)
    assert item is not None
    assert item.status is SignalStatus.REJECTED
    assert item.reject_reason == "STALE_AT_SUBMIT"


def test_execute_when_entry_within_its_limit_then_placed() -> None:
    signals, orders, broker = MemorySignalStore(), MemoryOrderStore(), MemoryBroker()
    intent = _intent(signals)

    result = execute_intent(intent, _deps(signals, orders, broker, NOW + timedelta(seconds=LIMIT)))

    assert result.rejected is None
    assert broker.submissions == 1


def test_execute_when_failed_attempt_comes_back_late_then_its_order_record_is_rejected_too() -> None:
    class Down(MemoryBroker):
        def submit(self, intent: object) -> object:  # type: ignore[override]
            raise BrokerUnavailable("connection refused")

    signals, orders = MemorySignalStore(), MemoryOrderStore()
    intent = _intent(signals)
    with pytest.raises(BrokerUnavailable):
        execute_intent(intent, _deps(signals, orders, Down(), NOW))
    assert orders.items[intent.client_order_id].status == "pending_submit"
    broker = MemoryBroker()

    result = execute_intent(intent, _deps(signals, orders, broker, NOW + timedelta(minutes=6)))

    assert result.rejected == RejectReason.STALE_AT_SUBMIT
    assert broker.submissions == 0
    order = orders.items[intent.client_order_id]
    assert (order.status, order.reject_code) == ("rejected", "STALE_AT_SUBMIT")


def test_execute_when_entry_already_at_the_broker_comes_back_late_then_followed_not_rejected() -> None:
    signals, orders, broker = MemorySignalStore(), MemoryOrderStore(), MemoryBroker()
    intent = _intent(signals)
    execute_intent(intent, _deps(signals, orders, broker, NOW))

    again = execute_intent(intent, _deps(signals, orders, broker, NOW + timedelta(minutes=6)))

    assert again.rejected is None
    assert broker.submissions == 1
    item = signals.get(intent.signal_id)
    assert item is not None
    assert item.status is SignalStatus.FILLED


def test_execute_when_close_comes_back_late_then_it_still_closes() -> None:
    signals, orders, broker = MemorySignalStore(), MemoryOrderStore(), MemoryBroker()
    entry = _intent(signals)
    execute_intent(entry, _deps(signals, orders, broker, NOW))
    close = entry.model_copy(
        update={"kind": "close", "intent_id": f"{entry.signal_id}:close", "client_order_id": "tp-x-close"}
    )

    result = execute_intent(close, _deps(signals, orders, broker, NOW + timedelta(hours=1)))

    assert result.rejected is None
    assert broker.positions[entry.symbol] == 0

"""assess_signal and execute_intent on in-memory ports: the decisions and the exactly-once rules."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.unit.builders import signal
from tradepipe.adapters.memory import (
    FixedClock,
    MemoryBroker,
    MemoryBrokers,
    MemoryOrderStore,
    MemoryQueue,
    MemorySearchIndex,
    MemorySignalStore,
)
from tradepipe.app.assess import RiskDeps, assess_signal
from tradepipe.app.execute import ExecutorDeps, execute_intent
from tradepipe.app.index import TableChange, index_changes
from tradepipe.contracts.items import SignalItem, StatusEntry
from tradepipe.contracts.messages import OrderIntent, SignalAccepted
from tradepipe.domain.model import Mode, Rejected, RejectReason, Side, SignalStatus

NOW = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


def _recorded(
    store: MemorySignalStore, status: SignalStatus = SignalStatus.ENQUEUED, **kw: object
) -> SignalAccepted:
    s = signal(**kw)  # type: ignore[arg-type]
    store.record_new(
        SignalItem(
            signal_id=s.signal_id,
            status=status,
            received_at=NOW,
            updated_at=NOW,
            expires_at=0,
            history=[StatusEntry(status=status, at=NOW)],
            ticker=s.ticker,
        )
    )
    return SignalAccepted(signal=s, received_at=NOW)


def test_assess_when_valid_then_sized_and_one_intent_with_deterministic_coid() -> None:
    store, queue = MemorySignalStore(), MemoryQueue()
    message = _recorded(store)

    intent = assess_signal(message, RiskDeps(store, queue, FixedClock(NOW)))

    assert isinstance(intent, OrderIntent)
    assert intent.qty == 57
    assert intent.client_order_id == f"tp-{'s' * 32}-open"
    assert queue.sent == [intent]
    item = store.get(message.signal.signal_id)
    assert item is not None
    assert item.status is SignalStatus.SIZED
    assert item.qty == 57


def test_assess_when_stop_wrong_side_then_rejected_recorded_no_intent() -> None:
    store, queue = MemorySignalStore(), MemoryQueue()
    message = _recorded(store, stop="151")

    outcome = assess_signal(message, RiskDeps(store, queue, FixedClock(NOW)))

    assert isinstance(outcome, Rejected)
    assert outcome.reason is RejectReason.STOP_WRONG_SIDE
    item = store.get(message.signal.signal_id)
    assert item is not None
    assert item.status is SignalStatus.REJECTED
    assert item.reject_reason == "STOP_WRONG_SIDE"
    assert queue.sent == []


def test_assess_when_redelivered_after_submission_then_nothing_sent() -> None:
    store, queue = MemorySignalStore(), MemoryQueue()
    message = _recorded(store, status=SignalStatus.SUBMITTED)

    assert assess_signal(message, RiskDeps(store, queue, FixedClock(NOW))) is None
    assert queue.sent == []


def _intent(store: MemorySignalStore, mode: Mode = Mode.PAPER) -> OrderIntent:
    message = _recorded(store, mode=mode)
    intent = assess_signal(message, RiskDeps(store, MemoryQueue(), FixedClock(NOW)))
    assert isinstance(intent, OrderIntent)
    return intent


def test_execute_when_paper_then_one_order_and_signal_filled() -> None:
    signals, orders, broker = MemorySignalStore(), MemoryOrderStore(), MemoryBroker()
    intent = _intent(signals)
    deps = ExecutorDeps(signals, orders, MemoryBrokers(paper=broker), FixedClock(NOW))

    result = execute_intent(intent, deps)

    assert result.rejected is None
    assert broker.submissions == 1
    assert orders.items[intent.client_order_id].status == "filled"
    item = signals.get(intent.signal_id)
    assert item is not None
    assert item.status is SignalStatus.FILLED
    assert [h.status for h in item.history][-2:] == [SignalStatus.SUBMITTED, SignalStatus.FILLED]


def test_execute_when_crash_between_broker_accept_and_record_then_redelivery_does_not_resubmit() -> None:
    class DiesAfterBrokerCall(MemoryOrderStore):
        def update(self, client_order_id: str, fields: Mapping[str, Any]) -> None:
            raise RuntimeError("the function died before recording the broker's answer")

    signals, broker = MemorySignalStore(), MemoryBroker()
    intent = _intent(signals)
    crashing = DiesAfterBrokerCall()
    with pytest.raises(RuntimeError):
        execute_intent(intent, ExecutorDeps(signals, crashing, MemoryBrokers(paper=broker), FixedClock(NOW)))
    recovered = MemoryOrderStore()
    recovered.items = crashing.items  # the same table, read by the redelivered invocation

    execute_intent(intent, ExecutorDeps(signals, recovered, MemoryBrokers(paper=broker), FixedClock(NOW)))

    assert broker.submissions == 1
    item = signals.get(intent.signal_id)
    assert item is not None
    assert item.status is SignalStatus.FILLED


def test_execute_when_live_and_not_enabled_then_rejected_without_broker_call() -> None:
    signals, orders, paper = MemorySignalStore(), MemoryOrderStore(), MemoryBroker()
    intent = _intent(signals, mode=Mode.LIVE)

    result = execute_intent(
        intent, ExecutorDeps(signals, orders, MemoryBrokers(paper=paper, live=None), FixedClock(NOW))
    )

    assert result.rejected == RejectReason.LIVE_TRADING_DISABLED
    assert paper.submissions == 0
    assert orders.items == {}
    item = signals.get(intent.signal_id)
    assert item is not None
    assert item.reject_reason == "LIVE_TRADING_DISABLED"


def test_execute_when_broker_rejects_then_order_and_signal_rejected_with_alpaca_code() -> None:
    signals, orders, broker = MemorySignalStore(), MemoryOrderStore(), MemoryBroker()
    broker.reject_with = ("40310000", "potential wash trade detected")
    intent = _intent(signals)

    execute_intent(intent, ExecutorDeps(signals, orders, MemoryBrokers(paper=broker), FixedClock(NOW)))
    again = execute_intent(
        intent, ExecutorDeps(signals, orders, MemoryBrokers(paper=broker), FixedClock(NOW))
    )

    assert orders.items[intent.client_order_id].reject_code == "40310000"
    assert again.rejected
    assert broker.submissions == 1
    item = signals.get(intent.signal_id)
    assert item is not None
    assert item.status is SignalStatus.REJECTED
    assert "40310000" in (item.reject_detail or "")


def test_index_changes_when_signal_and_order_then_documents_keyed_by_record_key() -> None:
    search = MemorySearchIndex()
    image = {
        "signal_id": "abc",
        "status": "FILLED",
        "received_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
        "expires_at": Decimal(0),
        "ticker": "AAPL",
        "side": Side.BUY.value,
        "qty": Decimal(5),
        "history": [
            {"status": "RECEIVED", "at": NOW.isoformat()},
            {"status": "FILLED", "at": NOW.isoformat()},
        ],
    }
    changes = [
        TableChange("signals", "INSERT", "1", image),
        TableChange("signals", "MODIFY", "2", image),
        TableChange("signals", "REMOVE", "3", None),
    ]

    failed = index_changes(changes, search)

    assert failed == []
    assert list(search.documents) == [("trading-signals", "abc")]
    doc = search.documents[("trading-signals", "abc")]
    assert doc["qty"] == 5
    assert doc["filled_at"] is not None


@pytest.mark.parametrize("bad", [{"signal_id": "x"}])
def test_index_changes_when_record_cannot_map_then_skipped_not_retried(bad: dict[str, object]) -> None:
    assert index_changes([TableChange("signals", "INSERT", "1", bad)], MemorySearchIndex()) == []

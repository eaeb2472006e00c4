"""assess_signal and execute_intent on in-memory ports: the decisions and the exactly-once rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
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
from tradepipe.adapters.memory_risk import MemoryEventPublisher, MemoryMarketData, MemoryRiskStateStore
from tradepipe.app.assess import RiskDeps, assess_signal
from tradepipe.app.execute import ExecutorDeps, execute_intent
from tradepipe.app.index import IndexDeps, index_changes
from tradepipe.config import load_bundled_risk_config
from tradepipe.contracts.events import parse_event
from tradepipe.contracts.items import SignalItem, StatusEntry, StatusUpdate
from tradepipe.contracts.messages import OrderIntent, SignalAccepted
from tradepipe.domain.model import Mode, Rejected, RejectReason, Side, SignalStatus
from tradepipe.ports.broker import AccountView, ClockView, HoldingView
from tradepipe.ports.market_data import DailyBar
from tradepipe.ports.stores import TableChange

NOW = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
BARS = [
    DailyBar(t=NOW, o=Decimal(150), h=Decimal(152), l=Decimal(148), c=Decimal("150.25"), v=Decimal(1e6))
] * 45


def risk_deps(
    store: MemorySignalStore,
    queue: MemoryQueue,
    broker: MemoryBroker | None = None,
    atr: Decimal | None = Decimal(2),
    live: MemoryBroker | None = None,
) -> RiskDeps:
    """The risk stage on in-memory ports; ATR(14) = 2 keeps the builders' 1.75 stop inside 0.5-5 ATR."""
    risk_state = MemoryRiskStateStore()
    return RiskDeps(
        store=store,
        intents=queue,
        clock=FixedClock(NOW),
        config=load_bundled_risk_config(),
        brokers=MemoryBrokers(paper=broker or MemoryBroker(), live=live),
        trading_state=risk_state,
        history=risk_state,
        reservations=risk_state,
        positions=risk_state,
        queued=risk_state,
        market_data=MemoryMarketData({"AAPL": BARS}),
        events=MemoryEventPublisher(),
        atr=lambda bars, n: atr,
    )


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

    intent = assess_signal(message, risk_deps(store, queue))

    assert isinstance(intent, OrderIntent)
    assert intent.qty == 57  # floor(100 / 1.75)
    assert intent.client_order_id == f"tp-{'s' * 32}-open"
    assert queue.sent == [intent]
    item = store.get(message.signal.signal_id)
    assert item is not None
    assert item.status is SignalStatus.SIZED
    assert item.qty == 57


def test_assess_when_stop_wrong_side_then_rejected_recorded_no_intent() -> None:
    store, queue = MemorySignalStore(), MemoryQueue()
    message = _recorded(store, stop="151")

    outcome = assess_signal(message, risk_deps(store, queue))

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

    assert assess_signal(message, risk_deps(store, queue)) is None
    assert queue.sent == []


def test_assess_when_redelivered_after_sized_but_before_the_send_then_the_recorded_intent_is_sent() -> None:
    """A crash between the SIZED record and the send: the redelivery must send what was decided, even when a
    second decision would now differ (here the account was halted in between)."""
    store, sent_before_crash = MemorySignalStore(), MemoryQueue()
    message = _recorded(store)
    decided = assess_signal(message, risk_deps(store, sent_before_crash))
    assert isinstance(decided, OrderIntent)
    queue = MemoryQueue()
    deps = risk_deps(store, queue)
    deps.trading_state.set_trading_state("paper", "HALTED", "manual", "test", NOW)

    again = assess_signal(message, deps)

    assert again == decided
    assert queue.sent == [decided]
    item = store.get(message.signal.signal_id)
    assert item is not None
    assert item.status is SignalStatus.SIZED


def test_assess_when_redelivered_sized_without_a_recorded_intent_and_a_rule_now_bites_then_stays_sized() -> (
    None
):
    """An item sized before intents were recorded on it: a second decision that differs must not undo it."""
    store, queue = MemorySignalStore(), MemoryQueue()
    message = _recorded(store, status=SignalStatus.SIZED)
    deps = risk_deps(store, queue)
    deps.brokers.for_mode(Mode.PAPER).clock_view = ClockView(is_open=False, next_open=None)  # type: ignore[union-attr]

    outcome = assess_signal(message, deps)

    assert outcome is None
    item = store.get(message.signal.signal_id)
    assert item is not None
    assert item.status is SignalStatus.SIZED  # not QUEUED or REJECTED: its intent may already be out
    assert queue.sent == []


def _intent(store: MemorySignalStore, mode: Mode = Mode.PAPER) -> OrderIntent:
    message = _recorded(store, mode=mode)
    intent = assess_signal(message, risk_deps(store, MemoryQueue()))
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


def test_execute_when_crash_after_close_filled_then_redelivery_still_records_the_exit_and_its_loss() -> None:
    class BoughtHigher(MemoryBroker):
        def holdings(self) -> dict[str, HoldingView]:
            return {s: replace(h, avg_entry_price=Decimal(110)) for s, h in super().holdings().items()}

    class DiesBeforeTheExitIsRecorded(MemoryRiskStateStore):
        def record_exit(self, *args: Any, **kwargs: Any) -> int:
            raise RuntimeError("the function died between the close's fill and the exit's record")

    signals, orders, broker = MemorySignalStore(), MemoryOrderStore(), BoughtHigher()
    broker.positions["AAPL"], broker.fill_price = Decimal(10), Decimal(100)
    intent = _intent(signals).model_copy(update={"kind": "close"})
    with pytest.raises(RuntimeError):
        execute_intent(
            intent,
            ExecutorDeps(
                signals, orders, MemoryBrokers(paper=broker), FixedClock(NOW), DiesBeforeTheExitIsRecorded()
            ),
        )
    history = MemoryRiskStateStore()

    execute_intent(
        intent, ExecutorDeps(signals, orders, MemoryBrokers(paper=broker), FixedClock(NOW), history)
    )

    assert broker.submissions == 1
    last_exit, _, _ = history.symbol_history("paper", "AAPL", intent.strategy)
    assert last_exit is not None  # the cooldown after this exit holds across the crash
    assert (
        history.record_exit("paper", "ZZZ", intent.strategy, NOW, stop_out=False, pnl=None) == 1
    )  # lost 100


def test_execute_when_live_and_not_enabled_then_rejected_without_broker_call() -> None:
    signals, orders, paper = MemorySignalStore(), MemoryOrderStore(), MemoryBroker()
    # The risk stage already refuses live signals; the executor refuses them again (defense in depth).
    intent = _intent(signals).model_copy(update={"mode": Mode.LIVE})

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


def test_execute_when_crash_between_order_rejected_and_signal_then_redelivery_rejects_the_signal_once() -> (
    None
):
    class DiesBeforeRejected(MemorySignalStore):
        def advance(self, signal_id: str, update: StatusUpdate) -> bool:
            if update.entry.status is SignalStatus.REJECTED:
                raise RuntimeError("the function died before the signal's REJECTED was written")
            return super().advance(signal_id, update)

    signals, orders, broker = MemorySignalStore(), MemoryOrderStore(), MemoryBroker()
    broker.reject_with = ("40310000", "insufficient buying power")
    intent = _intent(signals)
    dying = DiesBeforeRejected()
    dying.items = signals.items
    with pytest.raises(RuntimeError):
        execute_intent(intent, ExecutorDeps(dying, orders, MemoryBrokers(paper=broker), FixedClock(NOW)))
    assert orders.items[intent.client_order_id].status == "rejected"

    for _ in range(2):  # the redelivery, and one more after it (its delete lost)
        again = execute_intent(
            intent, ExecutorDeps(signals, orders, MemoryBrokers(paper=broker), FixedClock(NOW))
        )
        assert again.rejected == "BROKER_REJECTED"

    assert broker.submissions == 1
    item = signals.get(intent.signal_id)
    assert item is not None
    assert item.status is SignalStatus.REJECTED  # not left SIZED with its message deleted
    assert (item.reject_reason, item.reject_detail) == (
        "BROKER_REJECTED",
        "alpaca 40310000: insufficient buying power",
    )
    assert [h.status for h in item.history].count(SignalStatus.REJECTED) == 1


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

    failed = index_changes(changes, IndexDeps(search))

    assert failed == []
    assert list(search.documents) == [("trading-signals", "abc")]
    doc = search.documents[("trading-signals", "abc")]
    assert doc["qty"] == 5
    assert doc["filled_at"] is not None


@pytest.mark.parametrize("bad", [{"signal_id": "x"}])
def test_index_changes_when_record_cannot_map_then_skipped_not_retried(bad: dict[str, object]) -> None:
    assert index_changes([TableChange("signals", "INSERT", "1", bad)], IndexDeps(MemorySearchIndex())) == []


def test_assess_when_live_signal_and_live_not_enabled_then_rejected_before_any_broker_read() -> None:
    store, queue = MemorySignalStore(), MemoryQueue()
    message = _recorded(store, mode=Mode.LIVE)

    outcome = assess_signal(message, risk_deps(store, queue))

    assert isinstance(outcome, Rejected)
    assert outcome.reason is RejectReason.LIVE_TRADING_DISABLED
    assert queue.sent == []


def test_assess_when_drawdown_breached_then_state_switched_recorded_and_event_published() -> None:
    store, queue = MemorySignalStore(), MemoryQueue()
    deps = risk_deps(store, queue)
    deps.trading_state.raise_high_water_mark("paper", Decimal(125_000))  # equity is 100 000: a 20% drawdown

    outcome = assess_signal(_recorded(store), deps)

    assert isinstance(outcome, Rejected)
    assert outcome.reason is RejectReason.TRADING_HALTED
    assert deps.trading_state.trading_state("paper").state == "HALTED"
    events = deps.events.of_type("TradingStateChanged")  # type: ignore[attr-defined]
    assert [(e["state"], e["rule"]) for e in events] == [("HALTED", "max_drawdown")]


def test_assess_when_a_cap_bites_then_trail_names_it_and_event_published() -> None:
    store, queue = MemorySignalStore(), MemoryQueue()
    deps = risk_deps(store, queue)
    message = _recorded(store, risk="10000")  # 5714 shares by risk: far over 20% of equity

    intent = assess_signal(message, deps)

    assert isinstance(intent, OrderIntent)
    assert intent.qty == 133  # floor(20 000 / 150.25): 20% of equity, after momentum_breakout's 25 000 cap
    item = store.get(message.signal.signal_id)
    assert item is not None
    assert item.risk_caps is not None
    assert [(c.cap, c.qty_before, c.qty_after) for c in item.risk_caps] == [
        ("max_notional_per_position", 5714, 166),
        ("max_equity_pct_per_position", 166, 133),
    ]
    # The published detail is the contract's (decimals as strings): parsed back, the caps' numbers.
    events = [parse_event("RiskCapApplied", d) for d in deps.events.of_type("RiskCapApplied")]  # type: ignore[attr-defined]
    assert [(e.cap, e.qty_before, e.qty_after) for e in events] == [  # type: ignore[attr-defined]
        ("max_notional_per_position", 5714, 166),
        ("max_equity_pct_per_position", 166, 133),
    ]


def test_assess_when_caps_leave_nothing_then_rejected_with_the_caps_recorded() -> None:
    store, queue = MemorySignalStore(), MemoryQueue()
    broker = MemoryBroker()
    broker.account_view = AccountView(
        equity=Decimal(100_000), last_equity=Decimal(100_000), buying_power=Decimal(50)
    )
    message = _recorded(store)

    outcome = assess_signal(message, risk_deps(store, queue, broker=broker))

    assert isinstance(outcome, Rejected)
    assert outcome.reason is RejectReason.CAPPED_TO_ZERO
    item = store.get(message.signal.signal_id)
    assert item is not None
    assert [(c.cap, c.qty_after) for c in item.risk_caps or []] == [("buying_power", 0)]
    assert queue.sent == []


def test_assess_when_market_closed_and_queueing_then_newer_entry_replaces_older() -> None:
    store, queue = MemorySignalStore(), MemoryQueue()
    broker = MemoryBroker()
    broker.clock_view = ClockView(is_open=False, next_open=NOW + timedelta(hours=18))
    deps = risk_deps(store, queue, broker=broker)
    older = _recorded(store, strategy="mean_reversion")  # outside_hours = "queue" for this strategy
    newer_signal = older.signal.model_copy(update={"signal_id": "n" * 32, "sizing_value": Decimal(90)})
    store.record_new(store.get(older.signal.signal_id).model_copy(update={"signal_id": "n" * 32}))  # type: ignore[union-attr]

    assess_signal(older, deps)
    assess_signal(SignalAccepted(signal=newer_signal, received_at=NOW), deps)

    assert queue.sent == []
    first, second = store.get(older.signal.signal_id), store.get("n" * 32)
    assert first is not None
    assert second is not None
    assert (first.status, first.reject_reason) == (SignalStatus.REJECTED, "MARKET_CLOSED")
    assert second.status is SignalStatus.QUEUED
    assert deps.queued.take_queued("paper") == [("AAPL", "n" * 32)]

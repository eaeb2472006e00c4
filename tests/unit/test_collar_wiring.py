"""The collar rules wired (issue 19 item 3): the risk stage turns a market alert into a marketable limit and
hands the executor its budget, tolerance and timeout; the executor prices it against the quote; the fill is
checked against the budget; ENTRY_NOT_FILLED is a terminal move of the lifecycle."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.unit.test_pipeline_use_cases import _recorded, risk_deps
from tests.unit.test_risk_engine import NOW, _ctx, _signal
from tradepipe.adapters.memory import (
    FixedClock,
    MemoryBroker,
    MemoryBrokers,
    MemoryOrderStore,
    MemoryQueue,
    MemorySignalStore,
)
from tradepipe.adapters.memory_risk import MemoryEventPublisher, MemoryQuotes
from tradepipe.app.assess import assess_signal
from tradepipe.app.collar_entry import price_entry
from tradepipe.app.entry_timeout import settle_timed_out
from tradepipe.app.execute import ExecutorDeps, execute_intent
from tradepipe.app.fill_events import entry_filled
from tradepipe.app.notices import AnnouncedRejections
from tradepipe.contracts.events import parse_event
from tradepipe.contracts.items import OrderItem, SignalItem, StatusEntry
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.lifecycle import allowed_from
from tradepipe.domain.model import (
    TERMINAL_STATUSES,
    Mode,
    OrderType,
    Rejected,
    RejectReason,
    Side,
    SignalStatus,
    SizingMode,
)
from tradepipe.domain.risk.engine import Approved, assess
from tradepipe.domain.risk.profile import RiskProfile
from tradepipe.notify.channels import parse_channel
from tradepipe.notify.render import render
from tradepipe.ports.broker import BrokerOrder, BrokerUnavailable
from tradepipe.ports.quotes import QuoteView

D = Decimal
AT = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


def _approved(profile: RiskProfile | None = None, atr: str | None = "4", **over: Any) -> Approved:
    ctx = _ctx(atr=None if atr is None else D(atr))
    decision = assess(_signal(**over), ctx, profile or RiskProfile(), NOW).decision
    assert isinstance(decision, Approved)
    return decision


# --- the risk stage ------------------------------------------------------------------------------------


def test_market_alert_becomes_a_limit_at_the_price_plus_a_twentieth_of_atr_sized_at_the_alert_price() -> None:
    decision = _approved()  # entry 100, stop 98, target 104, risk 100, ATR 4

    assert decision.collared
    assert decision.limit_price == D("100.20")  # 100 + 0.05 x 4
    assert (decision.qty, decision.risk) == (D(50), D(100))  # sized at the alert's price, as before


def test_without_atr_the_collar_is_ten_basis_points_and_a_sell_goes_down() -> None:
    decision = _approved(atr=None, side=Side.SELL, stop="102", target="96")

    assert decision.limit_price == D("99.90")


def test_a_target_inside_the_collar_narrows_it_to_one_tick_short_of_the_target() -> None:
    # 100 + 0.05 x 40 = 102 would leave the 100.50 target below the limit: Alpaca refuses such a bracket.
    decision = _approved(atr="40", stop="80", target="100.50")

    assert decision.limit_price == D("100.49")


def test_a_fixed_quantity_carries_no_budget_it_is_never_shrunk_for_the_quote() -> None:
    decision = _approved(sizing_mode=SizingMode.FIXED_QUANTITY, sizing_value=D(7))

    assert decision.collared
    assert (decision.qty, decision.risk_budget) == (D(7), None)


def test_market_entry_order_in_the_profile_keeps_market_entries() -> None:
    decision = _approved(RiskProfile(entry_order="market"))

    assert (decision.collared, decision.limit_price) == (False, None)


def test_sized_intent_carries_the_limit_the_budget_the_tolerance_and_the_timeout() -> None:
    store, queue = MemorySignalStore(), MemoryQueue()

    intent = assess_signal(_recorded(store), risk_deps(store, queue))

    assert isinstance(intent, OrderIntent)
    assert intent.order_type is OrderType.LIMIT
    assert intent.limit_price is not None
    assert intent.limit_price > (intent.reference_price or 0)
    assert (intent.risk_tolerance_pct, intent.entry_timeout_s) == (D(10), 30)
    assert intent.risk_budget == D("100.00")  # the alert's risk dollars, not the floored shares' risk


# --- the executor's pricing against the quote ---------------------------------------------------------


def _intent(**over: Any) -> OrderIntent:
    fields: dict[str, Any] = {
        "intent_id": "i:open",
        "client_order_id": "tp-i-open",
        "close_client_order_id": "tp-i-close",
        "signal_id": "i" * 32,
        "mode": Mode.PAPER,
        "strategy": "s",
        "symbol": "IBM",
        "kind": "open",
        "side": Side.BUY,
        "qty": D(10),
        "order_type": OrderType.LIMIT,
        "limit_price": D("200.20"),
        "reference_price": D(200),
        "stop_loss": D(190),
        "take_profit": D(210),
        "sized_at": AT,
        "risk_budget": D(100),
        "risk_tolerance_pct": D(10),
        "entry_timeout_s": 30,
    }
    return OrderIntent(**(fields | over))


def _quotes(bid: str, ask: str) -> MemoryQuotes:
    return MemoryQuotes({"IBM": QuoteView(D(bid), D(ask), AT)})


def test_quote_unmoved_sends_the_entry_as_sized() -> None:
    intent = _intent()

    assert price_entry(intent, _quotes("199.99", "200.00")) is intent


def test_ask_moved_up_resizes_within_the_budget_at_the_quote() -> None:
    priced = price_entry(_intent(), _quotes("200.08", "200.10"))

    assert isinstance(priced, OrderIntent)
    assert priced.qty == D(9)  # 100 / 10.10 = 9.9


def test_ask_past_the_limit_is_refused_quote_beyond_collar() -> None:
    refused = price_entry(_intent(), _quotes("200.25", "200.30"))

    assert isinstance(refused, Rejected)
    assert refused.reason is RejectReason.QUOTE_BEYOND_COLLAR


def test_a_sell_is_priced_at_the_bid() -> None:
    sell = _intent(side=Side.SELL, limit_price=D("199.80"), stop_loss=D(210), take_profit=D(190))

    refused = price_entry(sell, _quotes("199.70", "199.75"))

    assert isinstance(refused, Rejected)
    assert "bid 199.70" in refused.detail


def test_no_quote_sizes_against_the_limit_the_worst_price_it_can_fill_at() -> None:
    priced = price_entry(_intent(), MemoryQuotes())

    assert isinstance(priced, OrderIntent)
    assert priced.qty == D(9)  # 100 / 10.20 = 9.8


def test_an_entry_the_alert_priced_itself_is_not_repriced() -> None:
    intent = _intent(entry_timeout_s=None, risk_budget=None)

    assert price_entry(intent, _quotes("205", "206")) is intent


# --- the fill against the budget -------------------------------------------------------------------------


def _item(**over: Any) -> OrderItem:
    fields: dict[str, Any] = {
        "client_order_id": "tp-i-open",
        "intent_id": "i:open",
        "signal_id": "i" * 32,
        "mode": Mode.PAPER,
        "strategy": "s",
        "symbol": "IBM",
        "side": Side.BUY,
        "qty": D(10),
        "order_class": "bracket",
        "order_type": "limit",
        "limit_price": D("200.20"),
        "stop_loss": D(190),
        "status": "filled",
        "created_at": AT,
        "updated_at": AT,
        "risk_budget": D(100),
        "risk_tolerance_pct": D(10),
    }
    return OrderItem(**(fields | over))


def _filled(price: str, qty: str = "10") -> BrokerOrder:
    return BrokerOrder("b1", "tp-i-open", "filled", D(10), D(qty), D(price), AT, AT, "IBM", "buy", "limit")


@pytest.mark.parametrize(
    ("price", "over"),
    [
        pytest.param("200.20", False, id="at-the-limit-within-tolerance"),
        pytest.param("201.10", True, id="beyond-budget-x-1.1"),
    ],
)
def test_entry_filled_announces_the_risk_at_the_fill_and_a_breach(price: str, over: bool) -> None:
    event = entry_filled(_item(), _filled(price), AT)

    assert event is not None
    assert event.over_budget is over
    assert event.realized_risk == (D(price) - 190) * 10
    (message,) = render([event], parse_channel("sns://arn:aws:sns:us-east-1:123456789012:notify"))
    assert ("over its budget" in message.text) is over


# --- the lifecycle ---------------------------------------------------------------------------------------


def test_entry_not_filled_is_terminal_and_reached_from_submitted_or_sized_only() -> None:
    assert SignalStatus.ENTRY_NOT_FILLED in TERMINAL_STATUSES
    assert allowed_from(SignalStatus.ENTRY_NOT_FILLED) == {SignalStatus.SUBMITTED, SignalStatus.SIZED}
    assert SignalStatus.ENTRY_NOT_FILLED not in allowed_from(SignalStatus.FILLED)


def test_profile_defaults_are_the_stated_ones() -> None:
    profile = RiskProfile()

    assert (profile.entry_order, profile.collar_atr_fraction, profile.collar_bps) == (
        "marketable_limit",
        D("0.05"),
        D(10),
    )
    assert (profile.entry_timeout_s, profile.risk_tolerance_pct) == (30, D(10))


# --- a retried entry re-priced --------------------------------------------------------------------------


class _DownOnce(MemoryBroker):
    """The first submit never reaches the broker (a dropped connection): the message is retried."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        if self.down:
            self.down = False
            raise BrokerUnavailable("connection reset")
        return super().submit(intent)


def test_a_retried_entry_is_priced_against_the_new_quote_and_its_record_follows() -> None:
    broker, orders, signals = _DownOnce(), MemoryOrderStore(), MemorySignalStore()
    intent = _intent()
    signals.record_new(
        SignalItem(
            signal_id=intent.signal_id,
            status=SignalStatus.SIZED,
            received_at=AT,
            updated_at=AT,
            expires_at=0,
            history=[StatusEntry(status=SignalStatus.SIZED, at=AT)],
            ticker="IBM",
        )
    )
    quotes = _quotes("199.99", "200.00")
    deps = ExecutorDeps(
        signals, orders, MemoryBrokers(paper=broker), FixedClock(AT), quotes=quotes, place_attempts=1
    )

    with pytest.raises(BrokerUnavailable):
        execute_intent(intent, deps)
    recorded = orders.get(intent.client_order_id)
    assert recorded is not None
    assert recorded.qty == D(10)
    quotes.quotes["IBM"] = QuoteView(D("200.08"), D("200.10"), AT)  # the market moved before the retry
    execute_intent(intent, deps)

    recorded = orders.get(intent.client_order_id)
    assert recorded is not None
    assert (recorded.qty, broker.orders[intent.client_order_id].qty) == (D(9), D(9))


def test_entry_not_filled_is_recorded_with_its_reason_and_announced_to_the_trader() -> None:
    signals, events = MemorySignalStore(), MemoryEventPublisher()
    store = AnnouncedRejections(signals, events)
    signals.record_new(
        SignalItem(
            signal_id="i" * 32,
            status=SignalStatus.SUBMITTED,
            received_at=AT,
            updated_at=AT,
            expires_at=0,
            history=[StatusEntry(status=SignalStatus.SUBMITTED, at=AT)],
            ticker="IBM",
        )
    )
    recorded = _item(status="new", cancel_after=AT)
    canceled = BrokerOrder("b1", "tp-i-open", "canceled", D(10), D(0), None, AT, None, "IBM", "buy", "limit")

    update = settle_timed_out(recorded, canceled, AT + timedelta(seconds=5))
    assert update is not None
    assert store.advance("i" * 32, update)

    item = signals.get("i" * 32)
    assert item is not None
    assert (item.status, item.reject_reason) == (SignalStatus.ENTRY_NOT_FILLED, "ENTRY_NOT_FILLED")
    (notice,) = events.of_type("SignalRejected")
    assert notice["reason"] == "ENTRY_NOT_FILLED"
    event = parse_event("SignalRejected", notice)
    (message,) = render([event], parse_channel("sns://arn:aws:sns:us-east-1:123456789012:notify"))
    assert "IBM entry not filled" in message.text
    # Filled in part, or cancelled before its deadline: not ours to call ENTRY_NOT_FILLED.
    assert settle_timed_out(recorded, replace(canceled, filled_qty=D(4)), AT) is None
    assert (
        settle_timed_out(_item(status="new", cancel_after=AT + timedelta(seconds=30)), canceled, AT) is None
    )

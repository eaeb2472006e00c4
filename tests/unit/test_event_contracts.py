"""Event contracts: every sample keeps parsing, the three older events parse as their publishers write
them, and an occurrence keeps its key when only its delivery differs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.unit.test_pipeline_use_cases import _recorded, risk_deps
from tradepipe.adapters.events import event_detail
from tradepipe.adapters.memory import FixedClock, MemoryQueue, MemorySignalStore
from tradepipe.adapters.memory_risk import MemoryEventPublisher, MemoryRiskStateStore
from tradepipe.app.assess import assess_signal
from tradepipe.app.trading_state import StateDeps, switch_trading_state
from tradepipe.contracts.api import TradingStateRequest
from tradepipe.contracts.events import (
    EVENT_TYPES,
    PipelineSilent,
    PositionDivergence,
    SignalRejected,
    TradingStateChanged,
    UnknownEventType,
    parse_bus_event,
    parse_event,
)
from tradepipe.domain.model import Mode
from tradepipe.domain.risk.context import TradingState

SAMPLES = Path(__file__).parents[1] / "data" / "contracts" / "events"


def test_every_event_type_has_a_sample() -> None:
    assert {p.name.split(".")[0] for p in SAMPLES.glob("*.json")} == set(EVENT_TYPES)


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_sample_parses_and_round_trips(path: Path) -> None:
    detail_type = path.name.split(".")[0]

    event = parse_event(detail_type, path.read_text())

    assert parse_event(detail_type, event.as_detail()) == event
    assert event.at.tzinfo is not None


def test_trading_state_changed_as_the_kill_switch_publishes_it_parses() -> None:
    events = MemoryEventPublisher()
    deps = StateDeps(MemoryRiskStateStore(), events, FixedClock())

    request = TradingStateRequest(state=TradingState.HALTED, reason="broker outage")
    switch_trading_state(Mode.PAPER, request, "ops", deps)

    published = events.events[0]
    event = parse_event(published.detail_type, event_detail(published.detail))
    assert isinstance(event, TradingStateChanged)
    assert (event.account, event.state, event.rule) == (Mode.PAPER, TradingState.HALTED, "manual")
    assert event.subject().mode is Mode.PAPER


def test_risk_stage_events_as_published_parse() -> None:
    halted_store, capped_store = MemorySignalStore(), MemorySignalStore()
    halting, capping = risk_deps(halted_store, MemoryQueue()), risk_deps(capped_store, MemoryQueue())
    halting.trading_state.raise_high_water_mark("paper", Decimal(125_000))  # a 20% drawdown: HALTED by rule
    assess_signal(_recorded(halted_store), halting)
    assess_signal(_recorded(capped_store, risk="10000"), capping)  # a cap bites
    published = [*halting.events.events, *capping.events.events]  # type: ignore[attr-defined]

    parsed = [parse_event(p.detail_type, event_detail(p.detail)) for p in published]

    assert {e.detail_type for e in parsed} == {"TradingStateChanged", "RiskCapApplied"}


def test_divergence_without_at_takes_the_report_time_and_keeps_its_key_when_at_is_added() -> None:
    old = json.loads((SAMPLES / "PositionDivergence.v1.json").read_text())

    event = parse_event("PositionDivergence", old)
    later = parse_event("PositionDivergence", {**old, "at": "2024-01-02T15:30:00+00:00"})

    assert isinstance(event, PositionDivergence)
    assert event.at == event.reported_at
    assert later.event_key() == event.event_key()


def test_silence_key_names_the_stretch_not_the_minute() -> None:
    first = PipelineSilent(
        at=datetime(2024, 1, 3, 15, 30, tzinfo=UTC),
        last_alert_at=datetime(2024, 1, 2, 20, 45, tzinfo=UTC),
        threshold_minutes=60,
        silent_minutes=75,
    )
    later = first.model_copy(update={"at": datetime(2024, 1, 3, 16, tzinfo=UTC), "silent_minutes": 105})

    assert later.event_key() == first.event_key()


def test_silence_with_no_alert_in_view_when_published_then_parses_back() -> None:
    # A detail leaves None out (as_detail): a field that may be None must be optional, or the notifier
    # refuses what the silence check publishes.
    silent = PipelineSilent(
        at=datetime(2024, 1, 3, 15, 30, tzinfo=UTC),
        last_alert_at=None,
        threshold_minutes=60,
        silent_minutes=90,
    )

    parsed = parse_event(silent.detail_type, silent.as_detail())

    assert parsed == silent


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"surprise": 1}, "surprise", id="unknown-field"),
        pytest.param({"at": "2024-01-02T15:00:00"}, "at", id="naive-time"),
        pytest.param({"state": "PAUSED"}, "state", id="unknown-state"),
    ],
)
def test_trading_state_changed_when_malformed_then_rejected(change: dict[str, object], field: str) -> None:
    detail = {**json.loads((SAMPLES / "TradingStateChanged.v1.json").read_text()), **change}

    with pytest.raises(ValidationError) as error:
        parse_event("TradingStateChanged", detail)

    assert field in str(error.value)


def test_bus_envelope_unwraps_and_unknown_type_is_named() -> None:
    detail = json.loads((SAMPLES / "SignalRejected.v1.json").read_text())
    envelope = {
        "version": "0",
        "id": "x",
        "detail-type": "SignalRejected",
        "source": "tradepipe",
        "detail": detail,
    }

    assert parse_bus_event(envelope).detail_type == "SignalRejected"
    with pytest.raises(UnknownEventType):
        parse_bus_event({**envelope, "detail-type": "OrderShipped"})


def test_unprotected_key_repeats_within_a_stretch_and_changes_with_the_next() -> None:
    first = parse_event("PositionUnprotected", (SAMPLES / "PositionUnprotected.v1.json").read_text())
    rerun = first.model_copy(update={"at": datetime(2024, 1, 2, 15, 2, tzinfo=UTC)})
    next_stretch = first.model_copy(update={"since": datetime(2024, 1, 2, 18, 0, tzinfo=UTC)})

    assert rerun.event_key() == first.event_key()
    assert next_stretch.event_key() != first.event_key()


def test_a_copy_with_other_values_gets_its_own_key() -> None:
    event = parse_event("SignalRejected", (SAMPLES / "SignalRejected.v1.json").read_text())
    key = event.event_key()

    other = event.model_copy(update={"signal_id": "f" * 32})

    assert other.event_key() != key
    assert event.model_copy().event_key() == key


def test_a_long_detail_is_clipped_not_refused() -> None:
    detail = json.loads((SAMPLES / "SignalRejected.v1.json").read_text())

    event = parse_event("SignalRejected", {**detail, "detail": "x" * 5000})

    assert isinstance(event, SignalRejected)
    assert len(event.detail) == 2000

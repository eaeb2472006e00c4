"""What the pipeline announces for the notifier: rejections through the stores of the stages that reject
(whichever stage, whichever path), duplicates at intake, a silent pipeline once per stretch; and a bus that
refuses a notice never fails the trading step."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.unit.builders import PASSPHRASE, alert_body
from tradepipe.adapters.memory import FixedClock, MemoryQueue, MemorySignalStore, StaticPassphrases
from tradepipe.adapters.memory_risk import MemoryCalendar, MemoryEventPublisher, MemoryRiskStateStore
from tradepipe.app.intake import AlertRequest, Duplicate, IntakeDeps, Invalid, accept_alert
from tradepipe.app.notices import AnnouncedRejections
from tradepipe.app.silence import SilenceDeps, watch_silence
from tradepipe.contracts.events import PipelineSilent, SignalDuplicate, SignalRejected, parse_event
from tradepipe.contracts.items import SignalItem, StatusUpdate
from tradepipe.domain.model import Mode, RejectReason, SignalStatus
from tradepipe.domain.silence import MarketSession
from tradepipe.ports.broker import BrokerUnavailable
from tradepipe.ports.stores import DaySlice, FeedKey, SignalFilter

ALERT_TIME = datetime(2024, 1, 1, 12, tzinfo=UTC)


class RefusingBus:
    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        raise RuntimeError("EventBridge throttled")


def _events(bus: MemoryEventPublisher, detail_type: str) -> list[Any]:
    return [parse_event(detail_type, d) for d in bus.of_type(detail_type)]


def _intake(store: AnnouncedRejections | MemorySignalStore, bus: Any, clock: FixedClock) -> IntakeDeps:
    return IntakeDeps(
        secrets=StaticPassphrases(default=PASSPHRASE),
        store=store,
        queue=MemoryQueue(),
        clock=clock,
        dedupe_ttl_s=3600,
        events=bus,
    )


def _send(deps: IntakeDeps, body: object) -> object:
    return accept_alert(AlertRequest(json.dumps(body).encode(), source_ip="52.89.214.238"), deps)


# --- rejections and duplicates ------------------------------------------------------------------------


def test_stale_alert_at_intake_then_announced_with_its_ticker_strategy_and_reason() -> None:
    bus = MemoryEventPublisher()
    clock = FixedClock(ALERT_TIME + timedelta(minutes=5))
    deps = _intake(AnnouncedRejections(MemorySignalStore(), bus), bus, clock)

    result = _send(deps, alert_body())

    assert isinstance(result, Invalid)
    (event,) = _events(bus, "SignalRejected")
    assert isinstance(event, SignalRejected)
    assert (event.signal_id, event.mode, event.reason) == (
        result.signal_id,
        Mode.PAPER,
        RejectReason.STALE_ALERT,
    )
    assert event.ticker == alert_body()["ticker"]
    assert event.strategy == alert_body()["strategy"]


def test_invalid_alert_then_announced_and_the_same_bad_alert_again_is_not() -> None:
    bus = MemoryEventPublisher()
    deps = _intake(AnnouncedRejections(MemorySignalStore(), bus), bus, FixedClock(ALERT_TIME))
    bad = {**alert_body(), "stopLoss": "not a price"}

    first, again = _send(deps, bad), _send(deps, bad)

    assert isinstance(first, Invalid)
    assert isinstance(again, Invalid)
    assert [e.reason for e in _events(bus, "SignalRejected")] == [RejectReason.INVALID_ALERT]


def test_duplicate_at_intake_then_announced_as_duplicate_not_rejection() -> None:
    bus = MemoryEventPublisher()
    deps = _intake(AnnouncedRejections(MemorySignalStore(), bus), bus, FixedClock(ALERT_TIME))

    _send(deps, alert_body())
    second = _send(deps, alert_body())

    assert isinstance(second, Duplicate)
    (event,) = _events(bus, "SignalDuplicate")
    assert isinstance(event, SignalDuplicate)
    assert event.signal_id == second.signal_id
    assert _events(bus, "SignalRejected") == []


def test_a_later_stage_rejects_then_announced_once_and_a_redelivery_announces_nothing() -> None:
    bus = MemoryEventPublisher()
    store = AnnouncedRejections(MemorySignalStore(), bus)
    deps = _intake(store, bus, FixedClock(ALERT_TIME))
    accepted = _send(deps, alert_body())
    signal_id = accepted.signal_id  # type: ignore[attr-defined]
    rejection = StatusUpdate.rejected(
        ALERT_TIME, RejectReason.BROKER_REJECTED.value, "insufficient buying power"
    )

    moved = store.advance(signal_id, rejection)
    again = store.advance(signal_id, rejection)  # the executor's message delivered twice

    assert (moved, again) == (True, False)
    (event,) = _events(bus, "SignalRejected")
    assert (event.reason, event.detail) == (RejectReason.BROKER_REJECTED, "insufficient buying power")
    assert event.ticker == alert_body()["ticker"]


class CountedReads(MemorySignalStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def get(self, signal_id: str) -> SignalItem | None:
        self.reads.append(signal_id)
        return super().get(signal_id)


def test_a_stage_that_read_the_signal_it_rejects_is_announced_without_reading_it_again() -> None:
    bus = MemoryEventPublisher()
    inner = CountedReads()
    store = AnnouncedRejections(inner, bus)
    deps = _intake(store, bus, FixedClock(ALERT_TIME))
    first = _send(deps, alert_body()).signal_id  # type: ignore[attr-defined]
    second = _send(deps, alert_body(ticker="MSFT")).signal_id  # type: ignore[attr-defined]
    rejection = StatusUpdate.rejected(ALERT_TIME, RejectReason.ORDER_RATE_LIMIT.value, "200 orders a minute")

    assert store.get(first) is not None  # what the risk stage does first
    inner.reads.clear()
    assert store.advance(first, rejection)
    assert inner.reads == []
    assert store.advance(second, rejection)  # another signal than the one read: read for its notice
    assert inner.reads == [second]
    assert [(e.signal_id, e.ticker) for e in _events(bus, "SignalRejected")] == [
        (first, alert_body()["ticker"]),
        (second, "MSFT"),
    ]


def test_a_move_to_another_status_announces_nothing() -> None:
    bus = MemoryEventPublisher()
    store = AnnouncedRejections(MemorySignalStore(), bus)
    accepted = _send(_intake(store, bus, FixedClock(ALERT_TIME)), alert_body())

    store.advance(accepted.signal_id, StatusUpdate.to(SignalStatus.SIZED, ALERT_TIME))  # type: ignore[attr-defined]

    assert _events(bus, "SignalRejected") == []


def test_bus_refuses_the_notice_then_the_rejection_still_stands() -> None:
    inner = MemorySignalStore()
    deps = _intake(
        AnnouncedRejections(inner, RefusingBus()),
        RefusingBus(),
        FixedClock(ALERT_TIME + timedelta(minutes=5)),
    )

    result = _send(deps, alert_body())

    assert isinstance(result, Invalid)
    item = inner.get(result.signal_id)
    assert item is not None
    assert item.status is SignalStatus.REJECTED


# --- the silent pipeline ------------------------------------------------------------------------------

NOW = datetime(2024, 1, 5, 18, 0, tzinfo=UTC)  # Friday 13:00 New York
# Monday to Friday 9:30-16:00 New York (14:30-21:00 UTC).
WEEK = [
    MarketSession(datetime(2024, 1, d, 14, 30, tzinfo=UTC), datetime(2024, 1, d, 21, 0, tzinfo=UTC))
    for d in (1, 2, 3, 4, 5)
]


@dataclass
class FakeFeed:
    """Signals by day of receipt (the SignalFeed port), newest first."""

    received: list[datetime] = field(default_factory=list)

    def newest_first(
        self,
        day: str,
        where: SignalFilter,
        *,
        since: datetime | None,
        after: FeedKey | None,
        limit: int,
        max_reads: int,
    ) -> DaySlice:
        items = [
            _item(at)
            for at in sorted(self.received, reverse=True)
            if at.date().isoformat() == day and (since is None or at >= since)
        ]
        return DaySlice(items[:limit], None, 1)


def _item(at: datetime) -> SignalItem:
    return SignalItem.model_validate(
        {
            "signal_id": f"{int(at.timestamp()):032x}",
            "status": "REJECTED",
            "received_at": at,
            "received_day": at.date().isoformat(),
            "updated_at": at,
            "expires_at": int(at.timestamp()) + 3600,
        }
    )


class DownCalendar:
    def sessions(self, start: date, end: date) -> list[MarketSession]:
        raise BrokerUnavailable("calendar: 429")


def _silence(
    feed: FakeFeed, clock: FixedClock, bus: Any, ledger: MemoryRiskStateStore, **kw: Any
) -> SilenceDeps:
    calendar = kw.pop("calendar", MemoryCalendar(WEEK))
    return SilenceDeps(feed, calendar, ledger, bus, clock, kw.pop("threshold_minutes", 60))


def test_no_alert_for_an_hour_of_market_then_announced_once_per_stretch() -> None:
    bus, ledger, clock = MemoryEventPublisher(), MemoryRiskStateStore(), FixedClock(NOW)
    feed = FakeFeed([datetime(2024, 1, 5, 16, 0, tzinfo=UTC)])  # 11:00 New York: two market hours ago
    deps = _silence(feed, clock, bus, ledger)

    first = watch_silence(deps)
    clock.advance(minutes=1)
    next_minute = watch_silence(deps)

    assert isinstance(first, PipelineSilent)
    assert first.silent_minutes == 120
    assert first.last_alert_at == feed.received[0]
    assert next_minute is None
    assert len(bus.of_type("PipelineSilent")) == 1


def test_a_new_alert_then_a_new_stretch_is_announced_again_once_silent() -> None:
    bus, ledger, clock = MemoryEventPublisher(), MemoryRiskStateStore(), FixedClock(NOW)
    feed = FakeFeed([datetime(2024, 1, 5, 16, 0, tzinfo=UTC)])
    deps = _silence(feed, clock, bus, ledger)
    watch_silence(deps)

    feed.received.append(datetime(2024, 1, 5, 18, 30, tzinfo=UTC))
    clock.current = datetime(2024, 1, 5, 19, 0, tzinfo=UTC)
    quiet_for_30 = watch_silence(deps)
    clock.current = datetime(2024, 1, 5, 19, 30, tzinfo=UTC)
    quiet_for_60 = watch_silence(deps)

    assert quiet_for_30 is None
    assert isinstance(quiet_for_60, PipelineSilent)
    assert len(bus.of_type("PipelineSilent")) == 2


def test_silent_over_the_weekend_only_counts_market_minutes() -> None:
    bus, ledger = MemoryEventPublisher(), MemoryRiskStateStore()
    feed = FakeFeed([datetime(2024, 1, 5, 20, 30, tzinfo=UTC)])  # Friday, 30 minutes before the close
    monday_open = datetime(2024, 1, 8, 14, 45, tzinfo=UTC)
    sessions = [
        *WEEK,
        MarketSession(datetime(2024, 1, 8, 14, 30, tzinfo=UTC), datetime(2024, 1, 8, 21, tzinfo=UTC)),
    ]

    answer = watch_silence(
        _silence(feed, FixedClock(monday_open), bus, ledger, calendar=MemoryCalendar(sessions))
    )

    assert answer is None  # 30 + 15 market minutes, not a weekend's worth


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"calendar": DownCalendar()}, id="calendar-unavailable"),
        pytest.param({"calendar": None}, id="no-broker-keys"),
        pytest.param({"threshold_minutes": 0}, id="switched-off"),
    ],
)
def test_silence_not_judged_then_nothing_announced(change: dict[str, Any]) -> None:
    bus, ledger = MemoryEventPublisher(), MemoryRiskStateStore()

    answer = watch_silence(_silence(FakeFeed(), FixedClock(NOW), bus, ledger, **change))

    assert answer is None
    assert bus.events == []

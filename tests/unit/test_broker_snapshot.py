"""The risk stage's broker snapshot (adapters/broker_snapshot.py): the account, positions and clock are read
once per max age, a write through the wrapper drops them, everything else goes through every time."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.support.clocks import ManualClock
from tradepipe.adapters.broker_snapshot import SnapshotBroker, SnapshotBrokers
from tradepipe.adapters.memory import MemoryBroker, MemoryBrokers
from tradepipe.domain.model import Mode
from tradepipe.ports.broker import AccountView, AssetView, ClockView, HoldingView


class CountingBroker(MemoryBroker):
    """A MemoryBroker that counts its reads: what a request budget would be charged."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: Counter[str] = Counter()

    def account(self) -> AccountView:
        self.reads["account"] += 1
        return super().account()

    def holdings(self) -> dict[str, HoldingView]:
        self.reads["holdings"] += 1
        return super().holdings()

    def clock(self) -> ClockView:
        self.reads["clock"] += 1
        return super().clock()

    def asset(self, symbol: str) -> AssetView | None:
        self.reads["asset"] += 1
        return super().asset(symbol)


def test_snapshot_when_ten_signals_within_the_age_then_one_read_each_and_again_after_it() -> None:
    inner, ticks = CountingBroker(), ManualClock(100.0)
    broker = SnapshotBroker(inner, max_age_s=5.0, monotonic=ticks)

    for _ in range(10):
        broker.account(), broker.holdings(), broker.clock(), broker.asset("AAPL")
    ticks.at += 5.0
    broker.account()

    assert inner.reads == Counter(account=2, holdings=1, clock=1, asset=10)


def test_snapshot_when_an_order_goes_through_it_then_the_next_read_is_fresh() -> None:
    inner, ticks = CountingBroker(), ManualClock(100.0)
    broker = SnapshotBroker(inner, max_age_s=5.0, monotonic=ticks)
    assert broker.holdings() == {}

    inner.positions["AAPL"] = Decimal(10)  # what a fill changes at the broker
    broker.cancel_order("b-unknown")  # a write: whatever it did, the snapshot is stale

    assert broker.holdings()["AAPL"].qty == Decimal(10)
    assert inner.reads["holdings"] == 2


def test_snapshot_holdings_when_a_caller_changes_its_copy_then_the_snapshot_is_unchanged() -> None:
    inner = CountingBroker()
    inner.positions["AAPL"] = Decimal(10)
    broker = SnapshotBroker(inner, max_age_s=5.0, monotonic=ManualClock(100.0))

    broker.holdings().pop("AAPL")

    assert "AAPL" in broker.holdings()


def test_snapshot_brokers_when_asked_twice_then_one_wrapper_per_broker_and_none_stays_none() -> None:
    brokers = SnapshotBrokers(MemoryBrokers(CountingBroker()))

    first, second = brokers.for_mode(Mode.PAPER), brokers.for_mode(Mode.PAPER)

    assert first is second
    assert isinstance(first, SnapshotBroker)
    assert brokers.for_mode(Mode.LIVE) is None


def test_each_thread_is_told_when_the_figures_it_was_handed_were_read() -> None:
    # The runtime's two risk pollers share one snapshot: a fresher read by the other since is not what this
    # one's caps are computed on, and the reservations released in between must still count for it.
    ticks, walls = ManualClock(100.0), [datetime(2024, 1, 2, 15, 0, tzinfo=UTC)]
    broker = SnapshotBroker(CountingBroker(), max_age_s=5.0, monotonic=ticks, wall=lambda: walls[-1])
    first = walls[0]
    assert broker.figures_read_at() is None  # nothing handed yet
    broker.account(), broker.holdings()  # read at `first`

    ticks.at += 6.0  # expired: the other poller reads anew, ten seconds on
    walls.append(first + timedelta(seconds=10))
    other: list[datetime | None] = []
    poller = threading.Thread(
        target=lambda: (broker.account(), broker.holdings(), other.append(broker.figures_read_at()))
    )
    poller.start()
    poller.join()

    assert other == [walls[-1]]
    assert broker.figures_read_at() == first  # this thread still holds the figures read at `first`
    broker.holdings()  # handed the fresher positions, but its account is still the first read's
    assert broker.figures_read_at() == first


def test_figures_read_at_is_the_snapshots_through_the_patient_wrapper_and_none_without_one() -> None:
    # assess.gather_context asks `figures_read_at` of the broker it holds (a PatientBroker around the
    # snapshot): the reservations released since that read count against the caps; a broker that keeps no
    # snapshot reads on each call (None: every reservation counts).
    from tradepipe.app.patient_broker import Patience, PatientBroker
    from tradepipe.ports.broker import figures_read_at

    read_at = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
    snapshot = SnapshotBroker(
        CountingBroker(), max_age_s=5.0, monotonic=ManualClock(100.0), wall=lambda: read_at
    )
    snapshot.account()

    assert figures_read_at(PatientBroker(snapshot, Patience())) == read_at
    assert figures_read_at(snapshot) == read_at
    assert figures_read_at(PatientBroker(MemoryBroker(), Patience())) is None
    assert figures_read_at(MemoryBroker()) is None

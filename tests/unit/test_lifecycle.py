"""The one lifecycle table: which moves exist, and that stores refuse any other."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tradepipe.adapters.memory import MemorySignalStore
from tradepipe.contracts.items import SignalItem, StatusEntry, StatusUpdate
from tradepipe.domain.lifecycle import PRE_SIZING, TRANSITIONS, allowed_from
from tradepipe.domain.model import TERMINAL_STATUSES, SignalStatus

S = SignalStatus
NOW = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


def test_terminal_statuses_have_no_way_out() -> None:
    assert {source for source, _ in TRANSITIONS}.isdisjoint(TERMINAL_STATUSES)


def test_nothing_moves_back_to_received() -> None:
    assert allowed_from(S.RECEIVED) == frozenset()


@pytest.mark.parametrize(
    ("target", "sources"),
    [
        pytest.param(S.ENQUEUED, {S.RECEIVED}, id="enqueued-only-from-received"),
        pytest.param(S.SIZED, {S.RECEIVED, S.ENQUEUED, S.QUEUED}, id="sized-before-any-order"),
        pytest.param(S.SUBMITTED, {S.SIZED}, id="submitted-only-once-sized"),
        pytest.param(S.FILLED, {S.SIZED, S.SUBMITTED}, id="filled-also-from-sized-after-a-crash"),
        pytest.param(S.COMPLETED, {S.SIZED}, id="completed-never-after-an-order-was-placed"),
        pytest.param(
            S.REJECTED, {S.RECEIVED, S.ENQUEUED, S.QUEUED, S.SIZED, S.SUBMITTED}, id="rejected-until-decided"
        ),
    ],
)
def test_allowed_from_reads_the_table(target: SignalStatus, sources: set[SignalStatus]) -> None:
    assert allowed_from(target) == frozenset(sources)


def test_pre_sizing_is_where_sizing_may_start() -> None:
    assert allowed_from(S.SIZED) == PRE_SIZING


def _store_with(status: SignalStatus) -> MemorySignalStore:
    store = MemorySignalStore()
    store.record_new(
        SignalItem(
            signal_id="x" * 32,
            status=status,
            received_at=NOW,
            updated_at=NOW,
            expires_at=0,
            history=[StatusEntry(status=status, at=NOW)],
        )
    )
    return store


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_memory_store_moves_exactly_along_the_table(current: SignalStatus, target: SignalStatus) -> None:
    store = _store_with(current)

    moved = store.advance("x" * 32, StatusUpdate.to(target, NOW))

    assert moved == ((current, target) in TRANSITIONS)
    item = store.get("x" * 32)
    assert item is not None
    assert item.status is (target if moved else current)


def test_rejected_update_sets_reason_on_trail_and_item() -> None:
    store = _store_with(S.SIZED)

    store.advance("x" * 32, StatusUpdate.rejected(NOW, "ORDER_INVALID", "qty must be above zero"))

    item = store.get("x" * 32)
    assert item is not None
    assert (item.reject_reason, item.reject_detail) == ("ORDER_INVALID", "qty must be above zero")
    assert item.history[-1].reason == "ORDER_INVALID"

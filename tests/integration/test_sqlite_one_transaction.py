"""On SQLite a signal's change and what the store writes through with it (the notice of a rejection) commit
as one: a process killed between them leaves neither, so the redelivered message rejects and announces."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.unit.builders import signal
from tradepipe.app.notices import AnnouncedRejections
from tradepipe.backends.sqlite import SqliteBackend
from tradepipe.contracts.items import SignalItem, StatusEntry, StatusUpdate
from tradepipe.domain.model import RejectReason, SignalStatus
from tradepipe.settings import Settings

AT = datetime(2024, 1, 1, 12, tzinfo=UTC)


class Killed(BaseException):
    """The process dies (not an error the notice path swallows)."""


class DiesAfterWriting:
    def __init__(self, outbox: Any) -> None:
        self._outbox = outbox

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        self._outbox.publish(detail_type, detail)
        raise Killed


def _received(signal_id: str) -> SignalItem:
    s = signal(signal_id=signal_id)
    return SignalItem(
        signal_id=s.signal_id,
        received_at=AT,
        updated_at=AT,
        expires_at=int((AT + timedelta(days=1)).timestamp()),
        status=SignalStatus.RECEIVED,
        history=[StatusEntry(status=SignalStatus.RECEIVED, at=AT)],
        source="json",
        credential="default",
        **s.model_dump(exclude={"signal_id"}),
    )


def _events(backend: SqliteBackend) -> int:
    return int(backend.db.connection().execute("SELECT count(*) FROM events").fetchone()[0])


def test_killed_between_a_rejection_and_its_notice_then_neither_is_kept(tmp_path: Path) -> None:
    backend = SqliteBackend(Settings.explicit(backend="sqlite", state_dir=str(tmp_path)))
    dying = AnnouncedRejections(backend.signal_store, DiesAfterWriting(backend.events))
    store = backend.in_one_transaction(dying)
    store.record_new(_received("a" * 32))
    before = _events(backend)

    with pytest.raises(Killed):
        store.advance("a" * 32, StatusUpdate.rejected(AT, RejectReason.ORDER_RATE_LIMIT.value, "cap"))

    assert backend.signal_store.get("a" * 32).status is SignalStatus.RECEIVED  # type: ignore[union-attr]
    assert _events(backend) == before


def test_a_rejection_and_its_notice_are_both_kept(tmp_path: Path) -> None:
    backend = SqliteBackend(Settings.explicit(backend="sqlite", state_dir=str(tmp_path)))
    store = backend.in_one_transaction(AnnouncedRejections(backend.signal_store, backend.events))
    store.record_new(_received("b" * 32))
    before = _events(backend)

    assert store.advance("b" * 32, StatusUpdate.rejected(AT, RejectReason.ORDER_RATE_LIMIT.value, "cap"))

    assert backend.signal_store.get("b" * 32).status is SignalStatus.REJECTED  # type: ignore[union-attr]
    assert _events(backend) == before + 1

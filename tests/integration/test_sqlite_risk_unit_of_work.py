"""The risk stage on SQLite writes its decision as one unit: the reservation, the SIZED record, the entry's
bar and the intent sent commit together (`RiskDeps.unit_of_work`, the backend's `unit_of_work`), so a failure
between them leaves nothing decided and the message's redelivery decides afresh."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.test_reservations_concurrent import NOW, _assess, _deps, _signal
from tradepipe.adapters.memory import MemoryQueue
from tradepipe.backends.sqlite import SqliteBackend
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Side, SignalStatus
from tradepipe.settings import Settings


class _SendFails:
    def send(self, intent: OrderIntent) -> None:
        raise OSError("disk full")


def test_a_failure_before_the_intent_is_sent_leaves_no_reservation_and_the_signal_unsized(
    tmp_path: Path,
) -> None:
    backend = SqliteBackend(Settings.explicit(backend="sqlite", state_dir=str(tmp_path)))
    deps = replace(
        _deps(backend.reservations, backend.signal_store, MemoryQueue()),  # type: ignore[arg-type]
        intents=_SendFails(),
        unit_of_work=backend.unit_of_work,
    )
    signal = _signal(0, ("IBM", Side.BUY, 10, Decimal(100)))

    with pytest.raises(OSError, match="disk full"):
        _assess(deps, signal)

    assert backend.reservations.book("paper").live(NOW).reservations == ()
    recorded = backend.signal_store.get(signal.signal_id)
    assert recorded is not None
    assert recorded.status is SignalStatus.ENQUEUED

    # The redelivery decides afresh and sends.
    sent = MemoryQueue()
    assert _assess(replace(deps, intents=sent), signal) is not None
    assert [r.reservation_id for r in backend.reservations.book("paper").live(NOW).reservations] == [
        signal.signal_id
    ]

"""The risk stage wakes no executor poller for an intent whose group is held by an older one (in flight at a
poller, which claims it next, or waiting out a retry's backoff): local/runtime/workers.py::heads_its_group."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tradepipe.backends.sqlite import SqliteBackend
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Mode, Side
from tradepipe.local.runtime.workers import heads_its_group
from tradepipe.settings import Settings


def _intent(signal_id: str, symbol: str) -> OrderIntent:
    return OrderIntent(
        intent_id=f"{signal_id}:open",
        client_order_id=f"tp-{signal_id}-open",
        close_client_order_id=f"tp-{signal_id}-close",
        kind="open",
        signal_id=signal_id,
        mode=Mode.PAPER,
        strategy="s",
        symbol=symbol,
        side=Side.BUY,
        qty=1,
        sized_at=datetime.now(UTC),
    )


def test_only_an_intent_at_the_head_of_its_group_wakes_an_executor(tmp_path: Path) -> None:
    backend = SqliteBackend(Settings.explicit(backend="sqlite", state_dir=str(tmp_path)))
    fifo, queue = backend.intent_fifo, backend.intent_queue
    first, behind, other = _intent("a", "MSFT"), _intent("b", "MSFT"), _intent("c", "IBM")

    queue.send(first)
    assert heads_its_group(fifo, first)
    queue.send(behind)
    assert heads_its_group(fifo, behind)  # MSFT's first waits unclaimed: a poller must come for both
    queue.send(other)
    assert heads_its_group(fifo, other)  # another ticker: a poller must come

    (held,) = fifo.receive(1)  # MSFT's first, in flight at a poller
    assert not heads_its_group(fifo, behind)
    fifo.retry_after(held, 30)  # failed, waiting out its backoff: the pollers' idle wait covers it
    assert not heads_its_group(fifo, behind)
    fifo.retry_after(held, 0)  # there to be claimed, and nobody rang for it (a close released at the open)
    assert heads_its_group(fifo, behind)
    (held,) = fifo.receive(1)
    fifo.delete(held)
    assert heads_its_group(fifo, behind)  # its group's head now

"""The risk stage wakes no executor poller for an intent whose group is held by an older one (in flight at a
poller, which claims it next, or waiting out a retry's backoff): workers.py::needs_an_executor."""

from __future__ import annotations

from pathlib import Path

from tests.support.intents import open_intent
from tradepipe.backends.sqlite import SqliteBackend
from tradepipe.local.runtime.workers import needs_an_executor
from tradepipe.settings import Settings


def test_an_intent_behind_one_in_flight_on_its_ticker_wakes_no_executor(tmp_path: Path) -> None:
    backend = SqliteBackend(Settings.explicit(backend="sqlite", state_dir=str(tmp_path)))
    fifo, queue = backend.intent_fifo, backend.intent_queue
    first, behind, other = open_intent("a", "MSFT"), open_intent("b", "MSFT"), open_intent("c", "IBM")

    queue.send(first)
    assert needs_an_executor(fifo, first)
    queue.send(behind)
    assert needs_an_executor(fifo, behind)  # MSFT's first waits unclaimed: a poller must come for both
    queue.send(other)
    assert needs_an_executor(fifo, other)  # another ticker: a poller must come

    (held,) = fifo.receive(1)  # MSFT's first, in flight at a poller
    assert not needs_an_executor(fifo, behind)
    fifo.retry_after(held, 30)  # failed, waiting out its backoff: the pollers' idle wait covers it
    assert not needs_an_executor(fifo, behind)
    fifo.retry_after(held, 0)  # there to be claimed, and nobody rang for it (a close released at the open)
    assert needs_an_executor(fifo, behind)
    (held,) = fifo.receive(1)
    fifo.delete(held)
    assert needs_an_executor(fifo, behind)  # its group's head now

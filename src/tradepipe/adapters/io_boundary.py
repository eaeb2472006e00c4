"""The points where a thread is about to wait on the world outside its process: an HTTP request (every client
of ours sends through `adapters/http.py::TimeoutSession`) or a sleep.

Whatever a thread holds that others queue for must be let go before such a wait: the single-machine
runtime's unit of work (`adapters/sqlite/database.py::Database.unit_of_work`) keeps one SQLite write
transaction open across a message's store calls and commits it here, so the database's writer lock is never
held across a broker call, a rate-limit wait or a fill wait (the intake, in another process, would queue
behind it). Hooks are per thread; with none registered (AWS, tests, every other thread) a boundary costs a
thread-local lookup."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_local = threading.local()


def reached() -> None:
    """The calling thread is about to wait outside the process: run its hooks (oldest first)."""
    hooks: list[Callable[[], None]] | None = getattr(_local, "hooks", None)
    if hooks:
        for hook in tuple(hooks):
            hook()


def sleep(seconds: float) -> None:
    """`time.sleep` that reaches a boundary first: what the composition root hands to the use cases."""
    reached()
    time.sleep(seconds)


@contextmanager
def hooked(hook: Callable[[], None]) -> Iterator[None]:
    """Run `hook` at every boundary the calling thread reaches inside the block."""
    hooks: list[Callable[[], None]] = _local.__dict__.setdefault("hooks", [])
    hooks.append(hook)
    try:
        yield
    finally:
        hooks.remove(hook)

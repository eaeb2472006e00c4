"""The executor's CPU after each order is submitted, for the CPU phase of `bench_runtime` (the issue's figure
is the CPU "from intake to the order submitted"; the executor goes on after the submit: the record of it,
the read after the fill wait, the reservation's release).

Loaded by every Python process the bench's runtime starts, because the CPU phase puts this directory on
PYTHONPATH (Python imports `sitecustomize` at start-up); it does something only where BENCH_SUBMIT_SPAN
names a file and `tradepipe.app.execute` is imported, that is in the workers. It wraps `execute_intent` and
the `place_entry` it calls, and adds up, on each executor thread's own CPU clock, what each intent spent
after `place_entry` returned. A thread of its own (in the workers only) writes the sums to the file every
0.5 s while they change, so the executor's threads never spend CPU on it. Production code is not touched:
nothing here ships."""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

_FILE = os.environ.get("BENCH_SUBMIT_SPAN")
TARGET = "tradepipe.app.execute"


def instrument(module: Any, totals: dict[str, float]) -> None:
    """Wrap the module's `execute_intent` and `place_entry`; `totals` gets "after_submit" (CPU seconds),
    "submitted" and "intents" (counts). Only an order placed counts as submitted: `place_entry` returning
    the module's `Invalid` (refused by an order rule, no broker call) or raising (refused by Alpaca, or a
    transient failure) leaves what follows on the before side."""
    local, lock = threading.local(), threading.Lock()
    execute, place, invalid = module.execute_intent, module.place_entry, module.Invalid

    def place_entry(*args: Any, **kwargs: Any) -> Any:
        placed = place(*args, **kwargs)
        if not isinstance(placed, invalid):
            local.submitted_at = time.thread_time()
        return placed

    def execute_intent(*args: Any, **kwargs: Any) -> Any:
        local.submitted_at = None
        try:
            return execute(*args, **kwargs)
        finally:
            submitted_at = local.submitted_at
            after = 0.0 if submitted_at is None else time.thread_time() - submitted_at
            with lock:  # two executor threads: `+=` on a shared dict is not atomic
                totals["after_submit"] += after
                totals["submitted"] += submitted_at is not None
                totals["intents"] += 1

    module.place_entry, module.execute_intent = place_entry, execute_intent


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, totals: dict[str, float]) -> None:
        self.totals = totals

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != TARGET:
            return None
        sys.meta_path.remove(self)  # once: the real spec, loaded by the real loader
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        loader, totals = spec.loader, self.totals
        load = loader.exec_module

        def exec_module(module: Any) -> None:
            load(module)
            instrument(module, totals)
            if _FILE:
                writer = threading.Thread(target=_write_every, args=(_FILE, totals), name="bench-span")
                writer.daemon = True
                writer.start()

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _write_every(path: str, totals: dict[str, float], every_s: float = 0.5) -> None:
    # Its own name where /proc shows it, so the bench never counts it among the executor's or risk's threads.
    with contextlib.suppress(OSError):
        Path(f"/proc/self/task/{threading.get_native_id()}/comm").write_text("bench-span")
    written = 0.0
    while True:
        time.sleep(every_s)
        if totals["intents"] != written:  # only what changed: its CPU is the workers' too
            written = totals["intents"]
            with open(path + ".tmp", "w") as out:
                json.dump(totals, out)
            os.replace(path + ".tmp", path)


if _FILE:
    sys.meta_path.insert(0, _Finder({"after_submit": 0.0, "submitted": 0, "intents": 0}))

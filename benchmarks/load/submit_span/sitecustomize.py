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

import importlib.abc
import importlib.util
import json
import os
import sys
import threading
import time
from typing import Any

_FILE = os.environ.get("BENCH_SUBMIT_SPAN")
TARGET = "tradepipe.app.execute"


def instrument(module: Any, totals: dict[str, float]) -> None:
    """Wrap the module's `execute_intent` and `place_entry`; `totals` gets "after_submit" (CPU seconds),
    "submitted" and "intents" (counts)."""
    local = threading.local()
    execute, place = module.execute_intent, module.place_entry

    def place_entry(*args: Any, **kwargs: Any) -> Any:
        try:
            return place(*args, **kwargs)
        finally:
            local.submitted_at = time.thread_time()

    def execute_intent(*args: Any, **kwargs: Any) -> Any:
        local.submitted_at = None
        try:
            return execute(*args, **kwargs)
        finally:
            if local.submitted_at is not None:
                totals["after_submit"] += time.thread_time() - local.submitted_at
                totals["submitted"] += 1
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

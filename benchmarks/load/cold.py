"""How much more the same work costs on this machine after an idle gap than back to back.

An alert at a trickle meets every stage of the runtime idle: each thread wakes after tens of milliseconds in
which other processes, and other tenants of the host, had the CPU and its caches. This times the intake's
own decision (authenticate, decode, parse, check, build the record: no I/O) on the thread's CPU clock, once
back to back and once after `idle_s` asleep before each run. It times one function in the bench's process,
so it divides nothing of the runtime's figures: it shows what the machine does to work that wakes idle.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence


def warm_and_cold(
    work: Callable[[int], object], idle_s: float = 0.02, runs: int = 100
) -> tuple[float, float]:
    """(median µs back to back, median µs after `idle_s` asleep) of `work(i)` on this thread's CPU clock;
    `work` is called with 0 .. 3 * runs - 1."""

    def timed(i: int) -> float:
        started = time.thread_time()
        work(i)
        return (time.thread_time() - started) * 1e6

    for i in range(runs):  # imports, first-use caches: neither figure should pay them
        work(i)
    warm = [timed(runs + i) for i in range(runs)]
    cold = []
    for i in range(runs):
        time.sleep(idle_s)
        cold.append(timed(2 * runs + i))
    return statistics.median(warm), statistics.median(cold)


def intake_decision(alerts: Sequence[dict[str, object]], passphrase: str) -> Callable[[int], object]:
    """The intake's decision on the i-th alert (`app.intake.decide_alert`: authenticate, decode, parse,
    check, build its record and message), its body encoded beforehand. Deciding touches no store, so the
    in-memory ones stand in for the inbox: nothing is written."""
    from tradepipe.adapters.clock import SystemClock
    from tradepipe.adapters.memory import MemoryQueue, MemorySignalStore, StaticPassphrases
    from tradepipe.app.intake import AlertRequest, IntakeDeps, decide_alert

    deps = IntakeDeps(
        secrets=StaticPassphrases(default=passphrase),
        store=MemorySignalStore(),
        queue=MemoryQueue(),
        clock=SystemClock(),
        dedupe_ttl_s=3600,
    )
    requests = [AlertRequest(json.dumps(alert).encode(), "127.0.0.1") for alert in alerts]

    def work(i: int) -> object:
        return decide_alert(requests[i], deps)

    return work

"""How much more the same work costs on this machine after an idle gap than back to back.

An alert at a trickle meets every stage of the runtime idle: each thread wakes after tens of milliseconds in
which other processes, and other tenants of the host, had the CPU and its caches. This measures that on the
intake's own decision (decode, parse, check: pure code, no I/O), timed on the thread's CPU clock, once back
to back and once after `idle_s` asleep before each run. The ratio says how much of a trickle's CPU per alert
is the machine's cold start of each stage rather than the work itself (`bench_runtime.cpu_phase`).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime


def cold_and_warm(
    work: Callable[[int], object], idle_s: float = 0.02, runs: int = 100
) -> tuple[float, float]:
    """(median µs back to back, median µs after `idle_s` asleep) of `work(i)` on this thread's CPU clock."""

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


def intake_decision(alert: Callable[[int], dict[str, object]]) -> Callable[[int], object]:
    """The intake's decision on the i-th alert: what it does before any write."""
    from tradepipe.domain.alerts.checks import check_alert
    from tradepipe.domain.alerts.decode import decode_body
    from tradepipe.domain.alerts.normalize import parse_alert
    from tradepipe.domain.alerts.secrets import split_secret

    def work(i: int) -> object:
        decoded, _ = decode_body(json.dumps(alert(i)).encode())
        _, body = split_secret(decoded)
        parsed = parse_alert(body, received_at=datetime.now(UTC))
        return parsed if isinstance(parsed, list) else check_alert(parsed)

    return work

"""Timing helpers: per-call latencies, percentiles, throughput."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[1] / "build" / "bench"


@dataclass(frozen=True)
class Timing:
    name: str
    samples_s: list[float]

    def percentile(self, p: float) -> float:
        ordered = sorted(self.samples_s)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def line(self) -> str:
        total = sum(self.samples_s)
        return (
            f"{self.name:<44} n={len(self.samples_s):>6}  p50={self.percentile(50) * 1e6:8.1f} us  "
            f"p99={self.percentile(99) * 1e6:8.1f} us  "
            f"mean={statistics.fmean(self.samples_s) * 1e6:8.1f} us  "
            f"throughput={len(self.samples_s) / total:10.0f}/s"
        )


def measure(name: str, call: Callable[[], object], n: int, warmup: int = 200) -> Timing:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return Timing(name, samples)


def write_json(name: str, payload: object) -> Path:
    """A benchmark's figures for tools and for comparing runs: build/bench/<name>.json (not tracked)."""
    path = BENCH_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    return path

"""Timing helpers: per-call latencies, percentiles, throughput."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
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


def commit_measured() -> str:
    """The commit measured (with `+dirty` when tracked files have changes), so two runs can be compared."""
    git = shutil.which("git")
    if git is None:
        return "unknown"

    def ask(*args: str) -> str:
        return subprocess.run(  # noqa: S603 - git, read-only
            [git, *args], cwd=BENCH_DIR.parents[1], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head, dirty = ask("rev-parse", "HEAD"), ask("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def write_json(name: str, payload: dict[str, object], bench_dir: Path = BENCH_DIR) -> Path:
    """A benchmark's figures for tools and for comparing runs: <bench_dir>/<name>.json (build/bench, not
    tracked), with the commit measured, and a copy kept under runs/<commit>/ (that commit's last run), so two
    commits benched in one clone can be compared (`make bench-compare`, benchmarks/compare.py)."""
    payload.setdefault("benchmark", name)
    commit = str(payload.setdefault("commit", commit_measured()))
    text = json.dumps(payload, indent=2, default=str) + "\n"
    path = bench_dir / f"{name}.json"
    kept = bench_dir / "runs" / commit / f"{name}.json"
    for target in (path, kept):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return path

"""`python -m benchmarks [NAME ...]`: run every benchmark (or the named ones: risk, synth, backtest,
cold_start, batches, runtime), print one line each; cold start also writes build/bench/cold-start.json, the
bar-close burst of batches build/bench/batches.json, the runtime build/bench/runtime.json."""

from __future__ import annotations

import logging
import sys

from benchmarks import (
    bench_backtest,
    bench_batches,
    bench_cold_start,
    bench_risk,
    bench_runtime,
    bench_synth,
)


def _risk() -> list[str]:
    return [timing.line() for timing in bench_risk.run()]


def _synth() -> list[str]:
    return [bench_synth.line(timing) for timing in bench_synth.run()]


def _cold_start() -> list[str]:
    return [result.line() for result in bench_cold_start.run()] + [
        "cold start figures: build/bench/cold-start.json"
    ]


BENCHMARKS = {
    "risk": _risk,
    "synth": _synth,
    "backtest": bench_backtest.run,
    "cold_start": _cold_start,
    "batches": bench_batches.lines,
    "runtime": bench_runtime.lines,
}


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        sys.stderr.write(f"unknown benchmark(s) {unknown}; choose from {sorted(BENCHMARKS)}\n")
        return 2
    # The backtest's risk decisions log each trading-state switch; a benchmark prints numbers only.
    logging.getLogger("tradepipe").setLevel(logging.ERROR)
    sys.stdout.write("tradepipe benchmarks (this machine; numbers vary with load)\n")
    for name in names:
        for line in BENCHMARKS[name]():
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m benchmarks`: run every benchmark, print one line each (p50 / p99 / throughput)."""

from __future__ import annotations

import logging
import sys

from benchmarks import bench_backtest, bench_risk, bench_synth


def main() -> int:
    # The backtest's risk decisions log each trading-state switch; a benchmark prints numbers only.
    logging.getLogger("tradepipe").setLevel(logging.ERROR)
    sys.stdout.write("tradepipe benchmarks (this machine; numbers vary with load)\n")
    for timing in bench_risk.run():
        sys.stdout.write(timing.line() + "\n")
    for timing in bench_synth.run():
        sys.stdout.write(bench_synth.line(timing) + "\n")
    for line in bench_backtest.run():
        sys.stdout.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

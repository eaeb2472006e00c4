"""Backtest speed (bars per second: 10 years of daily bars, 4 tickers, the shipped strategy through the
live parsing and risk code) and the time to compute trades and metrics from its fills and equity."""

from __future__ import annotations

import statistics
import time
from datetime import date

from benchmarks._timing import Timing, measure
from tradepipe.analytics.backtest.bars import bundled_bars
from tradepipe.analytics.backtest.runner import run_backtest
from tradepipe.analytics.backtest.strategy import SmaCross
from tradepipe.analytics.performance import analyze
from tradepipe.config import load_bundled_risk_config

TICKERS = ("AAPL", "GOOG", "IBM", "MSFT")
START, END = date(2003, 3, 1), date(2013, 3, 1)


def run(repeats: int = 5) -> list[str]:
    series = [bundled_bars(t, START, END) for t in TICKERS]
    config = load_bundled_risk_config()
    bars = sum(len(s) for s in series)
    seconds = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run_backtest(series, SmaCross(), config)
        seconds.append(time.perf_counter() - start)
    assert result is not None
    best, median = min(seconds), statistics.median(seconds)
    metrics: Timing = measure(
        f"metrics: {len(result.fills)} fills, {len(result.equity)} sessions",
        lambda: analyze(result.fills, result.signals, result.equity, result.equity[0].equity),
        n=20,
        warmup=2,
    )
    return [
        f"{'backtest: sma_cross, 4 tickers x 10 years':<44} bars={bars:>6}  alerts={len(result.alerts):>4}  "
        f"median={median * 1e3:7.1f} ms  best={best * 1e3:7.1f} ms  "
        f"throughput={bars / median:10.0f} bars/s",
        metrics.line(),
    ]

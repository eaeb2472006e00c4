"""The runtime benchmark's printed lines (no timing here)."""

from __future__ import annotations

from benchmarks.bench_runtime import Figure


def test_a_small_measured_figure_is_not_printed_as_zero() -> None:
    # The load generator's CPU per alert is a few hundredths of a millisecond.
    line = Figure("load generator (wrk) CPU per alert, ours", 0.0325, "ms", "", None).line()

    assert "0.033 ms" in line
    assert "0.0 ms" not in line


def test_figures_keep_one_decimal_with_their_verdict_and_target() -> None:
    line = Figure("CPU of our processes per alert, intake -> order", 12.34, "ms", "<= 5", False).line()

    assert line.split() == ["MISS", "CPU", "of", "our", "processes", "per", "alert,", "intake", "->", "order",
                            "12.3", "ms", "target", "<=", "5"]  # fmt: skip
    nothing = Figure("burst: answered 2xx", 0.0, "", "1000", False).line()
    assert nothing.split()[-3:] == ["0.0", "target", "1000"]

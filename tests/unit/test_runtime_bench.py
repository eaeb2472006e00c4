"""The runtime benchmark's printed lines (no timing here)."""

from __future__ import annotations

from benchmarks.bench_runtime import CpuRound, Figure, Report, WrkRun, judge_cpu, judge_intake


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


def _run(rate: float, p99_ms: float, errors: int = 0) -> WrkRun:
    return WrkRun(rate=rate, p99_ms=p99_ms, requests=int(rate * 10), errors=errors, cpu_s=0.3)


def test_the_intake_is_judged_on_each_sides_median_over_the_rounds() -> None:
    # The reference's second round met another job on the machine: one round does not decide.
    ours = [_run(1_900, 11.9), _run(1_750, 12.4), _run(1_600, 14.0)]
    ref = [_run(815, 13.7), _run(880, 52.8), _run(940, 16.5)]
    report = Report()

    judge_intake(ours, ref, report)

    figures = {f.name: f for f in report.figures}
    rate, p99 = (
        figures["intake, 10 senders: alerts/s (median of 3)"],
        figures["intake, 10 senders: p99 (median of 3)"],
    )
    assert (rate.value, rate.ok) == (1_750, True)
    assert (p99.value, p99.target, p99.ok) == (12.4, "<= 20 and <= reference 16.5", True)
    assert figures["reference, 10 senders: p99 (median of 3)"].value == 16.5
    assert "1,900/s p99 11.9 ms | 815/s p99 13.7 ms" in report.notes[0]


def test_a_median_above_the_references_misses_and_every_rounds_errors_count() -> None:
    ours = [_run(1_900, 14.0), _run(1_800, 13.0, errors=1), _run(1_700, 9.0)]
    ref = [_run(1_000, 12.0), _run(1_000, 12.5), _run(1_000, 20.0)]
    report = Report()

    judge_intake(ours, ref, report)

    figures = {f.name: f for f in report.figures}
    assert figures["intake, 10 senders: p99 (median of 3)"].ok is False  # 13.0 against 12.5
    assert figures["intake, 10 senders: non-2xx answers (all rounds)"].value == 1
    assert figures["intake, 10 senders: non-2xx answers (all rounds)"].ok is False


def _cpu(to_submit: float, everything: float, ordered: int = 190, measured: int | None = None) -> CpuRound:
    return CpuRound(
        to_submit=to_submit,
        after_submit=everything - to_submit - 0.7,
        everything=everything,
        ordered=ordered,
        measured=ordered if measured is None else measured,
        parts={"intake process": 1.6, "workers process": everything - 1.6},
        apart={"paper broker": 6.2, "osmem": 3.2, "sender": 4.4},
    )


def test_the_cpu_figure_is_each_rounds_median_and_every_round_must_reach_the_broker() -> None:
    # One round met another job on the machine: it neither decides the verdict nor hides in the median.
    report = Report()

    judge_cpu([_cpu(4.8, 9.6), _cpu(7.9, 13.2), _cpu(4.9, 9.9, ordered=189)], 190, report, "a bar close")

    figures = {f.name: f for f in report.figures}
    cpu = figures["CPU of our processes per alert, intake -> order submitted, a bar close (median of 3)"]
    assert (cpu.value, cpu.ok) == (4.9, True)
    assert figures["  all of our processes, every stage (apart)"].value == 9.9
    reached = figures["  signals that reached the broker, fewest in a round"]
    assert (reached.value, reached.ok) == (189, False)
    rounds = "4.8 | 9.6 ms; 7.9 | 13.2 ms; 4.9 | 9.9 ms"
    assert report.notes == [f"cpu rounds, a bar close, to the submit | all stages: {rounds}"]


def test_a_shape_not_judged_prints_its_figure_without_a_verdict_but_must_still_reach_the_broker() -> None:
    # The trickle: its CPU is mostly this machine's cold caches (load/cold.py), printed beside the judged one.
    report = Report()

    judge_cpu([_cpu(6.8, 11.6), _cpu(6.1, 10.4, ordered=188)], 190, report, "a trickle", judged=False)

    figures = {f.name: f for f in report.figures}
    name = "CPU of our processes per alert, intake -> order submitted, a trickle (median of 2), not judged"
    cpu = figures[name]
    assert (round(cpu.value, 2), cpu.ok, cpu.target) == (6.45, None, "")
    assert "MISS" not in cpu.line()
    assert figures["  signals that reached the broker, fewest in a round"].ok is False


def test_a_round_whose_orders_the_hook_did_not_all_measure_is_a_miss_not_a_crash() -> None:
    # The hook's file short of the round's orders (a renamed function, a slow write): the figure to the
    # submit would subtract too little, so the run says so.
    report = Report()

    judge_cpu([_cpu(5.9, 10.0), _cpu(6.1, 10.4, measured=150), _cpu(6.0, 10.2)], 190, report, "a bar close")

    unmeasured = next(f for f in report.figures if f.name.strip().startswith("orders without"))
    assert (unmeasured.value, unmeasured.ok) == (40, False)


def test_a_round_whose_orders_the_hook_counted_twice_is_a_miss() -> None:
    # More submits than orders at the broker: the CPU subtracted as after a submit would flatter the figure.
    report = Report()

    judge_cpu([_cpu(5.9, 10.0), _cpu(4.1, 10.4, measured=230), _cpu(6.0, 10.2)], 190, report, "a bar close")

    unmeasured = next(f for f in report.figures if f.name.strip().startswith("orders without"))
    assert (unmeasured.value, unmeasured.ok) == (40, False)

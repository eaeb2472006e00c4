"""The runtime benchmark's printed lines (no timing here)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import pytest

from benchmarks import bench_runtime
from benchmarks.bench_runtime import (
    CPU_SHAPES,
    CpuRound,
    Figure,
    Report,
    WrkRun,
    bar_close,
    judge_cpu,
    judge_intake,
)
from benchmarks.compare import rows
from benchmarks.load.burst import Sent
from benchmarks.load.cold import warm_and_cold


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
    assert figures["  a bar close: all of our processes, every stage (apart)"].value == 9.9
    reached = figures["  a bar close: signals that reached the broker, fewest in a round"]
    assert (reached.value, reached.ok) == (189, False)
    rounds = "4.8 | 9.6 ms; 7.9 | 13.2 ms; 4.9 | 9.9 ms"
    assert report.notes == [f"cpu rounds, a bar close, to the submit | all stages: {rounds}"]


def test_a_shape_not_judged_prints_its_figure_without_a_verdict_but_must_still_reach_the_broker() -> None:
    # The trickle, printed beside the judged bar close: every stage wakes idle there (load/cold.py).
    report = Report()

    judge_cpu([_cpu(6.8, 11.6), _cpu(6.1, 10.4, ordered=188)], 190, report, "a trickle", judged=False)

    figures = {f.name: f for f in report.figures}
    cpu = figures["CPU of our processes per alert, intake -> order submitted, a trickle (median of 2)"]
    assert (round(cpu.value, 2), cpu.ok) == (6.45, None)
    assert "MISS" not in cpu.line()
    assert "judged at the bar close only" in cpu.line()
    assert figures["  a trickle: signals that reached the broker, fewest in a round"].ok is False


def test_the_bar_close_is_the_judged_shape_and_the_trickle_is_not() -> None:
    assert {shape: how.judged for shape, how in CPU_SHAPES.items()} == {
        "a bar close, 10 senders": True,
        "a trickle, 1 sender at 50/s": False,
    }
    assert len({how.slug for how in CPU_SHAPES.values()}) == len(CPU_SHAPES)  # each round's own directory


def test_two_shapes_judged_in_one_report_keep_every_figure_apart_for_bench_compare() -> None:
    # compare.rows keys figures by name: a figure of one shape must not overwrite the other's.
    report = Report()
    judge_cpu([_cpu(4.0, 7.0, ordered=189)], 190, report, "a bar close")
    judge_cpu([_cpu(6.0, 10.0)], 190, report, "a trickle", judged=False)

    found = rows({"figures": [asdict(f) for f in report.figures]})

    assert len(found) == len(report.figures)
    assert found["  a bar close: signals that reached the broker, fewest in a round"].ok is False
    assert found["  a trickle: signals that reached the broker, fewest in a round"].ok is True


def test_a_bar_close_returns_the_ids_of_the_alerts_answered_2xx_only(monkeypatch: pytest.MonkeyPatch) -> None:
    sent_bodies: list[dict[str, object]] = []

    def fake_burst(url: str, make_body: Any, n: int, connections: int, spread_s: float) -> list[Sent]:
        sent_bodies.extend(make_body(i) for i in range(n))
        return [
            Sent(0.0, 0.1, 202, json.dumps({"signal_id": "a"}).encode()),
            Sent(0.0, 0.1, 200, json.dumps({"signal_id": "b"}).encode()),
            Sent(0.0, 0.1, 503, b'{"error": "busy"}'),
            Sent(0.0, None, None),
        ]

    monkeypatch.setattr(bench_runtime, "burst", fake_burst)

    assert bar_close()("http://127.0.0.1:1/webhook", "run", 10) == ["a", "b"]
    assert [body["ticker"] for body in sent_bodies[:6]] == ["AAPL", "IBM", "MSFT", "FB", "GOOG", "AAPL"]
    assert all(body["signalPrice"] == bench_runtime.PRICES[str(body["ticker"])] for body in sent_bodies)


def test_warm_and_cold_time_the_work_back_to_back_then_after_each_idle_gap() -> None:
    calls: list[int] = []

    def work(i: int) -> None:
        calls.append(i)
        end = bench_runtime.time.thread_time() + (0.002 if i >= 20 else 0.0005)  # the "cold" runs cost more
        while bench_runtime.time.thread_time() < end:
            pass

    warm, cold = warm_and_cold(work, idle_s=0.001, runs=10)

    assert calls == list(range(30))
    assert 400 <= warm < 1500
    assert cold >= 1900


def test_a_round_whose_orders_the_hook_did_not_all_measure_is_a_miss_not_a_crash() -> None:
    # The hook's file short of the round's orders (a renamed function, a slow write): the figure to the
    # submit would subtract too little, so the run says so.
    report = Report()

    judge_cpu([_cpu(5.9, 10.0), _cpu(6.1, 10.4, measured=150), _cpu(6.0, 10.2)], 190, report, "a bar close")

    unmeasured = next(f for f in report.figures if "orders without" in f.name)
    assert (unmeasured.value, unmeasured.ok) == (40, False)


def test_a_round_whose_orders_the_hook_counted_twice_is_a_miss() -> None:
    # More submits than orders at the broker: the CPU subtracted as after a submit would flatter the figure.
    report = Report()

    judge_cpu([_cpu(5.9, 10.0), _cpu(4.1, 10.4, measured=230), _cpu(6.0, 10.2)], 190, report, "a bar close")

    unmeasured = next(f for f in report.figures if "orders without" in f.name)
    assert (unmeasured.value, unmeasured.ok) == (40, False)

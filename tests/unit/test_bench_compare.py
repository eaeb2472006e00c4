"""Comparing two benchmark runs (benchmarks/compare.py) and keeping each commit's run (no timing here)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks._timing import write_json
from benchmarks.compare import NotFound, compare, find_run, main

CLEAN, OTHER = "a" * 40, "b" * 40


def _figure(name: str, value: float, unit: str = "ms", target: str = "", ok: bool | None = None) -> dict:
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok}


def _columns(lines: list[str], figure: str) -> list[str]:
    """One printed row: figure, target, before, after, change, verdict."""
    line = next(line for line in lines if line.lstrip().startswith(figure))
    return re.split(r"\s{2,}", line.strip())


def _runtime(commit: str, cpu: float, p99: float, bench_dir: Path) -> Path:
    figures = [
        _figure("CPU of our processes per alert, intake -> order", cpu, target="<= 5", ok=cpu <= 5),
        _figure("intake, 10 senders: p99 (median of 3)", p99, target="<= 20", ok=p99 <= 20),
    ]
    return write_json("runtime", {"commit": commit, "figures": figures}, bench_dir)


def test_each_run_is_kept_under_its_commit_and_the_latest_is_overwritten(tmp_path: Path) -> None:
    _runtime(CLEAN, 10.5, 12.8, tmp_path)
    latest = _runtime(OTHER, 9.0, 13.0, tmp_path)

    assert json.loads(latest.read_text())["commit"] == OTHER
    kept = {p.parent.name: json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/runtime.json")}
    assert kept[CLEAN]["figures"][0]["value"] == 10.5
    assert kept[OTHER]["figures"][0]["value"] == 9.0


def test_a_commit_prefix_finds_its_run_clean_unless_dirty_is_asked(tmp_path: Path) -> None:
    _runtime(CLEAN, 10.5, 12.8, tmp_path)
    _runtime(CLEAN + "+dirty", 8.0, 12.0, tmp_path)
    _runtime("ab" + "c" * 38, 8.0, 12.0, tmp_path)

    assert find_run("aaaa", tmp_path).files["runtime"].parent.name == CLEAN
    assert find_run("aaaa+dirty", tmp_path).files["runtime"].parent.name == CLEAN + "+dirty"
    with pytest.raises(NotFound, match="ambiguous"):
        find_run("a", tmp_path)
    with pytest.raises(NotFound, match="no such"):
        find_run("ffff", tmp_path)
    with pytest.raises(NotFound, match="empty"):
        find_run("", tmp_path)


def test_figures_are_side_by_side_with_their_change_and_a_newly_missed_target_is_named(
    tmp_path: Path,
) -> None:
    _runtime(CLEAN, 4.5, 12.8, tmp_path)
    _runtime(OTHER, 6.0, 11.0, tmp_path)

    lines, regressed = compare(find_run(CLEAN, tmp_path), find_run(OTHER, tmp_path))

    cpu = _columns(lines, "CPU of our processes")
    assert cpu[1:] == ["<= 5", "4.5", "6.0", "+1.5 (+33.3%)", "PASS -> MISS", "(newly missed)"]
    assert _columns(lines, "intake, 10 senders: p99")[1:] == [
        "<= 20",
        "12.8",
        "11.0",
        "-1.8 (-14.1%)",
        "PASS -> PASS",
    ]
    assert regressed == ["runtime: CPU of our processes per alert, intake -> order"]


def test_a_regression_fails_the_command_and_a_steady_run_passes(tmp_path: Path) -> None:
    # A copy of the last run, renamed, is still the runtime's: the file says which benchmark it holds.
    before = _runtime(CLEAN, 4.5, 12.8, tmp_path).read_text()
    (tmp_path / "before.json").write_text(before)
    _runtime(OTHER, 6.0, 11.0, tmp_path)
    (tmp_path / "after").mkdir()
    (tmp_path / "after" / "runtime.json").write_text((tmp_path / "runtime.json").read_text())

    assert main([str(tmp_path / "before.json"), str(tmp_path / "after")]) == 1
    assert main([str(tmp_path / "before.json"), str(tmp_path / "before.json")]) == 0
    assert main([str(tmp_path / "nowhere")]) == 2


def test_cold_starts_compare_each_handlers_ratio_to_its_floor(tmp_path: Path) -> None:
    def cold(ratio: float, met: bool | None, target: float | None) -> dict:
        return {"median_cold_ms": 300.0 * ratio, "ratio": ratio, "target_ratio": target, "met": met}

    for commit, webhook in ((CLEAN, 1.54), (OTHER, 1.28)):
        functions = {"webhook": cold(webhook, webhook <= 1.3, 1.3), "risk": cold(2.0, None, None)}
        write_json("cold-start", {"commit": commit, "functions": functions}, tmp_path)

    lines, regressed = compare(find_run(CLEAN, tmp_path), find_run(OTHER, tmp_path))

    assert _columns(lines, "cold start webhook / floor")[1:] == [
        "<= 1.3",
        "1.54",
        "1.28",
        "-0.26 (-16.9%)",
        "MISS -> PASS",
    ]
    assert _columns(lines, "cold start risk /")[1:] == [
        "2.00",
        "2.00",
        "+0.00 (+0.0%)",
    ]  # no target: no verdict
    assert regressed == []


def test_a_figure_in_one_run_only_is_shown_as_such_and_a_met_target_gone_is_a_regression(
    tmp_path: Path,
) -> None:
    before = [_figure("old figure", 1.0), _figure("gone target", 4.0, target="<= 5", ok=True)]
    write_json("runtime", {"commit": CLEAN, "figures": before}, tmp_path)
    write_json("cold-start", {"commit": CLEAN, "functions": {}}, tmp_path)
    write_json("runtime", {"commit": OTHER, "figures": [_figure("new figure", 2.0)]}, tmp_path)

    lines, regressed = compare(find_run(CLEAN, tmp_path), find_run(OTHER, tmp_path))

    assert any("new figure" in line and line.endswith("only after") for line in lines)
    assert any("old figure" in line and line.endswith("only before") for line in lines)
    assert regressed == ["runtime: gone target"]  # a target met, then not measured at all
    assert "not in the after run: cold-start" in lines  # benched in part: said, not judged

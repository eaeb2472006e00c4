"""`python -m benchmarks.compare BEFORE [AFTER]` (`make bench-compare BEFORE=… [AFTER=…]`): two runs' figures
side by side, each with its change and its verdict before and after.

BEFORE and AFTER each name a run: a commit (a prefix of one benched in this clone: every run's JSON is kept
under build/bench/runs/<commit>/, `+dirty` when the tree had changes), a directory of JSON files, or one JSON
file. AFTER defaults to the latest run of each benchmark (build/bench/). Every benchmark both runs wrote is
compared: runtime (issue 16's targets), cold-start (each handler beside its floor) and batches.

Exit status 1 when a target met before is missed after, or no longer measured in a benchmark both runs
ran (a regression a script can stop on), 2 when a run cannot be found, else 0. Nothing is judged here that
the benchmark did not judge: a figure without a target shows its change only, as the machine's load moves
it (compare runs of one machine at similar loads)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._timing import BENCH_DIR


@dataclass(frozen=True)
class Row:
    name: str
    value: float
    unit: str
    target: str
    ok: bool | None


@dataclass(frozen=True)
class Run:
    label: str
    files: dict[str, Path]  # benchmark name (the JSON file's stem) -> its figures


class NotFound(Exception):
    pass


def find_run(spec: str, bench_dir: Path = BENCH_DIR) -> Run:
    """A file, a directory, or a commit prefix benched in this clone (its clean run unless `+dirty` is
    given)."""
    if not spec:
        raise NotFound("an empty name: give a commit, a directory or a file")
    path = Path(spec)
    if path.is_file():
        return Run(spec, {_benchmark(path): path})
    if path.is_dir():
        return Run(spec, _json_files(path))
    wanted, dirty = spec.removesuffix("+dirty"), spec.endswith("+dirty")
    runs = bench_dir / "runs"
    found = sorted(
        d
        for d in (runs.iterdir() if runs.is_dir() else ())
        if d.is_dir()
        and d.name.removesuffix("+dirty").startswith(wanted)
        and d.name.endswith("+dirty") == dirty
    )
    if len(found) != 1 or not wanted:
        known = ", ".join(d.name[:12] + ("+dirty" if d.name.endswith("+dirty") else "") for d in found)
        why = f"ambiguous ({known})" if found and wanted else "no such file, directory or benched commit"
        raise NotFound(f"{spec}: {why}; benched commits are kept under {runs}")
    return Run(found[0].name[:12] + ("+dirty" if dirty else ""), _json_files(found[0]))


def _json_files(directory: Path) -> dict[str, Path]:
    return {_benchmark(p): p for p in sorted(directory.glob("*.json"))}


def _benchmark(path: Path) -> str:
    """Which benchmark a file holds: as it says (a copy may be renamed), else its name as written."""
    try:
        named = json.loads(path.read_text(encoding="utf-8")).get("benchmark")
    except (OSError, ValueError, AttributeError):
        named = None
    return named if isinstance(named, str) else path.stem


def rows(document: dict[str, Any]) -> dict[str, Row]:
    """The figures of one benchmark's JSON: the runtime's and the batches' as printed; the cold starts as
    each handler's median and its ratio to the floor."""
    if "functions" in document:
        out: dict[str, Row] = {}
        for function, f in document["functions"].items():
            out[f"cold start {function}"] = Row(f"cold start {function}", f["median_cold_ms"], "ms", "", None)
            target = "" if f.get("target_ratio") is None else f"<= {f['target_ratio']}"
            name = f"cold start {function} / floor"
            out[name] = Row(name, f["ratio"], "x", target, f.get("met"))
        return out
    return {
        f["name"]: Row(f["name"], float(f["value"]), f.get("unit", ""), f.get("target", ""), f.get("ok"))
        for f in document.get("figures", [])
    }


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else ("PASS" if ok else "MISS")


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "x":  # a ratio to a floor: its target is given to two decimals
        return f"{value:.2f}"
    return f"{value:.3f}" if 0 < abs(value) < 0.1 else f"{value:,.1f}"


def _change(before: Row | None, after: Row | None) -> str:
    if before is None or after is None:
        return "only " + ("after" if before is None else "before")
    delta = after.value - before.value
    percent = f" ({delta / before.value:+.1%})" if before.value else ""
    if after.unit == "x":
        return f"{delta:+.2f}{percent}"
    return f"{delta:+,.1f}{percent}" if abs(delta) >= 0.1 or delta == 0 else f"{delta:+.3f}{percent}"


def _line(before: Row | None, after: Row | None) -> str:
    shown = after or before
    if shown is None:
        return ""
    verdicts = " -> ".join(_verdict(r.ok) for r in (before, after) if r is not None and r.ok is not None)
    if before is not None and before.ok is True and (after is None or after.ok is False):
        verdicts += "  (newly missed)" if after is not None else "  (met before, not measured after)"
    values = [_number(None if r is None else r.value, shown.unit) for r in (before, after)]
    return (
        f"  {shown.name:<56} {shown.target:<16} {values[0]:>10} {values[1]:>10}  "
        f"{_change(before, after):<18} {verdicts}"
    ).rstrip()


def _header(document: dict[str, Any], label: str) -> str:
    notes = [n for n in document.get("notes", []) if n.startswith("load average")]
    when = str(document.get("at", ""))[:16].replace("T", " ")
    return " ".join(part for part in (label, when, "; ".join(notes)) if part)


def compare(before: Run, after: Run) -> tuple[list[str], list[str]]:
    """The printed lines, and the figures whose target was met before and is missed after."""
    lines: list[str] = []
    regressed: list[str] = []
    shared = [name for name in after.files if name in before.files]
    if not shared:
        lines.append(f"no benchmark in both runs ({before.label}: {sorted(before.files)}; "
                     f"{after.label}: {sorted(after.files)})")  # fmt: skip
    unrun = sorted(set(before.files) - set(after.files))
    if unrun:  # a commit is often benched in part (BENCH=runtime): said, not judged
        lines.append(f"not in the after run: {', '.join(unrun)}")
    for bench in shared:
        old_doc = json.loads(before.files[bench].read_text(encoding="utf-8"))
        new_doc = json.loads(after.files[bench].read_text(encoding="utf-8"))
        old, new = rows(old_doc), rows(new_doc)
        lines.append(
            f"{bench}: before {_header(old_doc, before.label)} | after {_header(new_doc, after.label)}"
        )
        lines.append(f"  {'figure':<56} {'target':<16} {'before':>10} {'after':>10}  {'change':<18} verdict")
        for name in [*new, *(n for n in old if n not in new)]:
            b, a = old.get(name), new.get(name)
            lines.append(_line(b, a))
            if b is not None and b.ok is True and (a is None or a.ok is False):
                regressed.append(f"{bench}: {name}")  # missed, or no longer measured at all
    return lines, regressed


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 2):
        sys.stderr.write(
            "usage: python -m benchmarks.compare BEFORE [AFTER]  (a commit, a directory or a file)\n"
        )
        return 2
    try:
        before = find_run(args[0])
        after = find_run(args[1]) if len(args) == 2 else Run("latest", _json_files(BENCH_DIR))
    except NotFound as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    lines, regressed = compare(before, after)
    for line in lines:
        sys.stdout.write(line + "\n")
    if regressed:
        sys.stdout.write(f"{len(regressed)} target(s) met before and missed after: {'; '.join(regressed)}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

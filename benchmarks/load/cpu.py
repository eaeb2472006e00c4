"""CPU time of processes, read from /proc (user + system, in seconds), for per-alert CPU figures."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def children(pid: int) -> list[int]:
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def total(pids: list[int]) -> float:
    return sum(cpu_seconds(p) for p in pids)


def by_thread_name(pid: int) -> dict[str, float]:
    """CPU seconds of a process's live threads by name, numbers dropped (`risk-0` and `risk-1` are `risk`):
    the workers name their threads (local/runtime/thread_names.py). A thread that ended meanwhile is missing,
    so compare the sum with the process's own figure."""
    found: dict[str, float] = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            name = (task / "comm").read_text().strip().rstrip("0123456789").rstrip("-")
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[name] = found.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / _TICKS
    return found

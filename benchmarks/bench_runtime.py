"""The single-machine runtime against its targets and against a reference peer, in one run on this machine.

Load generator: wrk (Debian's package, C, one thread) for the closed-loop figures, the same script against
both servers; an asyncio sender (benchmarks/load/burst.py) for the open-loop burst. Both share the machine's
cores with the servers, so their CPU is reported too.

Phases, each on a fresh runtime (state directory in a temporary folder, the local broker on its Alpaca-like
defaults except the request limit, raised so the broker measures nothing but us; for the same reason the
account's request budget, which keeps real runs under Alpaca's 200 a minute, is off: with it on, 300 alerts
in 6 s wait for it and end STALE_AT_SUBMIT, and the figures measured the budget's refusals instead of the
path to an order. The risk profile allows 200 orders a minute, the most a profile may, so the phases that
follow alerts to their order send fewer than 200 each):
- intake at 10 senders (wrk -c10, closed loop): ours and the reference (benchmarks/reference_webhook.py),
  in alternating rounds (a fresh runtime and a fresh reference database each), judged on each side's median:
  one 10 s run's p99 is the slowest 1% of a few thousand answers, and another job starting on the shared
  machine during either side's run moved it by more than the gap between the two;
- a burst of 1,000 alerts sent within one second: every one answered 2xx (a 202 is sent after the record is
  on disk) within 3 s of being sent;
- alert -> order submitted at the paper broker, one sender, alerts one after another: from the moment the
  alert was sent to the broker's `submitted_at`;
- several strategies alerting on one ticker at once (a bar close), shown without a target: the slowest
  alert -> order, as their intents take the ticker's turn one after another;
- CPU of our processes per alert, from intake to the order submitted, as the issue counts it: the intake
  process, the relay, the risk pollers and the executor up to each submit (`/proc` per thread, less the
  executor's CPU after its submits, measured on its threads' own clocks by load/submit_span). Judged in
  the shape closest to the issue's own measurement of the peers (ten concurrent senders; its were a closed
  loop over 400 alerts): a bar close, 190 alerts from 10 connections within half a second over the
  broker's five tickers (the median of five rounds, each on a fresh runtime: one round's figure moved by a
  fifth between runs of the same code). Printed apart, not judged: the same 190 alerts as a trickle (one
  sender, 50 a second, one ticker), where every stage wakes idle, and what an idle gap costs the same work
  on this machine (load/cold.py: the intake's decision ~7x back to back), with which the trickle's higher
  figure is consistent. Beside each, apart: the executor after its submits, and all our processes
  (supervisor, intake, workers, operator) for every stage to each alert's fill and its search documents;
  the broker's, osmem's and the load generator's CPU.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks._timing import commit_measured, write_json
from benchmarks.load.burst import burst
from benchmarks.load.cold import intake_decision, warm_and_cold
from benchmarks.load.cpu import by_thread_name, children, cpu_seconds, total

HERE = Path(__file__).parent
RISK = HERE / "risk_bench.toml"
WRK_SCRIPT = HERE / "load" / "alerts.lua"
PASSPHRASE = "bench passphrase"  # noqa: S105 - a throwaway local passphrase
# The broker's request limit for the bench: high enough that it never answers 429 to us (see the docstring).
BROKER_RATE_LIMIT = 1_000_000
# The paper broker's symbols with a price near their sample-data quote, so the legs it checks are sane.
PRICES = {"AAPL": "430.47", "IBM": "202.91", "MSFT": "27.95", "FB": "27.78", "GOOG": "806.19"}
TICKERS = tuple(PRICES)
INTAKE_ROUNDS = 3  # alternating rounds of the intake phase, ours then the reference's (see the docstring)


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str
    ok: bool | None

    def line(self) -> str:
        verdict = "" if self.ok is None else ("PASS" if self.ok else "MISS")
        target = f"target {self.target}" if self.target else ""
        # wrk's own CPU is ~0.03 ms an alert: one decimal would print a measured figure as 0.0.
        value = f"{self.value:>9.3f}" if 0 < abs(self.value) < 0.1 else f"{self.value:>9.1f}"
        return f"  {verdict:<4} {self.name:<52} {value} {self.unit:<3} {target}".rstrip()


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, value: float, unit: str, target: str = "", ok: bool | None = None) -> None:
        self.figures.append(Figure(name, value, unit, target, ok))


def _wrk_available() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: `make bench` installs Debian's wrk (apt-get, as root)")
    return wrk


def wrk(url: str, connections: int, seconds: int, run: str) -> tuple[dict[str, Any], float]:
    """Closed loop: `connections` senders, each sending its next alert when the last is answered. Returns
    wrk's figures and its own CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(  # noqa: S603 - Debian's wrk with our script
        [_wrk_available(), "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(WRK_SCRIPT), url],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "BENCH_PASSPHRASE": PASSPHRASE, "BENCH_RUN": run},
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(line for line in done.stdout.splitlines() if line.startswith("{"))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(line), cpu


@contextmanager
def runtime(root: Path, name: str) -> Iterator[Any]:
    from tradepipe.local.runtime.supervisor import LocalConfig, Supervisor

    config = LocalConfig.ephemeral(
        root / name,
        passphrase=PASSPHRASE,
        always_open=True,
        broker_rate_limit=BROKER_RATE_LIMIT,
        risk_config_path=str(RISK),
        log_level="ERROR",
        request_budget_per_minute=0,  # off: see the module's docstring
    )
    with Supervisor(config) as sup:
        yield sup


@contextmanager
def reference(root: Path) -> Iterator[str]:
    from tradepipe.local.http_server import free_port

    port = free_port()
    env = {**os.environ, "REFERENCE_DB": str(root / "reference.db"), "REFERENCE_PASSPHRASE": PASSPHRASE}
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "uvicorn", "benchmarks.reference_webhook:app", "--port", str(port)]
        + ["--log-level", "warning", "--no-access-log"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/webhook"
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.post(url, json={}, timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _ours(sup: Any) -> list[int]:
    """Our processes: the supervisor (this process) and its intake, workers and operator children."""
    return [os.getpid(), *(sup.children[r].process.pid for r in ("intake", "workers", "operator"))]


def _apart(sup: Any) -> dict[str, list[int]]:
    broker = [sup.children["broker"].process.pid]
    ours = set(_ours(sup)) | set(broker)
    return {"broker": broker, "osmem": [p for p in children(os.getpid()) if p not in ours]}


@dataclass(frozen=True)
class WrkRun:
    """One closed-loop run of wrk against one server."""

    rate: float  # answers a second
    p99_ms: float
    requests: int
    errors: int  # non-2xx answers, read errors and timeouts
    cpu_s: float  # wrk's own CPU

    @classmethod
    def of(cls, figures: dict[str, Any], cpu_s: float) -> WrkRun:
        return cls(
            rate=figures["requests"] / (figures["duration_us"] / 1e6),
            p99_ms=figures["p99_us"] / 1000,
            requests=figures["requests"],
            errors=figures["non2xx"] + figures["read_errors"] + figures["timeouts"],
            cpu_s=cpu_s,
        )


def intake_phase(root: Path, report: Report, seconds: int = 10, rounds: int = INTAKE_ROUNDS) -> None:
    ours: list[WrkRun] = []
    ref: list[WrkRun] = []
    for n in range(rounds):
        with runtime(root, f"intake-{n}") as sup:
            wrk(sup.webhook_url, 10, 2, "warm")
            ours.append(WrkRun.of(*wrk(sup.webhook_url, 10, seconds, "intake")))
        (root / f"reference-{n}").mkdir()
        with reference(root / f"reference-{n}") as url:
            wrk(url, 10, 2, "warm")
            ref.append(WrkRun.of(*wrk(url, 10, seconds, "reference")))
    judge_intake(ours, ref, report)


def judge_intake(ours: list[WrkRun], ref: list[WrkRun], report: Report) -> None:
    """Each side's median over the rounds against the targets; every answer of every round must be a 2xx."""
    rounds = f"median of {len(ours)}"
    ours_rate, ref_rate = (statistics.median(r.rate for r in runs) for runs in (ours, ref))
    ours_p99, ref_p99 = (statistics.median(r.p99_ms for r in runs) for runs in (ours, ref))
    errors = sum(r.errors for r in ours)
    report.add(
        f"intake, 10 senders: alerts/s ({rounds})",
        ours_rate,
        "/s",
        f">= 500 and >= reference {ref_rate:.0f}",
        ours_rate >= max(500, ref_rate),
    )
    report.add(
        f"intake, 10 senders: p99 ({rounds})",
        ours_p99,
        "ms",
        f"<= 20 and <= reference {ref_p99:.1f}",
        ours_p99 <= min(20.0, ref_p99),
    )
    report.add("intake, 10 senders: non-2xx answers (all rounds)", errors, "", "0", errors == 0)
    report.add(f"reference, 10 senders: alerts/s ({rounds})", ref_rate, "/s")
    report.add(f"reference, 10 senders: p99 ({rounds})", ref_p99, "ms")
    for name, runs in (("ours", ours), ("reference", ref)):
        report.add(
            f"load generator (wrk) CPU per alert, {name}",
            sum(r.cpu_s for r in runs) / max(1, sum(r.requests for r in runs)) * 1000,
            "ms",
        )
    report.notes.append(
        "intake rounds, ours | reference: "
        + "; ".join(
            f"{o.rate:,.0f}/s p99 {o.p99_ms:.1f} ms | {r.rate:,.0f}/s p99 {r.p99_ms:.1f} ms"
            for o, r in zip(ours, ref, strict=True)
        )
    )


def _entry(run: str, n: int, ticker: str = "MSFT") -> dict[str, object]:
    return {
        "passphrase": PASSPHRASE,
        "ticker": ticker,
        "action": "buy",
        "quantity": 1,
        "quantityType": "fixed_quantity",
        "signalPrice": PRICES[ticker],
        "stopLoss": {"percent": 5},
        "strategy": f"{run}-{n}",
        "time": datetime.now(UTC).isoformat(),
    }


def burst_phase(root: Path, report: Report, n: int = 1000) -> None:
    with runtime(root, "burst") as sup:
        before = resource.getrusage(resource.RUSAGE_SELF)
        sent = burst(sup.webhook_url, lambda i: _entry("burst", i), n, connections=50)
        after = resource.getrusage(resource.RUSAGE_SELF)
    answered = [s for s in sent if s.answered_at is not None and s.status in (200, 202)]
    late = [s for s in answered if s.answered_at - s.sent_at > 3.0]  # type: ignore[operator]
    waits = sorted(s.answered_at - s.sent_at for s in answered)  # type: ignore[operator]
    report.add(f"burst of {n} in 1 s: answered 2xx", len(answered), "", f"{n}", len(answered) == n)
    report.add(
        "burst: answered within 3 s of being sent",
        len(answered) - len(late),
        "",
        f"{n}",
        not late and len(answered) == n,
    )
    if waits:
        report.add("burst: slowest answer", waits[-1] * 1000, "ms", "<= 3000", waits[-1] <= 3.0)
        report.add("burst: p99 answer", waits[int(0.99 * (len(waits) - 1))] * 1000, "ms")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    report.add("burst sender CPU per alert", cpu / n * 1000, "ms")


def _wait_submitted(backend: Any, signal_ids: list[str], timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    found: dict[str, Any] = {}
    while len(found) < len(signal_ids) and time.monotonic() < deadline:
        for sid in signal_ids:
            if sid not in found:
                item = backend.signal_store.get(sid)
                if item is not None and item.status.value in ("SUBMITTED", "FILLED", "REJECTED"):
                    found[sid] = item
        # Polling paces the bench only (latency is read from the broker's submitted_at), and costs the shared
        # cores: every 5 ms for one signal.
        time.sleep(0.005 if len(signal_ids) == 1 else 0.05)
    return found


def _wait_status(backend: Any, signal_id: str, statuses: tuple[str, ...], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        item = backend.signal_store.get(signal_id)
        if item is not None and item.status.value in statuses:
            return
        time.sleep(0.01)


def latency_phase(root: Path, report: Report, n: int = 180) -> None:
    import httpx

    with runtime(root, "latency") as sup, httpx.Client(timeout=10) as http:
        backend = sup.backend()
        latencies: list[float] = []
        for i in range(n + 10):
            body = _entry("latency", i)
            sent_at = time.time()
            answer = http.post(sup.webhook_url, json=body).json()
            sid = answer["signal_id"]
            _wait_submitted(backend, [sid], 10)
            order = backend.order_store.get(f"tp-{sid}-open")
            # One alert on an idle pipeline, as a trader's alert meets it: the next alert (same ticker, so the
            # same FIFO group) would otherwise wait for this one's read after the executor's fill wait (0.1 s
            # or more, its group in flight meanwhile), and the figure measured that wait, not an alert's path.
            _wait_status(backend, sid, ("FILLED", "REJECTED"), 2.0)
            if i >= 10 and order is not None and order.submitted_at is not None:  # the first ten warm up
                latencies.append(order.submitted_at.timestamp() - sent_at)
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(0.99 * (len(latencies) - 1))]
    report.add("alert -> order submitted, one sender: p50", p50 * 1000, "ms", "<= 30", p50 <= 0.030)
    report.add("alert -> order submitted, one sender: p99", p99 * 1000, "ms", "<= 100", p99 <= 0.100)


def same_ticker_phase(root: Path, report: Report, strategies: int = 5, rounds: int = 5) -> None:
    """Several strategies alert on one ticker at the same bar close: their intents share the ticker's FIFO
    group, so each order waits for the one before it (its calls, and its read of the fill: 0.1 s after the
    order, 0.25 s if it had not filled by then). Shown without a target: the issue's latency target is for
    one sender."""
    import httpx

    slowest: list[float] = []
    with runtime(root, "same-ticker") as sup, httpx.Client(timeout=10) as http:
        backend = sup.backend()
        for r in range(rounds + 1):  # round 0 warms up
            bodies = [_entry(f"bar{r}", s) for s in range(strategies)]
            with ThreadPoolExecutor(strategies) as senders:
                sent = list(
                    senders.map(lambda b: (time.time(), http.post(sup.webhook_url, json=b).json()), bodies)
                )
            ids = [answer["signal_id"] for _, answer in sent]
            _wait_submitted(backend, ids, 30)
            for sid in ids:
                _wait_status(backend, sid, ("FILLED", "REJECTED"), 2.0)
            orders = [backend.order_store.get(f"tp-{sid}-open") for sid in ids]
            submitted = [o.submitted_at for o in orders if o is not None and o.submitted_at is not None]
            if r and len(submitted) == strategies:
                slowest.append(
                    max(at.timestamp() - sent_at for at, (sent_at, _) in zip(submitted, sent, strict=True))
                )
    name = f"alert -> order, {strategies} strategies, one ticker"
    report.add(f"{name}: rounds with every order", len(slowest), "", f"{rounds}", len(slowest) == rounds)
    if slowest:
        report.add(f"{name}: slowest (median)", statistics.median(slowest) * 1000, "ms")


# What the CPU figure counts, "from intake to the order submitted": the intake, the doorbell (the
# intake's datagram waking the relay), the relay, the risk pollers, and the executor up to each submit (its
# CPU after it is measured apart: load/submit_span). Not the indexer (search documents of what happened),
# the notifier or the schedules (the reconciler).
TO_SUBMIT = ("doorbell", "relay", "risk", "executor")
# Rounds of the CPU phase, each on a fresh runtime, judged on their median: one round's figure moves by a
# fifth between runs of the same code on this shared machine (4.5-5.3 ms in one run of the eleventh look).
CPU_ROUNDS = 5
TRICKLE_ROUNDS = 3
COLD_RUNS = 100  # each of load/cold.py's timings
SPAN = Path(__file__).parent / "load" / "submit_span"


@contextmanager
def _submit_span(stem: Path) -> Iterator[Path]:
    """The runtime started inside this gets load/submit_span on its PYTHONPATH; the file it writes."""
    out = stem.with_suffix(".json")
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "BENCH_SUBMIT_SPAN")}
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(SPAN), saved["PYTHONPATH"]) if p)
    os.environ["BENCH_SUBMIT_SPAN"] = str(out)
    try:
        yield out
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _after_submit(path: Path, submitted: int, timeout_s: float = 5.0) -> dict[str, float]:
    """The hook's totals once it counted `submitted` orders placed (every executor call that placed one
    has returned by then), or the last it wrote (none: {}) after `timeout_s`: a round short of its orders
    is judged, not raised."""
    deadline = time.monotonic() + timeout_s
    totals: dict[str, float] = {}
    while True:
        with suppress(OSError, ValueError):
            totals = json.loads(path.read_text())
        if totals.get("submitted", 0) >= submitted or time.monotonic() >= deadline:
            return totals
        time.sleep(0.1)


@dataclass(frozen=True)
class CpuRound:
    """One CPU round on a fresh runtime, in ms of CPU per alert."""

    to_submit: float  # the target's: the intake, the relay, the risk pollers, the executor to its submit
    after_submit: float  # the executor after its submits
    everything: float  # all of our processes, every stage
    ordered: int  # signals that reached the broker
    measured: int  # of their orders, those whose executor CPU after the submit the hook measured
    parts: dict[str, float]  # each of our processes and the workers' threads
    apart: dict[str, float]  # the paper broker, osmem, the sender


Sender = Callable[[str, str, int], list[str]]  # (webhook URL, run name, alerts) -> their signal ids


def trickle(rate: float = 50.0) -> Sender:
    """One sender, one alert after another on a kept-alive connection, `rate` a second: the runtime idle
    between alerts, as a trader's alerts mostly meet it. There the cores sit idle and what the trader feels
    is alert -> order (judged at one sender), not what each alert costs them."""

    def send(url: str, run: str, n: int) -> list[str]:
        import httpx

        ids = []
        with httpx.Client(timeout=10) as http:
            for i in range(n):
                ids.append(http.post(url, json=_entry(run, i)).json()["signal_id"])
                time.sleep(1.0 / rate)
        return ids

    return send


def bar_close(connections: int = 10, spread_s: float = 0.5) -> Sender:
    """A bar close: every alert sent within `spread_s` from `connections` senders (the issue's 10), over the
    paper broker's five tickers, as strategies watching several tickers send at the same close. The ids of
    the alerts answered 2xx: one answered otherwise never reaches the broker, which the round's "reached"
    figure then misses (its CPU still divided by every alert sent: the intake spent it on each)."""

    def send(url: str, run: str, n: int) -> list[str]:
        sent = burst(url, lambda i: _entry(run, i, TICKERS[i % len(TICKERS)]), n, connections, spread_s)
        return [json.loads(s.answer)["signal_id"] for s in sent if s.status in (200, 202)]

    return send


def cpu_round(root: Path, name: str, send: Sender, n: int = 190) -> CpuRound:
    with (
        _submit_span(root / f"{name}-span") as span,
        runtime(root, name) as sup,
    ):
        backend = sup.backend()
        ours, apart = _ours(sup), _apart(sup)
        time.sleep(1.0)
        mine_before = cpu_seconds(os.getpid())
        roles = {role: sup.children[role].process.pid for role in ("intake", "workers", "operator")}
        roles_start = {role: cpu_seconds(pid) for role, pid in roles.items()}
        threads_start = by_thread_name(roles["workers"])
        start = {k: total(v) for k, v in {"ours": ours, **apart}.items()}
        ids = send(sup.webhook_url, name, n)
        done = _wait_submitted(backend, ids, 120)
        for sid in ids:  # the executor's part after each submit ends with its read of the fill
            _wait_status(backend, sid, ("FILLED", "REJECTED"), 2.0)
        ordered = sum(item.status.value in ("SUBMITTED", "FILLED") for item in done.values())
        # Read before the end figures: every executor call that placed an order has returned by then, so the
        # CPU subtracted as after a submit is inside the window the end figures close.
        span_totals = _after_submit(span, ordered)
        end = {k: total(v) for k, v in {"ours": ours, **apart}.items()}
        roles_end = {role: cpu_seconds(pid) for role, pid in roles.items()}
        threads_end = by_thread_name(roles["workers"])
        # This process is the supervisor *and* the sender: its own CPU is counted as the sender's.
        sender = cpu_seconds(os.getpid()) - mine_before
    after_submit = span_totals.get("after_submit", 0.0)
    ms = 1000 / n
    ours_cpu = end["ours"] - start["ours"] - sender
    workers = {name: threads_end.get(name, 0.0) - threads_start.get(name, 0.0) for name in TO_SUBMIT}
    to_submit = roles_end["intake"] - roles_start["intake"] + sum(workers.values()) - after_submit
    parts: dict[str, float] = {}
    for role in roles:
        parts[f"{role} process"] = (roles_end[role] - roles_start[role]) * ms
        if role == "workers":
            for thread in sorted(threads_end, key=lambda t: -(threads_end[t] - threads_start.get(t, 0.0))):
                spent = threads_end[thread] - threads_start.get(thread, 0.0)
                if spent > 0:
                    parts[f"  {thread} thread(s)"] = spent * ms
            # What the live threads do not account for: threads that ended within the round (gone from /proc)
            # and the kernel's rounding, which splits each thread's time into ticks apart from the process's.
            live = sum(threads_end.values()) - sum(threads_start.get(t, 0.0) for t in threads_end)
            parts["  not in a live thread (ended threads, rounding)"] = max(
                0.0, (roles_end[role] - roles_start[role] - live) * ms
            )
    return CpuRound(
        to_submit=to_submit * ms,
        after_submit=after_submit * ms,
        everything=ours_cpu * ms,
        ordered=ordered,
        measured=int(span_totals.get("submitted", 0)),
        parts=parts,
        apart={
            "paper broker": (end["broker"] - start["broker"]) * ms,
            "osmem": (end["osmem"] - start["osmem"]) * ms,
            "sender": sender * ms,
        },
    )


@dataclass(frozen=True)
class CpuShape:
    """How the CPU phase's alerts arrive."""

    slug: str  # its rounds' state directories
    send: Sender
    rounds: int
    judged: bool  # against the target; else printed apart


CPU_SHAPES = {
    "a bar close, 10 senders": CpuShape("bar-close", bar_close(), CPU_ROUNDS, judged=True),
    "a trickle, 1 sender at 50/s": CpuShape("trickle", trickle(), TRICKLE_ROUNDS, judged=False),
}


def cpu_phase(root: Path, report: Report, n: int = 190) -> None:
    """The target is judged in the shape closest to the issue's own measurement of the peers' CPU per alert
    (ten concurrent senders; the issue's were a closed loop over 400 alerts): a bar close, when the two
    cores are scarce. The trickle is printed apart, beside what an idle gap costs the same work on this
    machine (`load/cold.py`), with which its higher figure is consistent."""
    for shape, how in CPU_SHAPES.items():
        runs = [cpu_round(root, f"cpu-{how.slug}-{k}", how.send, n) for k in range(how.rounds)]
        judge_cpu(runs, n, report, shape, judged=how.judged)
    warm_us, cold_us = warm_and_cold(
        intake_decision([_entry("cold", i) for i in range(3 * COLD_RUNS)], PASSPHRASE), runs=COLD_RUNS
    )
    report.add("the intake's decision back to back (this machine)", warm_us, "us")
    report.add("  the same after 20 ms idle, as at a trickle", cold_us, "us")


def judge_cpu(runs: list[CpuRound], n: int, report: Report, shape: str, *, judged: bool = True) -> None:
    """Each figure the median of the rounds (one round's figure moved by a fifth between runs of the same
    code on this shared machine), the rounds themselves in a note. A shape not judged prints its figure
    without a verdict; its alerts must still all reach the broker, and its figure be measured whole."""
    median = statistics.median
    to_submit = median(r.to_submit for r in runs)
    figure = f"CPU of our processes per alert, intake -> order submitted, {shape} (median of {len(runs)})"
    if judged:
        report.add(figure, to_submit, "ms", "<= 5", to_submit <= 5)
    else:
        report.add(figure, to_submit, "ms", "<= 5 judged at the bar close only")
    # Each figure named with its shape: `make bench-compare` keys figures by name.
    report.add(
        f"  {shape}: the executor after its submit (apart)", median(r.after_submit for r in runs), "ms"
    )
    report.add(
        f"  {shape}: all of our processes, every stage (apart)", median(r.everything for r in runs), "ms"
    )
    ordered = min(r.ordered for r in runs)
    report.add(
        f"  {shape}: signals that reached the broker, fewest in a round", ordered, "", f"{n}", ordered == n
    )
    # Either way off: too few subtracts too little; too many (counted twice) subtracts what was not after.
    unmeasured = max(abs(r.ordered - r.measured) for r in runs)
    unmeasured_name = "orders without the executor's CPU after the submit, or counted twice, most in a round"
    report.add(f"  {shape}: {unmeasured_name}", unmeasured, "", "0", unmeasured == 0)
    for part in dict.fromkeys(k for r in runs for k in r.parts):
        report.add(f"  {shape}: {part}", median(r.parts.get(part, 0.0) for r in runs), "ms")
    for who in runs[0].apart:
        report.add(f"  {shape}: {who} CPU per alert (apart)", median(r.apart[who] for r in runs), "ms")
    report.notes.append(
        f"cpu rounds, {shape}, to the submit | all stages: "
        + "; ".join(f"{r.to_submit:.1f} | {r.everything:.1f} ms" for r in runs)
    )


def run() -> Report:
    report = Report()
    report.notes.append(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    root = Path(tempfile.mkdtemp(prefix="tradepipe-bench-"))
    try:
        intake_phase(root, report)
        burst_phase(root, report)
        latency_phase(root, report)
        same_ticker_phase(root, report)
        cpu_phase(root, report)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report.notes.append(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return report


def lines() -> list[str]:
    """`make bench BENCH=runtime`: each figure beside its target, then build/bench/runtime.json."""
    report = run()
    path = write_json(
        "runtime",
        {
            "commit": commit_measured(),
            "at": datetime.now(UTC).isoformat(),
            "cpus": os.cpu_count(),
            "notes": report.notes,
            "figures": [asdict(f) for f in report.figures],
        },
    )
    missed = [f.name for f in report.figures if f.ok is False]
    return [
        "runtime (ours vs the FastAPI + SQLite reference, same run; PASS/MISS against issue 16's targets)",
        *(figure.line() for figure in report.figures),
        *(f"  {note}" for note in report.notes),
        f"  {len(missed)} target(s) missed" if missed else "  every target met",
        f"runtime figures: {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}",
    ]


if __name__ == "__main__":
    for text in lines():
        sys.stdout.write(text + "\n")

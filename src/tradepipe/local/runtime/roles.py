"""The runtime's processes, each started by the supervisor as `python -m tradepipe.local.runtime ROLE`, with
its settings in the environment (`Settings.to_environment()`: backend `sqlite`, the state directory, the
broker and search endpoints, this role's SQLite durability):

- `intake`: the webhook on the tunnel port (uvicorn + the group-commit writer);
- `workers`: risk, executor, indexer, schedules (threads);
- `operator`: the live page, read API and kill switch on a loopback port of its own.

Every use case's deps come from the one composition root (`tradepipe.composition`), as in the Lambdas. Each
process prints one JSON line `{"ready": ...}` on stdout once it serves, and dies with the supervisor (Linux's
parent-death signal), so a killed runtime leaves no process holding a port or the database."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import logging
import resource
import signal
import sys
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def doorbell_path(state_dir: Path) -> Path:
    return state_dir / "wakeup.sock"


def die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def configure_logging(state_dir: Path, role: str, level: str) -> None:
    from tradepipe.observability.redaction import RedactingFormatter

    handler = logging.FileHandler(state_dir / "logs" / f"{role}.log")
    handler.setFormatter(RedactingFormatter(service=role))
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(RedactingFormatter(service=role))
    console.setLevel(logging.ERROR)
    root = logging.getLogger()
    root.handlers[:] = [handler, console]
    root.setLevel(level)
    for noisy in ("urllib3.connectionpool", "opensearch", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def ready(**info: Any) -> None:
    sys.stdout.write(json.dumps({"ready": True, **info}) + "\n")
    sys.stdout.flush()


def _wait_for_stop() -> None:
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()


def _connection_limit() -> int:
    """Connections a server takes at once: 1,000, or fewer when the process may open fewer files (room kept
    for the databases, the logs and the doorbell)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1000 if soft == resource.RLIM_INFINITY else max(64, min(1000, soft - 128))


def server_config(app: Any, host: str, port: int, *, fast: bool) -> Any:
    """The uvicorn configuration of the intake (`fast`: the port a trader tunnels) and the operator API."""
    import uvicorn

    from tradepipe.local.runtime.http_deadline import DeadlineProtocol

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop" if fast else "asyncio",
        # The intake (fast) is the tunnelled port: each request must arrive whole in time (http_deadline.py).
        http=DeadlineProtocol if fast else "h11",
        # No websocket routes: an upgrade is an ordinary request (a 404), not an unanswered one (a 500).
        ws="none",
        # Past this many connections (or requests in progress) a new request is answered 503 at once instead
        # of being served while the process nears its file limit (a desktop's soft limit is often 1,024);
        # uvicorn still accepts the connection, and a silent one is closed at the request deadline.
        limit_concurrency=_connection_limit(),
        lifespan="on" if fast else "auto",
        access_log=False,
        log_level="warning",
        server_header=False,
        date_header=False,
    )


def _serve(app: Any, host: str, port: int, *, fast: bool, on_started: Any) -> None:
    from tradepipe.local.http_server import QuietServer

    config = server_config(app, host, port, fast=fast)
    server = QuietServer(config)

    def announce() -> None:
        while not server.started and not server.should_exit:
            threading.Event().wait(0.02)
        if server.started:
            on_started()

    threading.Thread(target=announce, daemon=True).start()
    server.run()


def run_intake(args: argparse.Namespace, state_dir: Path) -> int:
    from tradepipe import composition
    from tradepipe.adapters.sqlite.inbox import InboxMetrics
    from tradepipe.local.runtime.intake import GroupCommitter, IntakeApp
    from tradepipe.local.runtime.thread_names import show_name
    from tradepipe.local.runtime.wakeup import Waker

    inbox = composition.sqlite_backend().inbox
    waker = Waker(doorbell_path(state_dir))
    committer = GroupCommitter(inbox.db, composition.local_intake_deps(), waker, InboxMetrics(inbox))
    committer.start()
    show_name(committer)  # its CPU told apart from the event loop's (`top -H`)
    _serve(IntakeApp(committer), args.host, args.port, fast=True, on_started=lambda: ready(port=args.port))
    committer.stop()
    return 0


def run_workers(args: argparse.Namespace, state_dir: Path) -> int:
    from tradepipe import composition
    from tradepipe.local.runtime.search_rebuild import ensure_templates, needs_rebuild, rebuild
    from tradepipe.local.runtime.wakeup import Doorbell
    from tradepipe.local.runtime.workers import Workers

    doorbell = Doorbell(doorbell_path(state_dir))
    workers = Workers(
        composition.sqlite_backend(), doorbell, pollers=args.pollers, schedule_s=args.schedule_s
    )
    doorbell.on_command = workers.scheduler.run_now
    # OpenSearch is derived data: templates at every start, the indices rebuilt when missing or behind.
    ensure_templates()
    if needs_rebuild():
        rebuild()
    workers.warm_up()
    workers.start()
    ready()
    _wait_for_stop()
    workers.stop()
    return 0


def run_operator(args: argparse.Namespace, state_dir: Path) -> int:
    from tradepipe.local.runtime.operator_api import build_operator_app
    from tradepipe.local.runtime.state_dir import StateDir

    app = build_operator_app(StateDir(state_dir).operator_token())
    _serve(app, args.host, args.port, fast=False, on_started=lambda: ready(port=args.port))
    return 0


def main(argv: list[str] | None = None) -> int:
    from tradepipe.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m tradepipe.local.runtime")
    parser.add_argument("role", choices=["intake", "workers", "operator"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pollers", type=int, default=2)
    parser.add_argument("--schedule-s", type=float, default=60.0)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    die_with_parent()
    settings = get_settings()
    if settings.backend != "sqlite" or not settings.state_dir:
        raise SystemExit("the runtime's processes need TRADEPIPE_BACKEND=sqlite and TRADEPIPE_STATE_DIR")
    state_dir = Path(settings.state_dir)
    configure_logging(state_dir, args.role, args.log_level)
    run = {"intake": run_intake, "workers": run_workers, "operator": run_operator}[args.role]
    return run(args, state_dir)

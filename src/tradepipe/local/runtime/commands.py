"""The runtime's commands: `tradepipe local`, `tradepipe demo`, `tradepipe secrets show`, `tradepipe reindex`.
The CLI only parses arguments and calls these."""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from tradepipe.local.runtime.state_dir import DEFAULT_STATE_DIR, StateDir
from tradepipe.local.runtime.supervisor import LocalConfig, Supervisor

DEMO_STATE_DIR = Path(".tradepipe") / "demo"


def add_local_arguments(parser: argparse.ArgumentParser, *, demo: bool = False) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEMO_STATE_DIR if demo else DEFAULT_STATE_DIR,
        help="where the runtime keeps its database, secrets and logs"
        + (" (the demo empties it first)" if demo else " (default .tradepipe, created 0700)"),
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="webhook port, the one to tunnel (default 8000)"
    )
    parser.add_argument(
        "--operator-port", type=int, default=8002, help="live page, read API, kill switch (default 8002)"
    )
    parser.add_argument("--broker-port", type=int, default=8001, help="local paper broker (default 8001)")
    parser.add_argument("--search-port", type=int, default=9200, help="osmem, OpenSearch-compatible (9200)")
    parser.add_argument("--verbose", action="store_true", help="logs at INFO (in <state-dir>/logs)")
    parser.add_argument(
        "--broker-behaviour",
        choices=["alpaca", "instant"],
        # The demo too runs the Alpaca behaviour (always open, said in its summary); `instant` remains for
        # tests of the broker itself.
        default="alpaca",
        help="the local paper broker: alpaca (asynchronous fills and cancels, 200 requests a minute, NYSE "
        "hours) or instant (fills and cancels inside the request, no rate limit, always open)",
    )
    if demo:
        parser.add_argument("--ephemeral", action="store_true", help="free ports instead of the defaults")
        return
    parser.add_argument(
        "--alpaca",
        choices=["local", "paper"],
        default="local",
        help="local: the embedded paper broker; paper: Alpaca's paper API (keys from the secrets file or "
        "APCA_API_KEY_ID / APCA_API_SECRET_KEY)",
    )
    parser.add_argument(
        "--broker-url",
        default=None,
        help="an Alpaca-compatible paper endpoint already running (keys from the secrets file or the "
        "environment) instead of starting the local broker",
    )
    parser.add_argument(
        "--risk-config", default=None, help="risk profiles (TOML, as src/tradepipe/config/risk.toml)"
    )
    parser.add_argument("--passphrase", default=None, help="set the `default` webhook passphrase")
    parser.add_argument(
        "--always-open", action="store_true", help="the local broker's market never closes (demos at night)"
    )
    parser.add_argument(
        "--request-budget",
        type=int,
        default=150,
        metavar="PER_MINUTE",
        help="trading-API requests a minute for the whole pipeline, 30 at once (default 150 of Alpaca's "
        "200; lower it when other programs use the same keys; 0 switches the budget off)",
    )
    parser.add_argument(
        "--broker-snapshot-age",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="the risk stage reads account, positions and clock at most once per this many seconds "
        "(default 5; 0 reads them for every signal)",
    )


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _wait_for_signal(seconds: float | None = None) -> None:
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait(seconds)


def announce(sup: Supervisor) -> None:
    _say(f"tradepipe local is running (state in {sup.state.path}, Ctrl-C to stop)")
    _say(f"  webhook      POST {sup.webhook_url}   <- tunnel this port, and only this one")
    _say(f"  live page    {sup.page_url}")
    _say(f"  broker       {sup.broker_url or 'Alpaca paper API'}")
    _say(f"  opensearch   {sup.search_url}")
    _say("  secrets      `tradepipe secrets show` (passphrase, keys); never served on any port")


def cmd_local(args: argparse.Namespace) -> int:
    config = LocalConfig(
        state_dir=args.state_dir,
        webhook_port=args.port,
        operator_port=args.operator_port,
        broker_port=args.broker_port,
        search_port=args.search_port,
        alpaca=args.alpaca,
        broker_url=args.broker_url,
        risk_config_path=args.risk_config,
        passphrase=args.passphrase,
        always_open=args.always_open,
        broker_behaviour=args.broker_behaviour,
        request_budget_per_minute=args.request_budget,
        broker_snapshot_age_s=args.broker_snapshot_age,
        log_level="INFO" if args.verbose else "WARNING",
    )
    sup = Supervisor(config).start()
    try:
        announce(sup)
        _wait_for_signal()
    finally:
        sup.stop()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from tradepipe.local.demo import run_demo

    state_dir: Path = args.state_dir
    # A state directory of its own, emptied first: the summary is the same on every run.
    shutil.rmtree(state_dir, ignore_errors=True)
    common: dict[str, Any] = {
        "log_level": "WARNING",
        "broker_behaviour": args.broker_behaviour,
        # The demo runs at any hour: the local broker's market is always open, and says so below.
        "always_open": True,
        "schedule_s": 3600.0,
    }
    if args.ephemeral:
        config = LocalConfig.ephemeral(state_dir, **common)
    else:
        config = LocalConfig(
            state_dir=state_dir,
            webhook_port=args.port,
            operator_port=args.operator_port,
            broker_port=args.broker_port,
            search_port=args.search_port,
            **common,
        )
    with Supervisor(config) as sup:
        _say(
            f"embedded runtime up (state {state_dir}; the paper broker's market is always open for the demo)"
        )
        announce(sup)
        report = run_demo(sup, timeout_s=args.timeout)
        _say(report.render())
        path = _demo_report(sup)
        _say(f"report: {path}")
        _hold(sup, args)
    return 0 if report.ok else 1


def _demo_report(sup: Supervisor) -> Path:
    """The demo's records as one self-contained HTML report; its daily performance snapshots go to the local
    OpenSearch (performance-daily), as `tradepipe report --publish-snapshots` would."""
    from tradepipe.analytics.report.build import write_records_report
    from tradepipe.analytics.sqlite_records import SqliteRecords

    path, _ = write_records_report(
        sup.settings,
        (sup.state.path / "demo-report.html").resolve(),
        search=sup.search_index(),
        source=SqliteRecords(sup.backend().db),
    )
    return path


def _hold(sup: Supervisor, args: argparse.Namespace) -> None:
    if args.no_hold or (args.hold is None and not sys.stdout.isatty()):
        _say("runtime stopped (`make demo` in a terminal keeps the page up)")
        return
    until = "Ctrl-C to stop" if args.hold is None else f"up for {args.hold:g} s, Ctrl-C to stop sooner"
    _say(f"page: {sup.page_url} ({until})")
    _wait_for_signal(args.hold)


def cmd_secrets_show(args: argparse.Namespace) -> int:
    from tradepipe.adapters.sqlite.secrets_file import LocalSecrets

    state = StateDir(args.state_dir)
    if not state.secrets_file.exists():
        _say(f"no secrets yet in {state.path}: `tradepipe local` creates them on first start")
        return 1
    state.check_private()
    _say(json.dumps(LocalSecrets(state.secrets_file).document().plain(), indent=2))
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    """Rebuild the search indices from the database, in this process, against the running runtime's search
    server (through the same settings its processes have)."""
    import os

    state = StateDir(args.state_dir)
    info = state.read_runtime()
    if info is None:
        _say(f"no running runtime in {state.path}")
        return 1
    from tradepipe import composition
    from tradepipe.local.runtime.search_rebuild import rebuild
    from tradepipe.settings import Settings

    settings = Settings.explicit(
        backend="sqlite", state_dir=str(state.path), opensearch_endpoint=info.search_url, stage="local"
    )
    os.environ.update(settings.to_environment())
    composition.reset()
    _say(f"reindexed {rebuild()} records into {info.search_url}")
    return 0

"""`tradepipe local` and `tradepipe demo`: the embedded default on this machine."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from tradepipe.cli.output import say as _say

DEMO_REPORT = Path(".tradepipe") / "demo-report.html"


def register(sub: Any) -> None:
    local = sub.add_parser("local", help="run the whole pipeline on this machine until Ctrl-C")
    local.add_argument("--port", type=int, default=8000, help="API port (default 8000)")
    local.add_argument("--broker-port", type=int, default=8001, help="paper broker port (default 8001)")
    local.add_argument("--search-port", type=int, default=9200, help="OpenSearch port (default 9200)")
    local.add_argument("--aws-port", type=int, default=4566, help="moto (AWS) port (default 4566)")
    local.add_argument(
        "--alpaca",
        choices=["local", "paper"],
        default="local",
        help="local: the embedded paper broker; paper: Alpaca's paper API (keys from "
        "APCA_API_KEY_ID / APCA_API_SECRET_KEY)",
    )
    local.add_argument("--passphrase", default=None, help="webhook passphrase (default: a new random one)")
    local.add_argument("--verbose", action="store_true", help="handler logs at INFO")
    local.set_defaults(func=_cmd_local)
    demo = sub.add_parser("demo", help="start the embedded stack, replay the bundled alerts, print a summary")
    demo.add_argument("--ephemeral", action="store_true", help="free ports instead of 8000/8001/9200/4566")
    demo.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for signals to settle")
    hold = demo.add_mutually_exclusive_group()
    hold.add_argument(
        "--hold", type=float, metavar="SECONDS", help="keep the page up this long after the summary"
    )
    hold.add_argument("--no-hold", action="store_true", help="exit right after the summary")
    demo.set_defaults(func=_cmd_demo)


def _cmd_local(args: argparse.Namespace) -> int:
    from tradepipe.local.stack import LocalConfig, LocalStack

    config = LocalConfig(
        api_port=args.port,
        broker_port=args.broker_port,
        search_port=args.search_port,
        aws_port=args.aws_port,
        alpaca=args.alpaca,
        passphrase=args.passphrase,
        log_level="INFO" if args.verbose else "WARNING",
    )
    stack = LocalStack(config).start()
    _say(f"tradepipe local is running (stage {config.stage}, Ctrl-C to stop)")
    _say(f"  live page    {stack.page_url}")
    _say(f"  webhook      POST {stack.api_url}/webhook")
    _say(
        f"  paper broker {stack.broker_url}"
        if config.alpaca == "local"
        else "  broker       Alpaca paper API"
    )
    _say(f"  opensearch   {stack.search_url}")
    _say(f"  aws (moto)   {stack.aws_url}")
    _say(f"  passphrase   {stack.passphrase}")
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    stack.stop()
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from tradepipe.local.demo import run_demo
    from tradepipe.local.stack import LocalConfig, LocalStack

    # Handler logs stay quiet so the summary reads cleanly; `tradepipe local --verbose` shows them.
    config = LocalConfig.ephemeral(log_level="ERROR") if args.ephemeral else LocalConfig(log_level="ERROR")
    with LocalStack(config) as stack:
        _say(
            f"embedded stack up: page {stack.page_url}, webhook {stack.api_url}/webhook, "
            f"broker {stack.broker_url}, opensearch {stack.search_url}"
        )
        report = run_demo(stack, timeout_s=args.timeout)
        _say(report.render())
        _say(f"report: {_demo_report()}")
        _hold(stack.page_url, args)
    return 0 if report.ok else 1


def _demo_report() -> Path:
    """The demo's own records as one self-contained HTML report; its daily performance snapshots go to the
    local OpenSearch (performance-daily) as they would from `tradepipe report --publish-snapshots`."""
    from tradepipe import composition
    from tradepipe.analytics.report import write_records_report
    from tradepipe.settings import get_settings

    return write_records_report(get_settings(), DEMO_REPORT.resolve(), search=composition.search_index())


def _hold(page_url: str, args: argparse.Namespace) -> None:
    """Keep the stack (and the live page) up after the summary: --hold SECONDS, or until Ctrl-C when run
    in a terminal; --no-hold or a non-interactive run exits at once."""
    if args.no_hold or (args.hold is None and not sys.stdout.isatty()):
        _say(f"page was: {page_url} (stack stopped; `make demo` in a terminal keeps it up)")
        return
    until = "Ctrl-C to stop" if args.hold is None else f"up for {args.hold:g} s, Ctrl-C to stop sooner"
    _say(f"page: {page_url} ({until})")
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait(args.hold)

"""The `tradepipe` command: the embedded default and the operator's tools."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tradepipe import dashboards, signals_cli
from tradepipe.analytics import cli as analytics_cli


def _cmd_local(args: argparse.Namespace) -> int:
    from tradepipe.local.runtime.commands import cmd_local

    return cmd_local(args)


def _cmd_demo(args: argparse.Namespace) -> int:
    from tradepipe.local.runtime.commands import cmd_demo

    return cmd_demo(args)


def _cmd_secrets(args: argparse.Namespace) -> int:
    from tradepipe.local.runtime.commands import cmd_secrets_show

    return cmd_secrets_show(args)


def _cmd_reindex(args: argparse.Namespace) -> int:
    from tradepipe.local.runtime.commands import cmd_reindex

    return cmd_reindex(args)


def _cmd_status(args: argparse.Namespace) -> int:
    from tradepipe.local.runtime.discovery import operator_client
    from tradepipe.status_view import render_trail

    response = operator_client(args.state_dir, args.api).get(f"/signals/{args.signal_id}")
    if response.status_code == 404:
        _say(f"no signal {args.signal_id}")
        return 1
    response.raise_for_status()
    _say(render_trail(response.json()))
    return 0


def _cmd_state(args: argparse.Namespace) -> int:
    """halt / resume / reduce / state: the same authenticated route as the live page's buttons."""
    import getpass

    from tradepipe.local.runtime.discovery import operator_client

    client = operator_client(args.state_dir, args.api)
    url = f"/trading-state/{args.account}"
    if args.command == "state":
        response = client.get(url)
    else:
        to = {"halt": "HALTED", "resume": "ACTIVE", "reduce": "REDUCING"}[args.command]
        response = client.post(url, json={"state": to, "reason": args.reason, "by": getpass.getuser()})
    if response.status_code != 200:
        _say(f"failed: {response.status_code} {response.text}")
        return 1
    body = response.json()
    _say(
        f"{body['account']}: {body['state']}"
        + (f" ({body['rule']}: {body['detail']})" if body.get("rule") else "")
    )
    return 0


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tradepipe", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    from tradepipe.local.runtime.commands import add_local_arguments

    local = sub.add_parser("local", help="run the whole pipeline on this machine until Ctrl-C")
    add_local_arguments(local)
    local.set_defaults(func=_cmd_local)
    demo = sub.add_parser("demo", help="start the runtime on a fresh state dir, replay the bundled alerts")
    add_local_arguments(demo, demo=True)
    demo.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for signals to settle")
    hold = demo.add_mutually_exclusive_group()
    hold.add_argument(
        "--hold", type=float, metavar="SECONDS", help="keep the page up this long after the summary"
    )
    hold.add_argument("--no-hold", action="store_true", help="exit right after the summary")
    demo.set_defaults(func=_cmd_demo)
    secrets_cmd = sub.add_parser("secrets", help="`secrets show`: the local passphrases and keys")
    secrets_cmd.add_argument("action", choices=["show"])
    secrets_cmd.add_argument("--state-dir", type=Path, default=Path(".tradepipe"))
    secrets_cmd.set_defaults(func=_cmd_secrets)
    reindex = sub.add_parser("reindex", help="rebuild the search indices from the local database")
    reindex.add_argument("--state-dir", type=Path, default=Path(".tradepipe"))
    reindex.set_defaults(func=_cmd_reindex)
    status = sub.add_parser("status", help="print a signal's trail: received ... filled or rejected")
    status.add_argument("signal_id")
    status.add_argument(
        "--api", default=None, help="API base URL (default: the local runtime's operator port)"
    )
    status.add_argument("--state-dir", type=Path, default=Path(".tradepipe"))
    status.set_defaults(func=_cmd_status)
    signals_cli.register(sub)
    for name, text in (
        ("halt", "stop all trading (nothing goes through)"),
        ("reduce", "exits only"),
        ("resume", "back to ACTIVE (clears the losing streak)"),
        ("state", "print the trading state"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--account", choices=["paper", "live"], default="paper")
        cmd.add_argument(
            "--api", default=None, help="API base URL (default: the local runtime's operator port)"
        )
        cmd.add_argument("--state-dir", type=Path, default=Path(".tradepipe"))
        if name != "state":
            cmd.add_argument("--reason", default="", help="recorded with the switch")
        cmd.set_defaults(func=_cmd_state)
    dashboards.register(sub)
    analytics_cli.register(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Threads share HTTP clients in the embedded stack; urllib3's pool-size notices are noise there.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

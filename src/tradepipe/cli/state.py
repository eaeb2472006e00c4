"""`tradepipe halt|reduce|resume|state`: the kill switch, through the same route as the live page; and
`tradepipe flatten TICKER`: close a ticker's whole position, every strategy's shares (app/flatten.py)."""

from __future__ import annotations

import argparse
from typing import Any

from tradepipe.cli.output import say as _say
from tradepipe.cli.status import add_target_arguments


def register(sub: Any) -> None:
    for name, text in (
        ("halt", "stop all trading (nothing goes through)"),
        ("reduce", "exits only"),
        ("resume", "back to ACTIVE (clears the losing streak)"),
        ("state", "print the trading state"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--account", choices=["paper", "live"], default="paper")
        add_target_arguments(cmd)
        if name != "state":
            cmd.add_argument("--reason", default="", help="recorded with the switch")
        cmd.set_defaults(func=_cmd_state)
    flatten = sub.add_parser("flatten", help="close a ticker's whole position, every strategy's shares")
    flatten.add_argument("ticker")
    flatten.add_argument("--account", choices=["paper", "live"], default="paper")
    add_target_arguments(flatten)
    flatten.set_defaults(func=_cmd_flatten)


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


def _cmd_flatten(args: argparse.Namespace) -> int:
    import getpass

    from tradepipe.local.runtime.discovery import operator_client

    client = operator_client(args.state_dir, args.api)
    response = client.post(f"/flatten/{args.account}", json={"ticker": args.ticker, "by": getpass.getuser()})
    if response.status_code != 202:
        _say(f"failed: {response.status_code} {response.text}")
        return 1
    body = response.json()
    _say(f"{body['account']} {body['ticker']}: flatten sent (signal {body['signal_id']})")
    return 0

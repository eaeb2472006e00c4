"""`tradepipe follow-open-orders`: once, at the deploy that adds the reconciler's index of open orders on AWS,
put the orders written before it that may still change in the index (the SQLite runtime's migration does
the same by itself)."""

from __future__ import annotations

import argparse
from typing import Any

from tradepipe.cli.output import say


def register(sub: Any) -> None:
    cmd = sub.add_parser(
        "follow-open-orders",
        help="AWS, once at deploy: index the orders written before the reconciler's open-orders index",
    )
    cmd.set_defaults(func=_cmd_follow)


def _cmd_follow(args: argparse.Namespace) -> int:
    from tradepipe.adapters.dynamodb import DynamoOrderStore
    from tradepipe.composition import backend

    store = backend().order_store
    if not isinstance(store, DynamoOrderStore):
        say("nothing to do: the SQLite runtime's database migrates itself")
        return 0
    say(f"{store.follow_unsettled()} order(s) followed by the reconciler from now on")
    return 0

"""The `tradepipe` command: the embedded default and the operator's tools, one module per command group."""

from __future__ import annotations

import argparse
import logging

from tradepipe.cli import analytics, dashboards, local, notify, orders, signals, state, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tradepipe", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (local, status, signals, state, dashboards, analytics, notify, orders):
        group.register(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Threads share HTTP clients in the embedded stack; urllib3's pool-size notices are noise there.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    return int(args.func(args))

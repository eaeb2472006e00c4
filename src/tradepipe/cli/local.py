"""`tradepipe local`, `tradepipe demo`, `tradepipe secrets show`, `tradepipe reindex`: the single-machine
runtime (local/runtime/commands.py does the work)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tradepipe.local.runtime.state_dir import DEFAULT_STATE_DIR


def register(sub: Any) -> None:
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
    secrets_cmd.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    secrets_cmd.set_defaults(func=_cmd_secrets)
    reindex = sub.add_parser("reindex", help="rebuild the search indices from the local database")
    reindex.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    reindex.set_defaults(func=_cmd_reindex)


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

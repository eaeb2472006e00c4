"""`tradepipe notify test`: one test message to every configured channel, and which of them answered.

Channels come from where the notifier reads them: `TRADEPIPE_NOTIFY_URLS`, else the runtime's secrets file
(`notify_urls` in <state-dir>/secrets.json), else the Secrets Manager secret `TRADEPIPE_NOTIFY_SECRET_NAME`
(a deployed stage). Each channel is named by its kind and id (a digest), never by its URL: the URL holds
the token. Exit status 1 when any channel failed or none is configured.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tradepipe.cli.output import say
from tradepipe.local.runtime.state_dir import DEFAULT_STATE_DIR


def register(sub: Any) -> None:
    notify = sub.add_parser("notify", help="`notify test`: check the notification channels")
    actions = notify.add_subparsers(dest="notify_action", required=True)
    test = actions.add_parser("test", help="send a test message to every configured channel")
    test.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="the local runtime's")
    test.set_defaults(func=_cmd_test)


def _cmd_test(args: argparse.Namespace) -> int:
    from tradepipe import composition
    from tradepipe.notify.sources import NotifyConfigError
    from tradepipe.notify.use_cases import send_test_message

    try:
        deps = composition.notify_check_deps(args.state_dir / "secrets.json")
    except NotifyConfigError as error:
        say(f"notification config: {error}")
        return 1
    if not deps.channels:
        say(
            "no notification channels configured: set TRADEPIPE_NOTIFY_URLS, or notify_urls in "
            f"{args.state_dir / 'secrets.json'}"
        )
        return 1
    checks = send_test_message(deps)
    for check in checks:
        mark = "ok    " if check.answered else "FAILED"
        say(f"{mark} {check.kind.value:<8} {check.channel_id}: {check.detail}")
    failed = sum(not c.answered for c in checks)
    say(f"{len(checks) - failed} of {len(checks)} channels answered")
    return 1 if failed else 0

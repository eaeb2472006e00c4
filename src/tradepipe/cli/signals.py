"""`tradepipe signals [--tail]`: the read API (`GET /signals`) in a terminal.

Without --tail: one page, newest first. With --tail: the newest rows oldest first, then every new signal
and every status change as it happens, until Ctrl-C. Each poll re-reads from the oldest signal still in
flight (at most TAIL_LOOKBACK back), so a row that moves on later is printed again with its new status."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tradepipe.cli.output import say as _say
from tradepipe.cli.status import add_target_arguments

TERMINAL = frozenset({"FILLED", "COMPLETED", "REJECTED", "ENTRY_NOT_FILLED"})
TAIL_LOOKBACK = timedelta(minutes=10)
MAX_PAGES_PER_POLL = 10
HEADER = "time(UTC) mode   side ticker  size            status     signal_id                         reason"
Fetch = Callable[[dict[str, str]], dict[str, Any]]


def register(sub: Any) -> None:
    cmd = sub.add_parser("signals", help="list signals newest first (GET /signals); --tail follows them")
    cmd.add_argument("--tail", action="store_true", help="keep printing new signals and status changes")
    cmd.add_argument("--status", help="e.g. FILLED, REJECTED")
    cmd.add_argument("--ticker")
    cmd.add_argument("--strategy")
    cmd.add_argument("--mode", choices=["paper", "live"])
    cmd.add_argument("--since", help="ISO time with a zone, e.g. 2024-05-01T13:30:00Z")
    cmd.add_argument("--limit", type=int, default=20, help="rows per page (default 20)")
    cmd.add_argument("--page-token", help="go on from a previous page's next_token")
    cmd.add_argument("--interval", type=float, default=1.0, help="seconds between polls with --tail")
    add_target_arguments(cmd)
    cmd.set_defaults(func=run)


class ApiError(Exception):
    pass


def _http_fetch(state_dir: Path, api: str | None) -> Fetch:
    from tradepipe.local.runtime.discovery import operator_client

    client = operator_client(state_dir, api)

    def fetch(params: dict[str, str]) -> dict[str, Any]:
        response = client.get("/signals", params=params)
        if response.status_code != 200:
            raise ApiError(f"{response.status_code} {response.text}")
        body: dict[str, Any] = response.json()
        return body

    return fetch


def _filters(args: argparse.Namespace) -> dict[str, str]:
    names = ("status", "ticker", "strategy", "mode", "since")
    return {name: str(getattr(args, name)) for name in names if getattr(args, name)}


def run(
    args: argparse.Namespace, fetch: Fetch | None = None, out: Callable[[str], None] | None = None
) -> int:
    fetch = fetch or _http_fetch(args.state_dir, args.api)
    say = out or _say
    try:
        if not args.tail:
            params = _filters(args) | {"limit": str(args.limit)}
            if args.page_token:
                params["page_token"] = args.page_token
            page = fetch(params)
            say(HEADER)
            for item in page["items"]:
                say(render_signal_row(item))
            if page.get("next_token"):
                say(f"more: --page-token {page['next_token']}")
            return 0
        tail(args, fetch, say)
    except ApiError as exc:
        say(f"failed: {exc}")
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def tail(
    args: argparse.Namespace,
    fetch: Fetch,
    say: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    polls: int | None = None,
) -> None:
    """Follow the feed; `polls` bounds the loop (tests), None runs until Ctrl-C."""
    filters = _filters(args)
    first = fetch(filters | {"limit": str(args.limit)})["items"]
    shown: dict[str, tuple[str, str]] = {}  # signal_id -> (status, received_at)
    say(HEADER)
    for item in reversed(first):
        say(render_signal_row(item))
        shown[item["signal_id"]] = (item["status"], item["received_at"])
    done = 0
    while polls is None or done < polls:
        sleep(args.interval)
        done += 1
        for item in reversed(_window(filters, shown, fetch)):
            if shown.get(item["signal_id"], ("", ""))[0] != item["status"]:
                say(render_signal_row(item))
            shown[item["signal_id"]] = (item["status"], item["received_at"])


def _window(filters: dict[str, str], shown: dict[str, tuple[str, str]], fetch: Fetch) -> list[dict[str, Any]]:
    """Everything from the oldest signal still in flight (or the newest shown) onward, newest first."""
    floor = (datetime.now(UTC) - TAIL_LOOKBACK).isoformat()
    in_flight = [at for status, at in shown.values() if status not in TERMINAL and _iso(at) >= floor]
    newest = max((at for _, at in shown.values()), key=_iso, default=None)
    start = min(in_flight, key=_iso) if in_flight else newest
    params = dict(filters)
    asked = filters.get("since")
    if start is not None and (asked is None or _iso(start) > _iso(asked)):
        params["since"] = start
    items: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES_PER_POLL):
        page = fetch(params | {"limit": "200"})
        items += page["items"]
        if not page.get("next_token"):
            break
        params["page_token"] = page["next_token"]
    return items


def _iso(text: str) -> str:
    """A sortable UTC form of an ISO time ("Z" or "+00:00")."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).isoformat()


def render_signal_row(item: dict[str, Any]) -> str:
    """One line per signal for `tradepipe signals` (a row of `GET /signals`)."""
    at = str(item.get("received_at") or "")
    clock = at[11:19] if len(at) >= 19 else at
    size = (
        f"{item['filled_qty']} @ {item['filled_avg_price']}"
        if item.get("filled_qty")
        else str(item.get("qty") or "-")
    )
    why = ": ".join(str(item[k]) for k in ("reject_reason", "reject_detail") if item.get(k))
    cells = [
        clock,
        f"{item.get('mode') or '-':<5}",
        f"{item.get('side') or '-':<4}",
        f"{item.get('ticker') or '?':<6}",
        f"{size:<14}",
        f"{item['status']:<9}",
        item["signal_id"],
        why,
    ]
    return "  ".join(cells).rstrip()

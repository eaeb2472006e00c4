"""`tradepipe status SIGNAL_ID`: a signal's trail (received ... filled or rejected) in the terminal."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tradepipe.cli.output import say as _say


def register(sub: Any) -> None:
    status = sub.add_parser("status", help="print a signal's trail: received ... filled or rejected")
    status.add_argument("signal_id")
    add_target_arguments(status)
    status.set_defaults(func=_cmd_status)


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """Where operator commands send their requests: the running local runtime (found through its state
    directory: operator port and token), or an API base URL (API Gateway, where the routes need SigV4)."""
    parser.add_argument("--state-dir", type=Path, default=Path(".tradepipe"), help="the local runtime's")
    parser.add_argument("--api", default=None, help="an API base URL instead of the local runtime")


def _cmd_status(args: argparse.Namespace) -> int:
    from tradepipe.local.runtime.discovery import operator_client

    response = operator_client(args.state_dir, args.api).get(f"/signals/{args.signal_id}")
    if response.status_code == 404:
        _say(f"no signal {args.signal_id}")
        return 1
    response.raise_for_status()
    _say(render_trail(response.json()))
    return 0


def render_trail(trail: dict[str, Any]) -> str:
    head = " ".join(str(trail.get(k) or "") for k in ("action", "side", "ticker", "mode", "strategy")).split()
    lines = [f"signal {trail['signal_id']}  {trail['status']}  {' '.join(head)}"]
    if trail.get("qty"):
        lines.append(f"  qty {trail['qty']}")
    for entry in trail.get("trail", []):
        why = " ".join(str(entry.get(k)) for k in ("reason", "detail") if entry.get(k))
        lines.append(f"  {entry['at']}  {entry['status']:<10} {why}".rstrip())
    for error in trail.get("errors") or []:
        lines.append(f"  field {error['field']}: {error['message']}")
    for order in trail.get("orders", []):
        fill = (
            f" filled {order['filled_qty']} @ {order['filled_avg_price']}" if order.get("filled_qty") else ""
        )
        lines.append(
            f"  order {order['client_order_id']} ({order['purpose']}, {order['side']} {order['qty']}, "
            f"{order['order_class']}) alpaca {order.get('broker_order_id') or '-'}: {order['status']}{fill}"
        )
    return "\n".join(lines)

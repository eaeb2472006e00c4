"""`tradepipe status SIGNAL_ID`: a signal's trail (received ... filled or rejected) in the terminal."""

from __future__ import annotations

import argparse
from typing import Any

from tradepipe.cli.output import say as _say


def register(sub: Any) -> None:
    status = sub.add_parser("status", help="print a signal's trail: received ... filled or rejected")
    status.add_argument("signal_id")
    status.add_argument(
        "--api",
        default="http://127.0.0.1:8000",
        help="API base URL (default: the local stack; on AWS the read route needs SigV4)",
    )
    status.set_defaults(func=_cmd_status)


def _cmd_status(args: argparse.Namespace) -> int:
    import httpx

    response = httpx.get(f"{args.api.rstrip('/')}/signals/{args.signal_id}", timeout=10)
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

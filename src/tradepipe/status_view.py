"""A signal trail as text for the terminal (`tradepipe status`)."""

from __future__ import annotations

from typing import Any


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

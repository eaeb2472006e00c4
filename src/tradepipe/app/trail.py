"""signal_trail: what happened to one alert, from the tables (the source of truth)."""

from __future__ import annotations

from dataclasses import dataclass

from tradepipe.contracts.api import SignalTrail
from tradepipe.ports.stores import OrderStore, SignalStore


@dataclass(frozen=True)
class TrailDeps:
    signals: SignalStore
    orders: OrderStore


def signal_trail(signal_id: str, deps: TrailDeps) -> SignalTrail | None:
    item = deps.signals.get(signal_id)
    if item is None:
        return None
    # A reverse places the close first, then the open.
    ids = [coid for coid in (item.close_client_order_id, item.client_order_id) if coid]
    placed = [order for coid in dict.fromkeys(ids) if (order := deps.orders.get(coid)) is not None]
    return SignalTrail.build(item, placed)

"""signal_trail: what happened to one alert, from the tables (the source of truth)."""

from __future__ import annotations

from tradepipe.contracts.api import SignalTrail
from tradepipe.ports.stores import OrderStore, SignalStore


def signal_trail(signal_id: str, signals: SignalStore, orders: OrderStore) -> SignalTrail | None:
    item = signals.get(signal_id)
    if item is None:
        return None
    # A reverse places the close first, then the open.
    ids = [coid for coid in (item.close_client_order_id, item.client_order_id) if coid]
    placed = [order for coid in dict.fromkeys(ids) if (order := orders.get(coid)) is not None]
    return SignalTrail.build(item, placed)

"""What changed at the broker among the orders we follow: the reconciler's view, whatever an order's age.

The order store keeps an index of our orders that can still change (`OrderStore.working`: every order from the
moment it is recorded until its end and its legs' are recorded). One run reads it (a store query, no broker
request) and asks the broker once for everything still working (`GET /v2/orders?status=open&nested=true`,
up to 500 orders). A followed order whose family (the order and its legs) shows up there is still working;
one that does not has ended since the last run and is read once (`GET /v2/orders/{id}?nested=true`) for its
final state and its legs'. So a run costs 1 + (orders that ended since the last run) requests: an account
with a thousand settled orders costs what an empty one costs, and a GTC stop leg that triggers a month after
its entry is seen on the first run after it fills.

Legs are recorded on the entry's item when first seen nested (`OrderLeg`): Alpaca names a leg's parent only
when the leg is nested under it, so a leg listed on its own (or its fill activity) is known to be ours by its
recorded id. Crash-safe by construction: an order leaves the index only when the caller has recorded what
the sweep found (`finish`), so a run that dies half-way is read again by the next one.

Alpaca (Trading API reference, Orders): `GET /v2/orders` takes `status` open|closed|all, `limit` (default
50, at most 500) and `nested` ("if true, the result will roll up multi-leg orders under the legs field of
primary order"); `GET /v2/orders/{order_id}` takes `nested` too (alpaca-py: `GetOrdersRequest`,
`GetOrderByIdRequest`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from tradepipe.contracts.items import OrderItem, OrderLeg
from tradepipe.domain.model import Mode
from tradepipe.ports.broker import Broker, BrokerOrder
from tradepipe.ports.stores import OrderStore

# Alpaca's final order states (no further updates); PENDING_SUBMIT / REJECTED are ours, before the broker.
_FINAL = frozenset({"filled", "canceled", "expired", "rejected", "replaced"})
_NEVER_SENT = frozenset({"REJECTED", "rejected"})


@dataclass
class Sweep:
    """The broker's current word on every followed order (an entry first, then its legs, each leg naming the
    entry as its parent), and which followed orders have ended with all their legs."""

    orders: list[BrokerOrder] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)  # client order ids: stop following once recorded
    requests: int = 0  # broker requests the sweep spent


def sweep_followed(mode: Mode, broker: Broker, store: OrderStore) -> Sweep:
    sweep = Sweep()
    followed = {item.client_order_id: item for item in store.working(mode.value)}
    listed = broker.open_orders()
    sweep.requests += 1
    families = _families(listed)
    for coid in [c for c in families if c not in followed]:
        # Ours but not in the index: recorded before the index existed, or a moment ago (the DynamoDB index
        # is eventually consistent). Followed from now on.
        recorded = store.get(coid)
        if recorded is not None and recorded.mode is mode:
            store.record_working(coid, mode.value, recorded.legs)
            followed[coid] = recorded
    by_leg_id = {leg.broker_order_id: coid for coid, item in followed.items() for leg in item.legs}
    for leg in (o for o in listed if o.parent_client_order_id is None and o.broker_order_id in by_leg_id):
        # A leg listed on its own (its entry done): Alpaca does not say whose it is; the recorded legs do.
        families.setdefault(by_leg_id[leg.broker_order_id], []).append(leg)
    for coid, item in sorted(followed.items()):
        if item.broker_order_id is None:
            if item.status in _NEVER_SENT:
                sweep.ended.append(coid)  # refused before the broker knew it: nothing to follow
            continue  # not sent yet: the executor's (its redelivery looks it up by client order id)
        family = families.get(coid)
        if family is None or (_headless(item, family) and item.status not in _FINAL):
            # Ended since the last run; or only its legs are listed (Alpaca lists an entry whose legs work on
            # only when nested) while our record of the entry is not final yet: read it once.
            family = broker.order_family(item.broker_order_id)
            sweep.requests += 1
            if not family:
                continue  # unknown to the broker (a wrong account?): kept, and visible in the index
        family = _as_family(item, family)
        _record_legs(item, family, store)
        sweep.orders.extend(family)
        if all(o.status in _FINAL for o in family):
            sweep.ended.append(coid)
    return sweep


def finish(sweep: Sweep, store: OrderStore) -> None:
    """Stop following what ended: call only after everything the sweep found is recorded."""
    for coid in sweep.ended:
        store.record_done(coid)


def _families(listed: list[BrokerOrder]) -> dict[str, list[BrokerOrder]]:
    """Open orders by the client order id of their entry: the entry, then its nested legs."""
    families: dict[str, list[BrokerOrder]] = {}
    for order in listed:
        if order.parent_client_order_id is None:
            families.setdefault(order.client_order_id, []).insert(0, order)
        else:
            families.setdefault(order.parent_client_order_id, []).append(order)
    return families


def _headless(item: OrderItem, family: list[BrokerOrder]) -> bool:
    return all(o.broker_order_id != item.broker_order_id for o in family)


def _as_family(item: OrderItem, family: list[BrokerOrder]) -> list[BrokerOrder]:
    """The entry first, every other member a leg naming the entry as its parent."""
    head = [o for o in family if o.broker_order_id == item.broker_order_id]
    legs = [
        replace(o, parent_client_order_id=item.client_order_id)
        for o in family
        if o.broker_order_id != item.broker_order_id
    ]
    return [*head, *legs]


def _record_legs(item: OrderItem, family: list[BrokerOrder], store: OrderStore) -> None:
    seen = [
        OrderLeg(
            broker_order_id=o.broker_order_id, client_order_id=o.client_order_id, order_type=o.order_type
        )
        for o in family
        if o.parent_client_order_id is not None
    ]
    known = {leg.broker_order_id for leg in item.legs}
    if any(leg.broker_order_id not in known for leg in seen):
        merged = [*item.legs, *(leg for leg in seen if leg.broker_order_id not in known)]
        store.record_working(item.client_order_id, item.mode.value, merged)

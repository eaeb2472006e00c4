"""What changed at the broker among the orders we follow: the reconciler's view, whatever an order's age.

The order store keeps an index of our orders that can still change (`OrderStore.working`: every order from
the moment it is recorded until its end and its legs' are recorded). One run reads it (a store query, no
broker request) and lists what is still working at the broker once (`GET /v2/orders?status=open&nested=false`,
up to 500 orders). A followed order with a member (itself or a recorded leg) in that list is still working;
one without has ended since the last run and is read once (`GET /v2/orders/{id}?nested=true`) for its final
state and its legs' (a simple order whose end we already recorded, as the executor does for a market order
that filled while it waited, is not read at all). So a run costs 1 + (orders that ended since the last run)
requests: an account with a thousand settled orders costs what an empty one costs, and a GTC stop leg that
triggers five weeks after its entry is seen on the first run after it fills.

Why un-nested, and why legs are recorded: Alpaca names a leg's entry only when the leg is nested under it,
and once a bracket's entry has filled its legs are no longer rolled up under it (`status=open&nested=true`
has been reported to return nothing for such a bracket, and `nested=false` to list the legs on their own:
alpacahq/alpaca-trade-api-js#80, #87). So the legs are recorded on the entry's item when first read nested
(`OrderLeg`), and a leg listed on its own, or its fill activity, is known to be ours by its recorded id.

Crash-safe by construction: an order leaves the index only when the caller has recorded what the sweep
found (`finish`), so a run that dies half-way is read again by the next one.

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

# Alpaca's final order states (no further updates).
_FINAL = frozenset({"filled", "canceled", "expired", "rejected", "replaced"})
# An order the broker never got: refused before the call (app/placement.py `rejected`), or a close found not
# needed (app/protective_close.py `not_sent`). `pending_submit` is the executor's until it is sent or refused.
_NEVER_SENT = frozenset({"rejected", "not_sent"})


@dataclass
class Sweep:
    """The broker's current word on every followed order (an entry first, then its legs, each leg naming the
    entry as its parent), and which followed orders have ended with all their legs."""

    orders: list[BrokerOrder] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)  # client order ids: stop following once recorded
    requests: int = 0  # broker requests the sweep spent
    # Every followed order's and recorded leg's broker id -> the entry's client order id: whose a fill is.
    owners: dict[str, str] = field(default_factory=dict)


def sweep_followed(mode: Mode, broker: Broker, store: OrderStore) -> Sweep:
    sweep = Sweep()
    followed = {item.client_order_id: item for item in store.working(mode.value)}
    listed = {o.broker_order_id: o for o in broker.working_orders()}
    sweep.requests += 1
    _follow_unfollowed(mode, listed, followed, store)
    for coid, item in sorted(followed.items()):
        if item.broker_order_id is None:
            if item.status in _NEVER_SENT:
                sweep.ended.append(coid)  # refused before the broker knew it: nothing to follow
            continue  # not sent yet: the executor's (its redelivery looks it up by client order id)
        family = _family_now(item, item.broker_order_id, listed, broker, sweep)
        if family is None:
            continue
        sweep.owners.update(dict.fromkeys((o.broker_order_id for o in family), coid))
        _record_legs(item, family, store)
        sweep.orders.extend(family)
        if all(o.status in _FINAL for o in family):
            sweep.ended.append(coid)
    return sweep


def _follow_unfollowed(
    mode: Mode, listed: dict[str, BrokerOrder], followed: dict[str, OrderItem], store: OrderStore
) -> None:
    """Working at the broker but not followed: another's order, a leg not recorded yet (read with its entry),
    or ours recorded before the index existed or a moment ago (the DynamoDB index is eventually consistent):
    ours are followed from now on."""
    known = {i.broker_order_id for i in followed.values()} | {
        leg.broker_order_id for i in followed.values() for leg in i.legs
    }
    for order in listed.values():
        if order.broker_order_id in known or order.client_order_id in followed:
            continue
        recorded = store.get(order.client_order_id)
        if recorded is not None and recorded.mode is mode:
            store.record_working(recorded.client_order_id, mode.value, recorded.legs)
            followed[recorded.client_order_id] = recorded


def _family_now(
    item: OrderItem, broker_order_id: str, listed: dict[str, BrokerOrder], broker: Broker, sweep: Sweep
) -> list[BrokerOrder] | None:
    """The order and its legs as the broker has them now, read only when the listing cannot tell; None:
    nothing to record (ended already recorded, or unknown to the broker)."""
    ids = [broker_order_id, *(leg.broker_order_id for leg in item.legs)]
    sweep.owners.update(dict.fromkeys(ids, item.client_order_id))
    family = [listed[i] for i in ids if i in listed]
    if not family and item.order_class == "simple" and item.status in _FINAL:
        # Done, no legs, and its end already recorded (by the executor, or by a run that died before
        # `finish`): nothing left to read.
        sweep.ended.append(item.client_order_id)
        return None
    if not family or (broker_order_id not in listed and item.status not in _FINAL):
        # Nothing of it works any more (it ended since the last run), or its entry ended and our record of
        # the entry is not final yet: read it once, with its legs.
        family = broker.order_family(broker_order_id)
        sweep.requests += 1
        if not family:
            return None  # unknown to the broker (a wrong account?): kept, and visible in the index
    return _as_family(item, family)


def finish(sweep: Sweep, store: OrderStore) -> None:
    """Stop following what ended: call only after everything the sweep found is recorded."""
    for coid in sweep.ended:
        store.record_done(coid)


def _as_family(item: OrderItem, family: list[BrokerOrder]) -> list[BrokerOrder]:
    """The entry first, every other member a leg naming the entry as its parent."""
    head = [o for o in family if o.broker_order_id == item.broker_order_id]
    legs = [
        replace(o, parent_client_order_id=item.client_order_id)
        for o in family
        if o.broker_order_id != item.broker_order_id
    ]
    return [*head, *legs]


def leg_records(order: BrokerOrder) -> list[OrderLeg] | None:
    """The legs an answer about `order` nests, as the order's item records them; None: it nests none (an
    update then leaves the recorded legs as they are)."""
    legs = [
        OrderLeg(
            broker_order_id=leg.broker_order_id,
            client_order_id=leg.client_order_id,
            order_type=leg.order_type,
        )
        for leg in order.legs
    ]
    return legs or None


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

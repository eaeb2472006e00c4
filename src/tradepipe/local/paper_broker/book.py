"""The order book: creating orders with their legs, finding them, their groups, and closing them.

A complex order is a group: the entry (or, for an OCO, the take-profit) and its legs. Docs "Orders at
Alpaca", Bracket Orders: "If any one of the orders is canceled, any remaining open order in the group is
canceled"; the exit legs "won't be active until the first order is completely filled"; "once one of the
exit orders is filled, the other is canceled".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from tradepipe.local.paper_broker.core import BrokerCore
from tradepipe.local.paper_broker.errors import not_found
from tradepipe.local.paper_broker.order_request import NewOrder, StopLoss
from tradepipe.local.paper_broker.render import asset_id
from tradepipe.local.paper_broker.state import (
    GroupRole,
    Order,
    OrderClass,
    OrderType,
    Side,
    Status,
)


def get(core: BrokerCore, order_id: str) -> Order:
    order = core.state.orders.get(order_id)
    if order is None:
        raise not_found("order not found")
    return order


def by_client_id(core: BrokerCore, client_order_id: str) -> Order:
    order_id = core.state.by_client_id.get(client_order_id)
    if order_id is None:
        raise not_found("order not found")
    return core.state.orders[order_id]


def root_of(core: BrokerCore, order: Order) -> Order:
    return order if order.parent_id is None else core.state.orders[order.parent_id]


def open_group(core: BrokerCore, order: Order) -> list[Order]:
    """The open members of `order`'s group (itself, its entry, its legs), oldest first."""
    root = root_of(core, order)
    members = [root, *(core.state.orders[i] for i in root.leg_ids)]
    if order not in members:  # a replacement not yet linked in
        members.append(order)
    return [m for m in members if m.is_open]


def hold_group(core: BrokerCore, order: Order) -> str:
    """One key per set of orders of which only one can fill: an exit pair, an order and its pending
    replacement. Shares are held once per key (the largest remaining quantity)."""
    if order.replaces is not None:
        replaced = core.state.orders.get(order.replaces)
        if replaced is not None and replaced.is_open:
            return hold_group(core, replaced)
    return min([order.id, *order.oco_peer_ids])


def register(core: BrokerCore, new: NewOrder, qty: Decimal, at: datetime) -> Order:
    """Create the order and its legs and index them; client ids are taken from here on, forever."""
    complex_order = new.order_class is not OrderClass.SIMPLE
    group_id = str(uuid.uuid4()) if complex_order else None

    def make(side: Side, order_type: OrderType, role: GroupRole | None, **prices: Decimal | None) -> Order:
        order = Order(
            id=str(uuid.uuid4()),
            client_order_id=str(uuid.uuid4()),
            symbol=new.symbol,
            asset_id=asset_id(new.symbol),
            side=side,
            type=order_type,
            order_class=new.order_class,
            time_in_force=new.time_in_force,
            qty=qty,
            submitted_at=at,
            updated_at=at,
            seq=core.state.take_seq(),
            group_id=group_id,
            group_role=role,
            limit_price=prices.get("limit_price"),
            stop_price=prices.get("stop_price"),
        )
        index(core, order)
        return order

    if new.order_class is OrderClass.OCO and new.take_profit and new.stop_loss:
        # An OCO is two exits and no entry: the take-profit limit is the top-level order; the stop-loss is
        # its leg, held while the take-profit works ("the take-profit order shows up as the parent order
        # while the stop-loss order appears as a child order").
        take_profit = new.take_profit.limit_price
        parent = make(new.side, OrderType.LIMIT, GroupRole.TAKE_PROFIT, limit_price=take_profit)
        stop_type, stop_prices = _stop_leg(new.stop_loss)
        stop = make(new.side, stop_type, GroupRole.STOP_LOSS, **stop_prices)
        stop.parent_id, stop.status, stop.awaiting_parent, stop.routed_status = (
            parent.id,
            Status.HELD,
            True,
            Status.HELD,
        )
        parent.leg_ids, parent.oco_peer_ids, stop.oco_peer_ids = [stop.id], [stop.id], [parent.id]
    else:
        role = GroupRole.ENTRY if complex_order else None
        parent = make(new.side, new.type, role, limit_price=new.limit_price, stop_price=new.stop_price)
        _attach_exit_legs(parent, new, make)
    if new.client_order_id is not None:
        del core.state.by_client_id[parent.client_order_id]
        parent.client_order_id = new.client_order_id
        core.state.by_client_id[new.client_order_id] = parent.id
    parent.notional = new.notional
    parent.extended_hours = new.extended_hours
    parent.position_intent = new.position_intent
    return parent


def index(core: BrokerCore, order: Order) -> None:
    core.state.orders[order.id] = order
    core.state.by_client_id[order.client_order_id] = order.id


def _attach_exit_legs(parent: Order, new: NewOrder, make: Callable[..., Order]) -> None:
    legs: list[Order] = []
    exit_side = new.side.opposite
    if new.take_profit is not None:
        take_profit = new.take_profit.limit_price
        legs.append(make(exit_side, OrderType.LIMIT, GroupRole.TAKE_PROFIT, limit_price=take_profit))
    if new.stop_loss is not None:
        stop_type, stop_prices = _stop_leg(new.stop_loss)
        legs.append(make(exit_side, stop_type, GroupRole.STOP_LOSS, **stop_prices))
    for leg in legs:
        leg.parent_id, leg.status, leg.awaiting_parent = parent.id, Status.HELD, True
        leg.oco_peer_ids = [other.id for other in legs if other is not leg]
        # Alpaca works the take-profit at the market and holds the stop of a pair itself.
        paired_stop = leg.group_role is GroupRole.STOP_LOSS and bool(leg.oco_peer_ids)
        leg.routed_status = Status.HELD if paired_stop else Status.NEW
    parent.leg_ids = [leg.id for leg in legs]


def _stop_leg(stop_loss: StopLoss) -> tuple[OrderType, dict[str, Decimal | None]]:
    """A stop-loss is a stop order, or a stop-limit when it carries a limit price."""
    order_type = OrderType.STOP if stop_loss.limit_price is None else OrderType.STOP_LIMIT
    return order_type, {"stop_price": stop_loss.stop_price, "limit_price": stop_loss.limit_price}


def close(order: Order, status: Status, at: datetime) -> None:
    """A terminal transition: no further event, part fill or rejection comes for the order."""
    order.status = status
    order.event, order.event_due = None, None
    order.fill_parts = []
    order.updated_at = at
    if status is Status.CANCELED:
        order.canceled_at = at
    elif status is Status.EXPIRED:
        order.expired_at = at
    elif status is Status.REJECTED:
        order.failed_at = at
    elif status is Status.REPLACED:
        order.replaced_at = at


def swap_in(core: BrokerCore, old: Order, new: Order) -> None:
    """Link a replacement into its old order's group (legs, exit-pair peers)."""
    if old.parent_id is not None:
        parent = core.state.orders[old.parent_id]
        parent.leg_ids = [new.id if i == old.id else i for i in parent.leg_ids]
    for leg_id in old.leg_ids:
        core.state.orders[leg_id].parent_id = new.id
    for peer_id in old.oco_peer_ids:
        peer = core.state.orders[peer_id]
        peer.oco_peer_ids = [new.id if i == old.id else i for i in peer.oco_peer_ids]
    new.parent_id, new.leg_ids, new.oco_peer_ids = old.parent_id, list(old.leg_ids), list(old.oco_peer_ids)

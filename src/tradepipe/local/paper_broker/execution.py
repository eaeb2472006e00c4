"""Executions: which orders a price move fills, the fills themselves, and what a fill sets off.

A sweep takes the symbol's orders that can trade in the current session, oldest first, keeps one per exit
pair (the shared daily-bar rule: the stop wins unless the take-profit filled at the open) and fills them.
A fill moves cash and the position, records a FILL activity and the day-trade ledger, cancels the exit
pair's other leg and wakes a filled entry's legs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum

from tradepipe.domain.daily_bar_fills import Bar, ExitLeg, pair_winner
from tradepipe.local.paper_broker import book, pdt
from tradepipe.local.paper_broker.accounting import apply_fill, settle_cash
from tradepipe.local.paper_broker.core import BrokerCore
from tradepipe.local.paper_broker.matching import Match, match
from tradepipe.local.paper_broker.state import Event, Fill, GroupRole, Order, Position, Status, TimeInForce


class Session(Enum):
    CLOSED = "closed"
    EXTENDED = "extended"  # pre-market or after-hours: only extended_hours limit orders trade
    REGULAR = "regular"


def session_at(core: BrokerCore, at: datetime) -> Session:
    if core.market.is_open(at):
        return Session.REGULAR
    return Session.EXTENDED if core.market.is_extended_open(at) else Session.CLOSED


def may_trade_in(order: Order, session: Session) -> bool:
    return session is Session.REGULAR or (session is Session.EXTENDED and order.extended_hours)


def sweep(
    core: BrokerCore, symbol: str, bar: Bar, at: datetime, session: Session, only: Iterable[str] | None = None
) -> None:
    """Execute what `bar` reaches among the symbol's orders that can trade now."""
    wanted = None if only is None else set(only)
    candidates = [
        o
        for o in core.state.open_orders(symbol)
        if o.can_trade and may_trade_in(o, session) and (wanted is None or o.id in wanted)
    ]
    matches: list[tuple[Order, Match]] = []
    for order in candidates:
        found = match(order, bar, core.quote_at)
        if found.stop_triggered and not order.stop_triggered:
            order.stop_triggered = True
            order.updated_at = at
        if found.fill_price is not None:
            matches.append((order, found))
    for order, found in _one_per_exit_pair(matches):
        if order.is_open and found.fill_price is not None:
            fill(core, order, next_part(order, at), found.fill_price, at)


def next_part(order: Order, at: datetime) -> Decimal:
    """How much of `order` this execution fills: all that is left, or the next part of an injected partial
    fill, in which case the one after is scheduled `part_delay_s` later."""
    if len(order.fill_parts) <= 1:
        order.fill_parts = []
        if order.event is Event.NEXT_PART:
            order.event, order.event_due = None, None
        return order.remaining_qty
    part = min(order.fill_parts.pop(0), order.remaining_qty)
    order.event, order.event_due = Event.NEXT_PART, at + timedelta(seconds=order.part_delay_s)
    return part


def fill(core: BrokerCore, order: Order, qty: Decimal, price: Decimal, at: datetime) -> None:
    """One execution of `qty` at `price` (a partial fill when qty < remaining), capped at what remains."""
    qty = min(qty, order.remaining_qty)
    if qty <= 0:
        return
    state = core.state
    previous = order.filled_qty
    order.filled_qty = previous + qty
    prior_cost = Decimal(0) if order.filled_avg_price is None else order.filled_avg_price * previous
    order.filled_avg_price = (prior_cost + price * qty) / order.filled_qty
    order.status = Status.FILLED if order.remaining_qty == 0 else Status.PARTIALLY_FILLED
    order.filled_at = at
    order.updated_at = at
    if order.status is Status.FILLED:
        order.event, order.event_due = None, None
    position = state.positions.setdefault(order.symbol, Position(order.symbol, order.asset_id))
    pdt.record_fill(state, order.symbol, position.qty, qty * order.side.sign, core.market.trading_day(at))
    apply_fill(position, order.side, qty, price)
    settle_cash(state.account, order.side, qty, price)
    if position.qty == 0:
        del state.positions[order.symbol]
    state.fills.append(
        Fill(
            id=_activity_id(at, len(state.fills)),
            order_id=order.id,
            symbol=order.symbol,
            side=order.side,
            qty=qty,
            price=price,
            transaction_time=at,
            cum_qty=order.filled_qty,
            leaves_qty=order.remaining_qty,
            order_status=order.status,
        )
    )
    _after_fill(core, order, at)


def _activity_id(at: datetime, seq: int) -> str:
    """Alpaca's shape, `<yyyymmddHHMMSSmmm>::<uuid>`, whose order is the activities' order (page tokens are
    positions in it). Many fills share one millisecond here (an open fills a whole book at one instant), so
    the uuid's first group is the fill's sequence number: ids sort in the order the fills happened."""
    return f"{at.strftime('%Y%m%d%H%M%S%f')[:-3]}::{seq:08x}{str(uuid.uuid4())[8:]}"


def _after_fill(core: BrokerCore, order: Order, at: datetime) -> None:
    state = core.state
    for peer_id in order.oco_peer_ids:
        peer = state.orders[peer_id]
        if not peer.is_open:
            continue
        if order.status is Status.FILLED:
            book.close(peer, Status.CANCELED, at)
        else:
            # "If the take-profit order is partially filled, the stop-loss order will be adjusted to the
            # remaining quantity."
            peer.qty = peer.filled_qty + order.remaining_qty
    if order.status is not Status.FILLED:
        return
    replacement = state.orders.get(order.replaced_by) if order.replaced_by else None
    if replacement is not None and not replacement.is_routed and replacement.is_open:
        # "If the existing open order is filled before the replacing (new) order reaches the execution
        # venue, the replacing (new) order is rejected."
        book.close(replacement, Status.REJECTED, at)
    for leg_id in order.leg_ids:
        leg = state.orders[leg_id]
        if leg.awaiting_parent and leg.is_open and order.group_role is GroupRole.ENTRY:
            leg.awaiting_parent = False
            leg.qty = order.filled_qty
            leg.status = leg.routed_status
            leg.updated_at = at


def _one_per_exit_pair(matches: list[tuple[Order, Match]]) -> list[tuple[Order, Match]]:
    """When both orders of an exit pair could fill on the same move, keep the one the shared daily-bar
    rule picks; other orders pass through. Oldest first."""
    groups: dict[str, list[tuple[Order, Match]]] = {}
    for order, found in matches:
        groups.setdefault(min([order.id, *order.oco_peer_ids]), []).append((order, found))
    kept: list[tuple[Order, Match]] = []
    for members in groups.values():
        if len(members) == 1:
            kept.append(members[0])
            continue
        by_role = {o.group_role: (o, m) for o, m in members}
        stop, target = by_role.get(GroupRole.STOP_LOSS), by_role.get(GroupRole.TAKE_PROFIT)
        winner = pair_winner(
            None if stop is None else stop[1].at_open, None if target is None else target[1].at_open
        )
        chosen = stop if winner is ExitLeg.STOP else target
        if chosen is not None:
            kept.append(chosen)
    return sorted(kept, key=lambda pair: pair[0].seq)


def cancel_if_immediate(core: BrokerCore, order: Order, at: datetime) -> None:
    """An IOC or FOK order that did not fill on arrival is canceled, with its legs (docs "Orders at
    Alpaca", Time in Force)."""
    if order.is_open and order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
        for member in book.open_group(core, order):
            book.close(member, Status.CANCELED, at)

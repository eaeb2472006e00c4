"""An order's life on the broker's own clock: routing, first execution, cancels, replaces, expiry.

Each open order carries at most one timed step (`Order.event`, due at `Order.event_due`); the account
carries the next session closes. `apply_due(now)` runs every step whose time has come, oldest first,
stamped with its own due time, before a request reads or changes anything: so what a request sees depends
only on the clock, never on how many requests came before, and a restart resumes where the clock is.

The steps (delays from `BrokerBehaviour`; Alpaca's statuses, docs "Orders at Alpaca", Order Lifecycle):
- accepted: `pending_new` inside its session, `accepted` outside ("Orders not eligible for extended
  hours submitted after 4:00pm ET will be queued up for release the next trading day"); ROUTE makes it
  `new` (`held` for a held leg) `ack_delay_s` later, or at the next open;
- EXECUTE: `fill_delay_s` after routing the order meets the market: a market order fills at the quote, a
  limit fills if marketable, else rests; IOC/FOK leftovers are canceled;
- CANCEL: a cancel request makes the order and the open rest of its group `pending_cancel`; `canceled`
  `cancel_delay_s` later (held quantity is released only then: Alpaca-API#111). A pending cancel still
  fills if the market reaches it first;
- REPLACE: a replace request makes the order `pending_replace` and creates its replacement;
  `replace_delay_s` later the old order is `replaced` and the new one routes. If the old order fills
  first, the replacement is rejected (docs, Replace an order);
- session closes (NYSE hours): routed day orders expire at the close (extended-hours ones at 20:00), and
  the account's equity is taken as `last_equity`.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from tradepipe.domain.daily_bar_fills import Bar
from tradepipe.local.paper_broker import book, execution, rules
from tradepipe.local.paper_broker.core import BrokerCore
from tradepipe.local.paper_broker.errors import BrokerError, invalid, unprocessable
from tradepipe.local.paper_broker.order_request import Replacement
from tradepipe.local.paper_broker.state import (
    TERMINAL_STATUSES,
    Event,
    GroupRole,
    Order,
    OrderClass,
    OrderType,
    Side,
    Status,
    TimeInForce,
)

DAY_ORDERS = frozenset({TimeInForce.DAY, TimeInForce.OPG, TimeInForce.CLS})
REPLACEABLE = frozenset({Status.NEW, Status.ACCEPTED, Status.PENDING_NEW, Status.HELD})


def _after(at: datetime, seconds: float) -> datetime:
    return at + timedelta(seconds=seconds)


def schedule(order: Order, event: Event | None, due: datetime | None) -> None:
    order.event, order.event_due = event, due


# --- arrival -----------------------------------------------------------------------------------------


def queue(core: BrokerCore, order: Order, at: datetime) -> None:
    """A new order: `pending_new` and routed shortly when its session is open, else `accepted` until the
    session opens."""
    start = core.market.session_start(at, extended=order.extended_hours)
    order.status = Status.PENDING_NEW if start == at else Status.ACCEPTED
    order.updated_at = at
    schedule(order, Event.ROUTE, _after(start, core.behaviour.ack_delay_s))


def hold_for_rejection(core: BrokerCore, order: Order, at: datetime) -> None:
    """Injected asynchronous rejection: accepted, never routed, `rejected` after the fault's delay."""
    order.status = Status.ACCEPTED
    schedule(order, Event.REJECT, _after(at, core.faults.async_reject_delay_s))


# --- the clock -----------------------------------------------------------------------------------------


def apply_due(core: BrokerCore, now: datetime) -> None:
    """Run every step due at or before `now`, in due order (order steps before a close at the same time)."""
    state = core.state
    while True:
        due_orders = [
            o for o in state.orders.values() if o.event_due is not None and o.event_due <= now and o.is_open
        ]
        first = min(due_orders, key=lambda o: (o.event_due, o.seq), default=None)
        closes = [c for c in (state.next_close, state.next_extended_close) if c is not None and c <= now]
        close_at = min(closes, default=None)
        if (
            first is not None
            and first.event_due is not None
            and (close_at is None or first.event_due <= close_at)
        ):
            _step(core, first, first.event_due)
        elif close_at is not None:
            _close_session(core, close_at)
        else:
            return


def arm_session_closes(core: BrokerCore, now: datetime) -> None:
    """Keep the next closes scheduled under NYSE hours (none when the market never closes)."""
    state = core.state
    if core.market.always_open:
        state.next_close = state.next_extended_close = None
        return
    if state.next_close is None:
        state.next_close = core.market.next_close(now)
    if state.next_extended_close is None:
        state.next_extended_close = core.market.next_close(now, extended=True)


def _step(core: BrokerCore, order: Order, at: datetime) -> None:
    event = order.event
    schedule(order, None, None)
    if event is Event.ROUTE:
        _route(core, order, at)
    elif event is Event.EXECUTE:
        _execute(core, order, at)
    elif event is Event.NEXT_PART:
        _next_part(core, order, at)
    elif event is Event.REJECT:
        for member in book.open_group(core, order):
            book.close(member, Status.REJECTED, at)
    elif event is Event.CANCEL:
        book.close(order, Status.CANCELED, at)
    elif event is Event.REPLACE:
        _replace_done(core, order, at)


def _route(core: BrokerCore, order: Order, at: datetime) -> None:
    start = core.market.session_start(at, extended=order.extended_hours)
    if start > at:  # its session closed before the order got there: wait for the next open
        order.status = Status.ACCEPTED
        schedule(order, Event.ROUTE, _after(start, core.behaviour.ack_delay_s))
        return
    _at_market(core, order, at)
    schedule(order, Event.EXECUTE, _after(at, core.behaviour.fill_delay_s))


def _at_market(core: BrokerCore, order: Order, at: datetime) -> None:
    order.status = order.routed_status
    order.updated_at = at
    if order.order_class is OrderClass.OCO:  # the stop of an OCO works from the moment the pair routes
        for leg in (core.state.orders[i] for i in order.leg_ids):
            if leg.awaiting_parent and leg.is_open:
                leg.awaiting_parent, leg.status, leg.updated_at = False, leg.routed_status, at


def _execute(core: BrokerCore, order: Order, at: datetime) -> None:
    session = execution.session_at(core, at)
    if order.can_trade and execution.may_trade_in(order, session):
        execution.sweep(
            core, order.symbol, Bar.at(core.feed.price(order.symbol)), at, session, only={order.id}
        )
    execution.cancel_if_immediate(core, order, at)


def _next_part(core: BrokerCore, order: Order, at: datetime) -> None:
    session = execution.session_at(core, at)
    if not execution.may_trade_in(order, session):
        order.fill_parts = []  # the rest fills as one when its session next meets the order
        return
    price = core.quote(order.symbol).paid_by(order.side)
    if order.limit_price is not None and (
        price > order.limit_price if order.side is Side.BUY else price < order.limit_price
    ):
        # A limit's next part only at its price or better: past it, the rest rests (a later sweep fills it).
        order.fill_parts, order.event, order.event_due = [], None, None
        return
    execution.fill(core, order, execution.next_part(order, at), price, at)


def _close_session(core: BrokerCore, at: datetime) -> None:
    state = core.state
    regular, extended = at == state.next_close, at == state.next_extended_close
    if regular:
        state.account.last_equity = core.valuation().equity
        state.next_close = core.market.next_close(at)
    if extended:
        state.next_extended_close = core.market.next_close(at, extended=True)
    expire_day_orders(core, at, regular=regular, extended=extended)


def expire_day_orders(core: BrokerCore, at: datetime, *, regular: bool, extended: bool) -> None:
    """Routed day orders end at their session's close ("If unfilled after the closing auction, it is
    automatically canceled"; the broker marks them `expired`); extended-hours ones at the after-hours
    close. A dormant leg goes with its entry; an order still waiting for its session (`accepted`) stays."""
    for order in core.state.open_orders():
        if order.time_in_force not in DAY_ORDERS or not order.is_routed or order.awaiting_parent:
            continue
        if not (extended if order.extended_hours else regular) or not order.is_open:
            continue
        for member in book.open_group(core, order):
            book.close(member, Status.CANCELED if member.awaiting_parent else Status.EXPIRED, at)


# --- the simulated day (`/_paper/advance`) -------------------------------------------------------------


def end_of_market_day(core: BrokerCore, at: datetime) -> None:
    core.state.account.last_equity = core.valuation().equity
    expire_day_orders(core, at, regular=True, extended=True)


def open_market_day(core: BrokerCore, at: datetime) -> None:
    """A new bar is a new session: orders waiting to route or for their first execution are at the market
    for its open (a pending replacement keeps waiting for its old order)."""
    for order in core.state.open_orders():
        if order.event is Event.ROUTE:
            schedule(order, None, None)
            _at_market(core, order, at)
        elif order.event is Event.EXECUTE:
            schedule(order, None, None)


# --- cancel, replace -------------------------------------------------------------------------------------


def request_cancel(core: BrokerCore, order: Order, at: datetime) -> None:
    """`DELETE /v2/orders/{id}`: Alpaca answers 204 and carries the cancel out later; an order "may be
    canceled through the API up until the point it reaches a state of either filled, canceled, or expired"
    (422 otherwise, as for rejected and replaced), and one `pending_replace` "will reject cancel request"."""
    if order.status in TERMINAL_STATUSES or order.status is Status.PENDING_REPLACE:
        raise unprocessable(f'order is already in "{order.status.value}" state')
    for member in book.open_group(core, order):
        if member.status in (Status.PENDING_CANCEL, Status.PENDING_REPLACE):
            continue
        member.status, member.updated_at, member.fill_parts = Status.PENDING_CANCEL, at, []
        schedule(member, Event.CANCEL, _after(at, core.behaviour.cancel_delay_s))


def cancel_now(core: BrokerCore, order: Order, at: datetime) -> None:
    """Cancel at once, for the broker's own liquidations (`DELETE /v2/positions?cancel_orders=true`)."""
    for member in book.open_group(core, order):
        book.close(member, Status.CANCELED, at)


def request_replace(core: BrokerCore, order: Order, repl: Replacement, at: datetime) -> Order:
    """`PATCH /v2/orders/{id}`: a new order with the changed fields, the old one `pending_replace` until it
    is `replaced` (docs, Replace an order). Simple orders and the legs of brackets and OCOs can be replaced
    ("Order replacement ... is supported to update limit_price and stop_price"); OTO legs cannot ("order
    replacement is not supported yet")."""
    if order.status not in REPLACEABLE:
        raise unprocessable(f'order is already in "{order.status.value}" state')
    if order.order_class is OrderClass.OTO:
        raise unprocessable("oto orders cannot be replaced")
    if order.group_role is GroupRole.ENTRY:
        raise unprocessable("the entry of a bracket cannot be replaced: replace its legs")
    if repl.client_order_id is not None and repl.client_order_id in core.state.by_client_id:
        raise invalid("client_order_id must be unique")
    _check_prices_fit(order, repl)
    new = _replacement(core, order, repl, at)
    _check_replacement_qty(core, order, new)
    book.index(core, new)
    if repl.client_order_id is not None:
        del core.state.by_client_id[new.client_order_id]
        new.client_order_id = repl.client_order_id
        core.state.by_client_id[new.client_order_id] = new.id
    order.status, order.updated_at, order.replaced_by = Status.PENDING_REPLACE, at, new.id
    schedule(order, Event.REPLACE, _after(at, core.behaviour.replace_delay_s))
    return new


def _check_prices_fit(order: Order, repl: Replacement) -> None:
    if repl.limit_price is not None and order.type not in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        raise unprocessable(f"limit_price does not apply to a {order.type.value} order")
    if repl.stop_price is not None and order.type not in (OrderType.STOP, OrderType.STOP_LIMIT):
        raise unprocessable(f"stop_price does not apply to a {order.type.value} order")


def _replacement(core: BrokerCore, old: Order, repl: Replacement, at: datetime) -> Order:
    return dataclasses.replace(
        old,
        id=str(uuid.uuid4()),
        client_order_id=str(uuid.uuid4()),
        qty=repl.qty if repl.qty is not None else old.qty,
        time_in_force=repl.time_in_force or old.time_in_force,
        limit_price=repl.limit_price if repl.limit_price is not None else old.limit_price,
        stop_price=repl.stop_price if repl.stop_price is not None else old.stop_price,
        submitted_at=at,
        updated_at=at,
        seq=core.state.take_seq(),
        status=Status.PENDING_NEW,
        routed_status=old.status if old.status is Status.HELD else old.routed_status,
        filled_qty=Decimal(0),
        filled_avg_price=None,
        filled_at=None,
        replaces=old.id,
        replaced_by=None,
        leg_ids=[],
        oco_peer_ids=list(old.oco_peer_ids),
        event=None,
        event_due=None,
        fill_parts=[],
        stop_triggered=False,
    )


def _check_replacement_qty(core: BrokerCore, old: Order, new: Order) -> None:
    """A closing order may grow only into shares not held by other orders (its own are released)."""
    position_qty = core.position_qty(old.symbol)
    closing = position_qty != 0 and (position_qty > 0) != (old.side.sign > 0)
    if not closing or new.qty <= old.remaining_qty or not core.rules.held_qty:
        return
    others = [
        o for o in core.state.open_orders(old.symbol) if o.id != old.id and o.id not in old.oco_peer_ids
    ]
    rules.check_held_qty(
        old.symbol, old.side, new.qty, position_qty, others, lambda o: book.hold_group(core, o)
    )


def _replace_done(core: BrokerCore, old: Order, at: datetime) -> None:
    new = core.state.orders[old.replaced_by] if old.replaced_by else None
    if new is None or not new.is_open:
        return
    book.close(old, Status.REPLACED, at)
    book.swap_in(core, old, new)
    new.awaiting_parent = old.awaiting_parent
    if new.awaiting_parent:  # a dormant leg stays dormant under its new terms
        new.status, new.updated_at = Status.HELD, at
        return
    _route(core, new, at)


def set_rare_status(order: Order, status: Status, at: datetime) -> None:
    """The test hook behind `/_paper/orders/{id}/status`: park an open order in one of Alpaca's rare
    statuses (`done_for_day`, `stopped`, ...) or give it back its working status (`new`)."""
    if not order.is_open:
        raise BrokerError(409, 40910000, f'order is already in "{order.status.value}" state')
    if status is Status.NEW:
        status = Status.PARTIALLY_FILLED if order.filled_qty > 0 else order.routed_status
    order.status, order.updated_at = status, at
    schedule(order, None, None)

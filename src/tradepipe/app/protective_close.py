"""Closing a position without ever leaving it unprotected longer than the executor's own replacement.

At Alpaca a cancel is a request: the order is `pending_cancel` and still holds its shares until it is
`canceled` (Alpaca-API#111, alpaca-py#400), so a close sent at once meets 403 "insufficient qty available".
Here the ticker's orders are cancelled, read back (at `first_read_s`, again at `cancel_wait_s` while any is
open: app/read_back.py), and the close goes only when none is left open; otherwise the message is retried
(never a close against held shares). If the close is
refused (or a reverse's close ends unfilled), the stop is re-placed for the quantity held: protection is
restored before the signal is recorded rejected.

After hours an exit keeps the legs (they work at the open like the position's stop) and queues the close for
the open (QueuedCloses, released by the minute schedule). An exit cancels the ticker's pending entries and
drops its entry queued for the open, flat or not: a strategy that is flat must not be reopened by an entry
it sent earlier.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tradepipe.app.fill_events import exit_filled, record_exit
from tradepipe.app.lot_book import working
from tradepipe.app.placement import NotYet, PlacementDeps, place_close, place_stop, placed_update
from tradepipe.app.read_back import read_back, read_order_back
from tradepipe.contracts.items import OrderItem, OrderUpdate, StatusUpdate
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import RejectReason, Side
from tradepipe.domain.order_status import ENDED_UNFILLED, STOP_TYPES, is_terminal
from tradepipe.domain.protection import RestingOrder, closing_side, covering_stops
from tradepipe.domain.signal_id import sent_for_another_purpose
from tradepipe.ports.broker import Broker, BrokerOrder, BrokerRejected, HoldingView
from tradepipe.ports.clock import Clock
from tradepipe.ports.messaging import EventPublisher
from tradepipe.ports.risk_state import QueuedCloses, QueuedEntries, SymbolHistoryStore
from tradepipe.ports.stores import OrderStore, SignalStore

log = logging.getLogger(__name__)
NOT_SENT = "not_sent"  # a close recorded, then not needed: the position went flat while its legs cancelled


@dataclass(frozen=True)
class CloseDeps:
    signals: SignalStore
    orders: OrderStore
    clock: Clock
    placement: PlacementDeps
    history: SymbolHistoryStore | None
    queued: QueuedEntries | None
    closes: QueuedCloses | None
    events: EventPublisher | None
    sleep: Callable[[float], None]
    cancel_wait_s: float
    fill_wait_s: float
    first_read_s: float = 0.1  # the first read back of a cancel or a close (app/read_back.py)


def resting(order: BrokerOrder) -> RestingOrder:
    return RestingOrder(
        client_order_id=order.client_order_id,
        status=order.status,
        side=Side.SELL if order.side == "sell" else Side.BUY,
        order_type=order.order_type,
        qty=order.qty,
        filled_qty=order.filled_qty,
        stop_price=order.stop_price,
        parent_client_order_id=order.parent_client_order_id,
    )


def stop_in_force(held: Decimal, orders: Sequence[BrokerOrder]) -> Decimal | None:
    """The stop price of the position's working stop orders (the nearest, if there are several)."""
    prices = [o.stop_price for o in covering_stops(held, [resting(o) for o in orders]) if o.stop_price]
    if not prices:
        return None
    return max(prices) if held > 0 else min(prices)


def cancel_orders(broker: Broker, orders: Sequence[BrokerOrder]) -> int:
    """Ask for every working order's cancel (one already `pending_cancel` is asked once only); returns how
    many are on their way out."""
    asked = 0
    for order in orders:
        if is_terminal(order.status):
            continue
        if order.status != "pending_cancel":
            broker.cancel_order(order.broker_order_id)
        asked += 1
    return asked


def pending_entries(orders: Sequence[BrokerOrder]) -> list[BrokerOrder]:
    """Open orders that are not a position's protection: not a leg, not a stop, not an OCO's take-profit (an
    OCO's stop is listed as its leg, on the same side). Entries, and also a working close (an exit held by
    Alpaca for the open, a reverse's close, a flatten): what an entry or an exit waits for or replaces. A
    `cancel` alert takes only the entries among them (`cancelable_entries`)."""
    side_of = {o.client_order_id: o.side for o in orders}
    exit_pairs = {
        o.parent_client_order_id
        for o in orders
        if o.parent_client_order_id is not None and side_of.get(o.parent_client_order_id) == o.side
    }
    return [
        o
        for o in orders
        if o.parent_client_order_id is None
        and o.order_type not in STOP_TYPES
        and o.client_order_id not in exit_pairs
        and not is_terminal(o.status)
    ]


def cancelable_entries(orders: Sequence[BrokerOrder]) -> list[BrokerOrder]:
    """What a `cancel` alert cancels: the pending entries, never a close of ours (cancelling an exit held for
    the open would leave its shares with neither their close nor their stops, cancelled for the exit)."""
    return [o for o in pending_entries(orders) if not sent_for_another_purpose(o.client_order_id)]


def still_open_after_cancel(
    broker: Broker, symbol: str, deps: CloseDeps, among: Collection[str] | None = None
) -> list[BrokerOrder]:
    """The ticker's orders (those whose broker ids are `among`, if given) still open once the cancels just
    asked for are read back: at `first_read_s`, again at `cancel_wait_s` while any is (app/read_back.py)."""

    def open_now() -> list[BrokerOrder]:
        still = working(broker.open_orders(symbol))
        return still if among is None else [o for o in still if o.broker_order_id in among]

    return read_back(deps.sleep, deps.first_read_s, deps.cancel_wait_s, open_now, lambda still: not still)


def cancel_and_confirm(broker: Broker, symbol: str, orders: Sequence[BrokerOrder], deps: CloseDeps) -> None:
    """Cancel the ticker's orders and read back (at `first_read_s`, again at `cancel_wait_s` if any is still
    open): NotYet while any is still open (`pending_cancel` holds its shares)."""
    if not cancel_orders(broker, orders):
        return
    still = still_open_after_cancel(broker, symbol, deps)
    if still:
        statuses = ", ".join(sorted({o.status for o in still}))
        raise NotYet(f"{len(still)} {symbol} orders not yet canceled ({statuses}): the close waits for them")


def close_position(
    intent: OrderIntent, broker: Broker, deps: CloseDeps, exit_signal: bool = True
) -> BrokerOrder | str:
    """The close order (placed or found), or what happened instead: a detail for the signal's COMPLETED, or
    "" when the close is queued for the open (the signal stays SIZED until it is sent)."""
    coid = intent.close_client_order_id
    recorded = deps.orders.get(coid)
    placed = None if recorded is None else broker.find_order(coid)
    if placed is not None:
        _done_queued(intent, deps)
        return placed
    account, symbol = intent.mode.value, intent.symbol
    dropped = _drop_queued_entry(intent, deps) if exit_signal else ""
    orders = broker.open_orders(symbol)
    holding = broker.holdings().get(symbol)
    if holding is None or holding.qty == 0:
        count = cancel_orders(broker, orders)
        return f"no open {symbol} position to close; canceled {count} pending orders{dropped}"
    if exit_signal and deps.closes is not None and not broker.clock().is_open:
        cancel_orders(broker, pending_entries(orders))
        first = deps.closes.queue_close(account, symbol, intent.signal_id, deps.clock.now())
        if first != intent.signal_id:
            return f"market closed: the close queued for the open by {first} will flatten {symbol}{dropped}"
        log.info(
            "close queued for the open; the legs stay",
            extra={"ticker": symbol, "signal_id": intent.signal_id},
        )
        return ""
    if recorded is None:
        recorded = _close_item(intent, holding, stop_in_force(holding.qty, orders), deps.clock.now())
        deps.orders.record_intent(recorded)
    cancel_and_confirm(broker, symbol, orders, deps)
    holding = broker.holdings().get(symbol)  # an exit leg may have filled while it was pending_cancel
    if holding is None or holding.qty == 0:
        deps.orders.update(coid, OrderUpdate(status=NOT_SENT, updated_at=deps.clock.now()))
        _done_queued(intent, deps)
        return f"{symbol} went flat (an exit leg filled) while its orders were cancelled{dropped}"
    try:
        placed = place_close(intent, holding.qty, recorded, broker, deps.placement)
    except BrokerRejected as exc:
        restored = restore_protection(recorded, holding.qty, broker, deps)
        raise BrokerRejected(exc.code, f"{exc.message}; {restored}") from None
    _done_queued(intent, deps)
    return placed


def reverse_close(intent: OrderIntent, holding: HoldingView | None, broker: Broker, deps: CloseDeps) -> None:
    """The first half of a reverse: returns once the close has filled. NotYet while it is working (read at
    `first_read_s`, again at `fill_wait_s`); a close that ended unfilled restores protection and rejects the
    signal."""
    outcome = close_position(intent, broker, deps, exit_signal=False)
    if isinstance(outcome, str):
        return  # already flat: nothing to close
    coid = intent.close_client_order_id
    placed = read_order_back(broker, outcome, deps.sleep, deps.first_read_s, deps.fill_wait_s)
    deps.orders.update(coid, placed_update(placed, deps.clock.now()))
    recorded = deps.orders.get(coid)
    if placed.status == "filled":
        if recorded is not None:
            exit_learnt(recorded, placed, deps)
        return
    if placed.status in ENDED_UNFILLED or is_terminal(placed.status):
        restored = ""
        now_held = broker.holdings().get(intent.symbol)
        if recorded is not None and now_held is not None and now_held.qty != 0:
            restored = "; " + restore_protection(recorded, now_held.qty, broker, deps)
        raise BrokerRejected("close_failed", f"close order {coid} ended {placed.status}{restored}")
    raise NotYet(f"close order {coid} is {placed.status}: the reverse opens once it has filled")


def restore_protection(close: OrderItem, held: Decimal, broker: Broker, deps: CloseDeps) -> str:
    """Re-place the stop the cancelled legs carried, for the quantity still held."""
    if close.stop_loss is None:
        return "no stop was in force to restore (the reconciler reports the position)"
    item = OrderItem(
        client_order_id=f"{close.client_order_id}-stop",
        intent_id=f"{close.signal_id}:restore",
        signal_id=close.signal_id,
        mode=close.mode,
        strategy=close.strategy,
        symbol=close.symbol,
        side=closing_side(held),
        qty=abs(held),
        order_class="simple",
        order_type="stop",
        purpose="stop",
        stop_loss=close.stop_loss,
        entry_price=close.entry_price,
        status="pending_submit",
        created_at=deps.clock.now(),
        updated_at=deps.clock.now(),
    )
    try:
        place_stop(item, broker, deps.placement)
    except BrokerRejected as exc:
        log.error("protection not restored", extra={"ticker": close.symbol, "code": exc.code})
        return f"protection NOT restored ({exc.code}: {exc.message}): the reconciler re-arms it"
    return f"protection restored: stop {item.side.value.lower()} {item.qty} @ {close.stop_loss}"


def exit_learnt(recorded: OrderItem, placed: BrokerOrder, deps: CloseDeps) -> None:
    """A close seen filled: the exit in the symbol's history and ExitFilled (both keep one per fill time)."""
    now = deps.clock.now()
    record_exit(deps.history, recorded, placed, now)
    event = exit_filled(recorded, placed, now)
    if event is not None and deps.events is not None:
        deps.events.publish(event.detail_type, event.as_detail())


def _drop_queued_entry(intent: OrderIntent, deps: CloseDeps) -> str:
    if deps.queued is None:
        return ""
    dropped = deps.queued.drop_queued_entry(intent.mode.value, intent.symbol)
    if dropped is None:
        return ""
    why = f"the exit {intent.signal_id} cancelled it before the open"
    deps.signals.advance(
        dropped, StatusUpdate.rejected(deps.clock.now(), RejectReason.MARKET_CLOSED.value, why)
    )
    return f"; dropped the entry {dropped} queued for the open"


def _done_queued(intent: OrderIntent, deps: CloseDeps) -> None:
    if deps.closes is not None:
        deps.closes.drop_queued_close(intent.mode.value, intent.symbol, intent.signal_id)


def _close_item(intent: OrderIntent, holding: HoldingView, stop: Decimal | None, now: datetime) -> OrderItem:
    return OrderItem(
        client_order_id=intent.close_client_order_id,
        intent_id=f"{intent.signal_id}:close",
        signal_id=intent.signal_id,
        mode=intent.mode,
        strategy=intent.strategy,
        symbol=intent.symbol,
        side=closing_side(holding.qty),
        qty=abs(holding.qty),
        order_class="simple",
        stop_loss=stop,
        entry_price=holding.avg_entry_price,
        status="pending_submit",
        created_at=now,
        updated_at=now,
        # An exit signal's close is its final order; a reverse's close is the first of two.
        purpose="exit" if intent.kind in ("close", "flatten") else "close",
    )

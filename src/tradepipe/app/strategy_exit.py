"""A strategy's exit on a ticker that several strategies hold: close that strategy's shares, nobody else's.

The account holds one net position per ticker; the lots say whose shares it is (app/lot_book.py). An exit
from strategy A:
1. cancels A's own orders only: the legs of A's entries, the stops placed for A's lots (their ids name the
   lot), A's pending entries. Every other strategy's legs keep working, so B's shares are never without
   their stop, not even while A's exit runs (nothing of B's is replaced: B's protection already is its own);
2. reads back at `first_read_s` and, while any is open, at `cancel_wait_s` (a cancel is a request at Alpaca:
   `pending_cancel` still holds the shares, Alpaca-API#111) and retries the message while any of A's is
   still open;
3. re-derives A's shares from the broker's orders (its entries' fills less its own legs' and stops' fills:
   a leg that filled while it was being cancelled is not sold twice), never more than the broker holds;
4. sells (or buys back) exactly that at the market under the exit's deterministic client_order_id; the lots
   are retired when the close is seen filled (here or by the reconciler).
A close refused by Alpaca re-places a stop for each of A's lots (ids naming the lot), then the signal is
recorded rejected. After hours A's legs stay and the close is queued for the open (one queued close per
ticker: a second strategy's exit is sent at once, and Alpaca holds it `accepted` until the open).

Why not one replaced, combined OCO for the ticker: Alpaca lets each lot keep its own legs (a bracket or OTO
entry is exempt from the wash-trade check: docs "User Protection", "These complex orders and trailing stop
orders are exceptions to our wash trade protection"; several exit orders may rest as long as together they
hold no more than the position: "insufficient qty available"). Keeping them keeps every strategy's own stop
and take-profit, and an exit never opens a window without stops for the others.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal

from tradepipe.app.lot_book import belongs_to, lots_orders, protective_id, remaining
from tradepipe.app.placement import NotYet, place_close, place_stop
from tradepipe.app.protective_close import CloseDeps, cancel_orders, pending_entries, still_open_after_cancel
from tradepipe.contracts.items import OrderItem
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.lots import ExitPlan, Lot, combined_stop, plan_exit
from tradepipe.domain.model import Rejected
from tradepipe.domain.protection import closing_side
from tradepipe.ports.broker import Broker, BrokerOrder, BrokerRejected
from tradepipe.ports.lots import LotStore

log = logging.getLogger(__name__)
_ZERO = Decimal(0)


def close_own_shares(
    intent: OrderIntent, broker: Broker, deps: CloseDeps, lots: LotStore
) -> BrokerOrder | str | None:
    """The close order (placed or found), a detail for the signal's COMPLETED ("" when queued for the open),
    or None when the ticker has no lots recorded (a position from before lots: the whole-position close)."""
    coid = intent.close_client_order_id
    recorded = deps.orders.get(coid)
    placed = None if recorded is None else broker.find_order(coid)
    if placed is not None:
        _done_queued(intent, deps)
        return placed
    account, symbol, strategy = intent.mode.value, intent.symbol, intent.strategy
    book = lots.lots(account, symbol)
    if not book:
        return None
    plan = plan_exit(book, strategy)
    orders = broker.open_orders(symbol)
    entries = [o for o in pending_entries(orders) if _strategy_of(o, deps) == strategy]
    if isinstance(plan, Rejected):
        count = cancel_orders(broker, entries)
        untouched = "other strategies' shares and stops untouched"
        return f"{plan.detail}: nothing closed, {untouched}; canceled {count} pending entries"
    if deps.closes is not None and not broker.clock().is_open:
        cancel_orders(broker, entries)
        first = deps.closes.queue_close(account, symbol, intent.signal_id, deps.clock.now())
        if first == intent.signal_id:
            return ""
        # The ticker's one queued close is another strategy's: this exit goes to Alpaca now, which holds a
        # market order `accepted` until the open (its own legs, which hold its shares, are cancelled first;
        # the reconciler takes a working close as the executor's window, not as a gap to re-arm).
    own = [o for o in orders if any(belongs_to(o, lot.lot_id) for lot in plan.closing)] + entries
    if recorded is None:
        recorded = _close_item(intent, plan, deps)
        deps.orders.record_intent(recorded)
    _cancel_own(broker, symbol, own, deps)
    qty = _still_owned(plan, broker)
    if qty == 0:
        return f"strategy {strategy}'s {symbol} lots were closed by their own exits while they were cancelled"
    others = [
        o for o in pending_entries(broker.open_orders(symbol)) if o.side != closing_side(qty).value.lower()
    ]
    if others:
        # Our market close would meet Alpaca's wash-trade refusal against another strategy's working entry.
        raise NotYet(
            f"{len(others)} {symbol} entries of other strategies are working: the exit waits for them"
        )
    try:
        placed = place_close(intent, qty, recorded, broker, deps.placement)
    except BrokerRejected as exc:
        restored = restore_own_stops(plan.closing, recorded, broker, deps)
        raise BrokerRejected(exc.code, f"{exc.message}; {restored}") from None
    _done_queued(intent, deps)
    return placed


def _cancel_own(broker: Broker, symbol: str, own: Sequence[BrokerOrder], deps: CloseDeps) -> None:
    if not cancel_orders(broker, own):
        return
    still = still_open_after_cancel(broker, symbol, deps, {o.broker_order_id for o in own})
    if still:
        raise NotYet(
            f"{len(still)} of the strategy's {symbol} orders not yet canceled: the exit waits for them"
        )


def _still_owned(plan: ExitPlan, broker: Broker) -> Decimal:
    """The strategy's shares as the broker's orders tell them now, never beyond what the broker holds."""
    orders = lots_orders(broker, plan.closing)
    entries = {o.client_order_id: o for o in orders if o.parent_client_order_id is None}
    owned = _ZERO
    for lot in plan.closing:
        entry = entries.get(lot.lot_id)
        owned += lot.qty if entry is None else remaining(lot, entry, orders)
    holding = broker.holdings().get(plan.closing[0].ticker)
    held = _ZERO if holding is None else holding.qty
    if owned == 0 or held == 0 or (owned > 0) != (held > 0):
        return _ZERO
    return owned if abs(owned) <= abs(held) else held


def restore_own_stops(closing: Sequence[Lot], close: OrderItem, broker: Broker, deps: CloseDeps) -> str:
    """A refused close: each of the strategy's lots gets its stop back (its id names the lot)."""
    done: list[str] = []
    for lot in closing:
        if lot.stop_price is None or lot.qty == 0:
            continue
        item = _stop_item(lot, close, protective_id(lot.lot_id, "restore", close.signal_id[:12]), deps)
        try:
            place_stop(item, broker, deps.placement)
        except BrokerRejected as exc:
            log.error("protection not restored", extra={"ticker": lot.ticker, "code": exc.code})
            done.append(f"{lot.lot_id} NOT restored ({exc.code}): the reconciler re-arms it")
            continue
        done.append(f"{lot.lot_id} stop {abs(lot.qty)} @ {lot.stop_price}")
    return "protection restored: " + ", ".join(done) if done else "no stop was in force to restore"


def _stop_item(lot: Lot, close: OrderItem, coid: str, deps: CloseDeps) -> OrderItem:
    now = deps.clock.now()
    return OrderItem(
        client_order_id=coid,
        intent_id=f"{close.signal_id}:restore:{lot.lot_id}",
        signal_id=close.signal_id,
        mode=close.mode,
        strategy=lot.strategy,
        symbol=lot.ticker,
        side=closing_side(lot.qty),
        qty=abs(lot.qty),
        order_class="simple",
        order_type="stop",
        purpose="stop",
        stop_loss=lot.stop_price,
        entry_price=lot.entry_price,
        status="pending_submit",
        created_at=now,
        updated_at=now,
    )


def _close_item(intent: OrderIntent, plan: ExitPlan, deps: CloseDeps) -> OrderItem:
    now = deps.clock.now()
    qty = abs(plan.close_qty)
    cost = sum((abs(lot.qty) * lot.entry_price for lot in plan.closing), _ZERO)
    return OrderItem(
        client_order_id=intent.close_client_order_id,
        intent_id=f"{intent.signal_id}:close",
        signal_id=intent.signal_id,
        mode=intent.mode,
        strategy=intent.strategy,
        symbol=intent.symbol,
        side=closing_side(plan.close_qty),
        qty=qty,
        order_class="simple",
        stop_loss=combined_stop(plan.closing),
        entry_price=(cost / qty).quantize(Decimal("0.0001")) if qty else None,
        status="pending_submit",
        created_at=now,
        updated_at=now,
        purpose="exit",
    )


def _strategy_of(order: BrokerOrder, deps: CloseDeps) -> str | None:
    recorded = deps.orders.get(order.client_order_id)
    return None if recorded is None else recorded.strategy


def _done_queued(intent: OrderIntent, deps: CloseDeps) -> None:
    if deps.closes is not None:
        deps.closes.drop_queued_close(intent.mode.value, intent.symbol, intent.signal_id)

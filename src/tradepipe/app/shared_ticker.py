"""An entry on a ticker other strategies already hold with working protective orders.

Alpaca refuses an order that could trade against one of the account's own opposite-side orders: 403
"potential wash trade detected. use complex orders" (docs "User Protection", Preventing Wash Trades: "we
recommend using a bracket or OCO (One Cancels the Other) order. These complex orders and trailing stop
orders are exceptions to our wash trade protection"). So:

- an entry with exit legs (a bracket, or an OTO with its stop) is a complex order and goes as it is; its
  legs protect its own lot (the paper broker exempts bracket, OTO and OCO: docs/architecture.md says why);
- a simple entry (no legs) would be refused while the other lots' take-profits and stops rest. The executor
  replaces them: it cancels the ticker's opposite-side orders (`make_room`), reads them back
  (app/read_back.py; a cancel is a request: `pending_cancel` can still fill, so it still counts), places the
  entry, and re-places every displaced lot's protection (`cover_lots`): its own stop and its own take-profit
  as one OCO at once (an OCO is exempt, so it need not wait for the entry), or its stop alone once the entry
  is done (a simple stop would meet the working entry as a wash trade). Each replacement's client_order_id
  names its lot and this entry (`lot_book.protective_id`), so a redelivered message finds it instead of
  placing it twice.

The other lots are without stops only while the executor replaces them, under the ticker's lease (the
reconciler leaves a leased ticker alone). A crash in between leaves them uncovered and unleased: the
reconciler re-arms each lot at its own stop (protect_positions, domain/lot_cover.py), and the redelivered
entry starts again from `make_room`.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from tradepipe.app.lot_book import protective_id, working
from tradepipe.app.placement import NotYet, place_exactly_once, place_stop, placed_update
from tradepipe.app.protective_close import (
    CloseDeps,
    cancel_orders,
    pending_entries,
    resting,
    still_open_after_cancel,
)
from tradepipe.contracts.items import OrderItem
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.lot_cover import lot_cover
from tradepipe.domain.lots import Lot
from tradepipe.domain.model import Side
from tradepipe.domain.order_status import is_terminal
from tradepipe.domain.protection import closing_side
from tradepipe.ports.broker import Broker, BrokerRejected
from tradepipe.ports.lots import LotStore

log = logging.getLogger(__name__)


def exempt(intent: OrderIntent) -> bool:
    """A complex order (bracket, OTO): Alpaca's wash-trade check lets it through whatever rests opposite."""
    return intent.take_profit is not None or intent.stop_loss is not None


def opposite_owners(intent: OrderIntent, held: Decimal, lots: LotStore | None) -> list[str]:
    """The other strategies whose lots make up the position an entry would reverse. Alpaca keeps one net
    position per ticker: a short entry against their long would sell their shares from under their stops,
    so the entry is refused (OPPOSITE_LOTS_HELD) rather than netted. Empty: the position is the entry's own
    strategy's (or from before lots), and the reverse closes it first as before."""
    if lots is None:
        return []
    book = lots.lots(intent.mode.value, intent.symbol)
    theirs = {lot.strategy for lot in book if lot.strategy != intent.strategy and (lot.qty > 0) == (held > 0)}
    return sorted(theirs)


def make_room(intent: OrderIntent, broker: Broker, deps: CloseDeps, lots: LotStore) -> int:
    """Cancel the ticker's opposite-side orders an entry that is not a bracket would be refused against;
    NotYet until they are all done. Returns how many were cancelled (0: nothing rested, nothing to do)."""
    if exempt(intent) or not lots.lots(intent.mode.value, intent.symbol):
        return 0
    opposite = "sell" if intent.side is Side.BUY else "buy"
    orders = working(broker.open_orders(intent.symbol))
    entries = {o.broker_order_id for o in pending_entries(orders)}
    if any(o.side == opposite and o.broker_order_id in entries for o in orders):
        # Another strategy's entry the other way: not ours to cancel, and it would refuse this one.
        raise NotYet(f"an opposite {intent.symbol} entry is working: this entry waits for it")
    resting_opposite = [o for o in orders if o.side == opposite]
    if not cancel_orders(broker, resting_opposite):
        return 0
    ids = {o.broker_order_id for o in resting_opposite}
    still = still_open_after_cancel(broker, intent.symbol, deps, ids)
    if still:
        raise NotYet(f"{len(still)} {intent.symbol} protective orders not yet canceled: the entry waits")
    log.info("protection lifted for an entry", extra={"ticker": intent.symbol, "canceled": len(ids)})
    return len(ids)


def cover_lots(intent: OrderIntent, broker: Broker, deps: CloseDeps, lots: LotStore) -> list[str]:
    """Every other lot on the ticker gets its own protection back: an OCO at once, a plain stop once the
    entry is done (NotYet while it works: the stop would meet it as a wash trade). Returns what was placed."""
    if exempt(intent):
        return []
    book = lots.lots(intent.mode.value, intent.symbol)  # the new lot too: its own legs are its own
    if all(lot.lot_id == intent.client_order_id for lot in book):
        return []
    holding = broker.holdings().get(intent.symbol)
    if holding is None or holding.qty == 0:
        return []
    orders = broker.open_orders(intent.symbol)
    entry = next((o for o in orders if o.client_order_id == intent.client_order_id), None)
    entry_working = entry is not None and not is_terminal(entry.status)
    placed: list[str] = []
    waiting: list[str] = []
    for gap in lot_cover(holding.qty, book, [resting(o) for o in orders]).gaps:
        if gap.lot.lot_id == intent.client_order_id or gap.lot.stop_price is None:
            continue  # nothing to restore: the reconciler reports the lot unprotected
        if entry_working and _take_profit(gap.lot, deps) is None:
            waiting.append(gap.lot.lot_id)  # a plain stop now would meet the working entry
            continue
        placed.append(_cover(gap.lot, gap.cover.uncovered, intent, broker, deps))
    if waiting:
        raise NotYet(f"entry {intent.client_order_id} is working: {len(waiting)} lots' stops follow it")
    return placed


def _take_profit(lot: Lot, deps: CloseDeps) -> Decimal | None:
    entry = deps.orders.get(lot.lot_id)
    return None if entry is None else entry.take_profit


def _cover(lot: Lot, qty: Decimal, intent: OrderIntent, broker: Broker, deps: CloseDeps) -> str:
    target = _take_profit(lot, deps)
    kind = "oco" if target is not None else "stop"
    item = _item(lot, qty, target, protective_id(lot.lot_id, kind, intent.signal_id[:12]), intent, deps)
    stop = lot.stop_price or Decimal(0)
    try:
        if target is None:
            place_stop(item, broker, deps.placement)
        else:
            _place_oco(item, target, stop, broker, deps)
    except BrokerRejected as exc:
        log.error("lot cover refused", extra={"lot_id": lot.lot_id, "code": exc.code})
        return f"{lot.lot_id} NOT covered ({exc.code} {exc.message}): the reconciler re-arms it"
    return f"{lot.strategy}: {kind} {qty} @ {stop}" + ("" if target is None else f" / {target}")


def _place_oco(item: OrderItem, target: Decimal, stop: Decimal, broker: Broker, deps: CloseDeps) -> None:
    coid = item.client_order_id
    if deps.orders.get(coid) is None:
        deps.orders.record_intent(item)
    elif broker.find_order(coid) is not None:
        return
    side = item.side.value.lower()
    placed = place_exactly_once(
        lambda: broker.submit_oco(item.symbol, item.qty, side, target, stop, coid),
        coid,
        broker,
        deps.placement,
    )
    deps.orders.update(coid, placed_update(placed, deps.clock.now()))


def _item(
    lot: Lot, qty: Decimal, target: Decimal | None, coid: str, intent: OrderIntent, deps: CloseDeps
) -> OrderItem:
    now = deps.clock.now()
    entry = deps.orders.get(lot.lot_id)
    return OrderItem(
        client_order_id=coid,
        intent_id=f"{intent.signal_id}:cover:{lot.lot_id}",
        signal_id="" if entry is None else entry.signal_id,
        mode=intent.mode,
        strategy=lot.strategy,
        symbol=lot.ticker,
        side=closing_side(lot.qty),
        qty=qty,
        order_class="simple" if target is None else "oco",
        order_type="stop",
        purpose="stop",
        take_profit=target,
        stop_loss=lot.stop_price,
        entry_price=lot.entry_price,
        status="pending_submit",
        created_at=now,
        updated_at=now,
    )

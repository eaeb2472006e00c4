"""Strategy-owned lots kept in step with the broker (domain/lots.py, ports/lots.py).

- An entry's fill, whole or partial, is its strategy's lot: lot_id = the entry's client_order_id, opened by
  whoever sees the fill first (the executor's read after its fill wait, or the reconciler's sweep), once.
  A later sighting of more filled shares grows the lot by what the order record had not seen yet (the
  orders table keeps the last filled quantity seen), never beyond the entry's filled quantity (two readers
  racing on one fill make it once).
- Every protective order belongs to one lot: a bracket/OTO leg by its parent (the entry), a stop we place
  for a lot by its client_order_id, which starts with the lot's (`protective_id`). From the broker's orders
  alone, then, a lot's remaining shares are its entry's filled quantity less what its own exits filled
  (`remaining`): the reconciler re-derives it each sweep, so a leg fill nobody saw live still shrinks the
  lot, and a lot is never re-created once closed (resize never inserts).
- A strategy's exit that filled retires that strategy's lots opened before the fill (`retire_lots`): a lot
  it opened after its exit is not the exit's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from tradepipe.contracts.items import OrderItem
from tradepipe.domain.lot_cover import owns
from tradepipe.domain.lots import Lot
from tradepipe.domain.model import Side
from tradepipe.domain.order_status import is_terminal
from tradepipe.ports.broker import Broker, BrokerOrder
from tradepipe.ports.lots import LotStore

_ZERO = Decimal(0)
# An entry is sent before its lot opens (its fill): a market or collared entry fills within moments.
_ENTRY_BEFORE_FILL = timedelta(minutes=5)
_RECENT = timedelta(minutes=15)  # many reconciler periods: a ticker that went flat is looked at several times


def protective_id(lot_id: str, kind: str, stamp: int | str) -> str:
    """A stop placed for one lot: its id names the lot, so any reader of the broker's orders can tell
    whose shares it protects (Alpaca client_order_id: at most 128 characters)."""
    return f"{lot_id}-{kind}-{stamp}"[:128]


def belongs_to(order: BrokerOrder, lot_id: str) -> bool:
    """The lot's own protective orders: its entry's legs, and the stops placed for it."""
    return owns(lot_id, order.client_order_id, order.parent_client_order_id)


def signed(side: Side, qty: Decimal) -> Decimal:
    return qty if side is Side.BUY else -qty


def entry_fill_seen(
    lots: LotStore | None, before: OrderItem | None, placed: BrokerOrder, now: datetime
) -> None:
    """An entry's fill seen (`before`: its order record as it was before this sighting was recorded)."""
    if lots is None or before is None or before.purpose != "open" or placed.filled_qty <= 0:
        return
    grown = placed.filled_qty - (before.filled_qty or _ZERO)
    if grown <= 0:
        return  # seen already (by the executor, or an earlier sweep)
    lot = Lot(
        account=before.mode.value,
        ticker=before.symbol,
        strategy=before.strategy,
        lot_id=before.client_order_id,
        qty=signed(before.side, placed.filled_qty),
        entry_price=placed.filled_avg_price or before.entry_price or before.limit_price or _ZERO,
        stop_price=before.stop_loss,
        opened_at=placed.filled_at or now,
    )
    if lots.open_lot(lot):
        return
    existing = _find(lots.lots(lot.account, lot.ticker), lot.lot_id)
    if existing is None:
        return
    # A partial fill growing: by what this sighting adds, and never beyond what the entry has filled (the
    # executor and a sweep that both saw the same fill each think they saw it first: the cap makes it once).
    grown_qty = min(abs(existing.qty) + grown, placed.filled_qty)
    if grown_qty != abs(existing.qty):
        qty = signed(before.side, grown_qty)
        lots.resize_lot(lot.account, lot.ticker, lot.strategy, lot.lot_id, qty, existing.stop_price)


def remaining(lot: Lot, entry: BrokerOrder, orders: Iterable[BrokerOrder]) -> Decimal:
    """The lot's shares still held, from the broker's orders: its entry's fill less its own exits' fills."""
    exited = sum((o.filled_qty for o in orders if belongs_to(o, lot.lot_id)), _ZERO)
    left = max(_ZERO, entry.filled_qty - exited)
    return left if lot.qty > 0 else -left


def lots_orders(broker: Broker, lots: Sequence[Lot]) -> list[BrokerOrder]:
    """The broker's orders a lot is re-derived from (its entry and its own exits: `remaining`), for every lot
    in `lots`: one listing from just before the oldest lot's entry."""
    return broker.orders_since(min(lot.opened_at for lot in lots) - _ENTRY_BEFORE_FILL)


def follow_lots(lots: LotStore, account: str, placed: Sequence[BrokerOrder]) -> int:
    """The reconciler's sweep: every recorded lot whose entry is among `placed` is resized to what the
    broker's orders say it still holds (a leg or a stop of its own filled). Returns how many changed."""
    entries = {o.client_order_id: o for o in placed if o.parent_client_order_id is None}
    # Only where a lot's own exit has filled (a leg, or a stop placed for a lot): one lots read per such
    # ticker, not per ticker traded.
    tickers = {o.symbol for o in placed if o.filled_qty > 0 and exit_of_a_lot(o)}
    changed = 0
    for ticker in sorted(tickers):
        for lot in lots.lots(account, ticker):
            entry = entries.get(lot.lot_id)
            if entry is None:
                continue
            left = remaining(lot, entry, placed)
            if left != lot.qty:
                lots.resize_lot(account, ticker, lot.strategy, lot.lot_id, left, lot.stop_price)
                changed += 1
    return changed


def drop_flat(
    lots: LotStore,
    account: str,
    placed: Sequence[BrokerOrder],
    held: Mapping[str, Decimal],
    read_at: datetime,
) -> list[str]:
    """Lots on a ticker the broker no longer holds (closed by hand at the broker, or by a close nobody
    recorded) are closed: lots always describe the broker's position. Only tickers where an order filled in
    the last `_RECENT` are looked at (one lots read each, not one per ticker the account ever traded),
    and only lots opened before the positions were read (a fill after the read is not the read's to judge)."""
    since = read_at - _RECENT
    traded = {
        o.symbol for o in placed if o.filled_qty > 0 and o.filled_at is not None and o.filled_at >= since
    }
    dropped: list[str] = []
    for ticker in sorted(t for t in traded if held.get(t, _ZERO) == 0):
        strategies = {lot.strategy for lot in lots.lots(account, ticker) if lot.opened_at <= read_at}
        for strategy in sorted(strategies):
            if retire_lots(lots, account, ticker, strategy, read_at):
                dropped.append(f"{ticker}: {strategy}")
    return dropped


def exit_of_a_lot(order: BrokerOrder) -> bool:
    # Entries' ids end in "-open" (domain/signal_id.py); a lot's own stops extend that id (protective_id).
    return order.parent_client_order_id is not None or "-open-" in order.client_order_id


def retire_lots(lots: LotStore | None, account: str, ticker: str, strategy: str, filled_at: datetime) -> int:
    """A strategy's exit filled: its lots opened up to the fill are closed; other strategies' stay."""
    if lots is None:
        return 0
    retired = 0
    for lot in lots.lots(account, ticker):
        if lot.strategy == strategy and lot.opened_at <= filled_at:
            retired += lots.resize_lot(account, ticker, strategy, lot.lot_id, _ZERO, lot.stop_price)
    return retired


def clear_lots(lots: LotStore | None, account: str, ticker: str, filled_at: datetime) -> int:
    """`flatten` filled: every strategy's lots opened up to the fill are closed."""
    if lots is None:
        return 0
    strategies = {lot.strategy for lot in lots.lots(account, ticker)}
    return sum(retire_lots(lots, account, ticker, s, filled_at) for s in sorted(strategies))


def working(orders: Iterable[BrokerOrder]) -> list[BrokerOrder]:
    return [o for o in orders if not is_terminal(o.status)]


def _find(lots: Sequence[Lot], lot_id: str) -> Lot | None:
    return next((lot for lot in lots if lot.lot_id == lot_id), None)

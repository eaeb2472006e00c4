"""The reconciler's check of the protective-stop invariant: every open position has working stop orders
covering its full quantity, except while the executor replaces them.

On every run, for each position the broker holds: the coverage by working stop orders on the closing side
(`domain/protection.py`). One not fully covered is taken under the ticker's lease (the executor holds the same
lease while it changes the ticker's orders, so the two never race), read again, and repaired: the stop
recorded for the entry that opened it is re-armed as a standalone GTC stop for the uncovered quantity, or,
when the price is already through that stop, the uncovered quantity is closed at the market. Each stretch
without cover publishes PositionUnprotected, each repair PositionRearmed, and both are counted (metrics
`PositionUnprotected`, `PositionsRearmed`: the first is alarmed).

Not repaired: a position the executor is visibly changing (an order `pending_cancel`, an entry still filling
with its legs dormant: Alpaca wakes a bracket's legs when the entry is completely filled), and a position
tradepipe did not open (reported only, unless `manual_stop_pct` asks to protect it).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from tradepipe.app.lot_book import protective_id
from tradepipe.app.placement import PlacementDeps, place_exactly_once, place_stop, placed_update
from tradepipe.app.protective_close import resting
from tradepipe.contracts.events import PositionRearmed, PositionUnprotected
from tradepipe.contracts.items import OrderItem
from tradepipe.domain.lot_cover import lot_cover
from tradepipe.domain.lots import Lot
from tradepipe.domain.model import Mode, Side
from tradepipe.domain.order_status import STOP_TYPES, is_terminal
from tradepipe.domain.protection import Coverage, Flatten, Leave, Owner, Rearm, coverage, repair
from tradepipe.ports.broker import Broker, BrokerOrder, BrokerRejected, HoldingView
from tradepipe.ports.clock import Clock
from tradepipe.ports.lots import LotStore
from tradepipe.ports.messaging import EventPublisher
from tradepipe.ports.risk_state import TickerLeases
from tradepipe.ports.stores import OrderStore

log = logging.getLogger(__name__)
HOLDER = "reconciler"
_OWNER_LOOKBACK = 20  # the symbol's latest orders searched for the entry that opened the position


@dataclass(frozen=True)
class ProtectDeps:
    orders: OrderStore
    events: EventPublisher
    clock: Clock
    placement: PlacementDeps
    leases: TickerLeases | None = None
    manual_stop_pct: Decimal | None = None
    lots: LotStore | None = None  # whose shares: each lot is covered by its own stops (domain/lot_cover.py)
    lease_ttl_s: float = 30.0


@dataclass
class ProtectionReport:
    unprotected: list[str] = field(default_factory=list)
    rearmed: list[str] = field(default_factory=list)
    flattened: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)  # the executor's window: left to it


def check_protection(mode: Mode, broker: Broker, deps: ProtectDeps) -> ProtectionReport:
    report = ProtectionReport()
    held = {t: h for t, h in broker.holdings().items() if h.qty != 0}
    if not held:
        return report
    by_symbol: dict[str, list[BrokerOrder]] = defaultdict(list)
    for order in broker.open_orders():
        by_symbol[order.symbol].append(order)
    for ticker, holding in sorted(held.items()):
        if coverage(holding.qty, [resting(o) for o in by_symbol[ticker]]).full:
            continue
        now = deps.clock.now()
        if deps.leases is not None and not deps.leases.acquire_lease(
            mode.value, ticker, HOLDER, now, deps.lease_ttl_s
        ):
            report.in_flight.append(ticker)  # the executor is changing the ticker's orders
            continue
        try:
            _repair(mode, ticker, broker, deps, report)
        finally:
            if deps.leases is not None:
                deps.leases.release_lease(mode.value, ticker, HOLDER)
    return report


def _repair(mode: Mode, ticker: str, broker: Broker, deps: ProtectDeps, report: ProtectionReport) -> None:
    # Read again under the lease: the executor may have finished just before.
    holding = broker.holdings().get(ticker)
    if holding is None or holding.qty == 0:
        return
    orders = broker.open_orders(ticker)
    cover = coverage(holding.qty, [resting(o) for o in orders])
    if cover.full:
        return
    if _in_flight(holding.qty, orders):
        report.in_flight.append(ticker)
        return
    book = [] if deps.lots is None else deps.lots.lots(mode.value, ticker)
    if not book:  # a position from before lots: its latest entry's stop covers it
        owner = find_owner(ticker, holding.qty, broker, deps.orders)
        _restore(mode, ticker, holding, cover, owner, None, broker, deps, report)
        return
    # Lot by lot: each strategy's shares get their own stop back, never one on top of another's cover.
    lots_cover = lot_cover(holding.qty, book, [resting(o) for o in orders])
    for gap in lots_cover.gaps:
        lot = gap.lot
        owner = Owner(_lot_signal(lot, deps), lot.lot_id, lot.strategy, lot.stop_price)
        _restore(mode, ticker, holding, gap.cover, owner, lot.lot_id, broker, deps, report)
    if lots_cover.unowned_uncovered > 0:  # shares no lot accounts for (yet): the latest entry's stop
        rest = Coverage(holding.qty, abs(holding.qty) - lots_cover.unowned_uncovered)
        owner = find_owner(ticker, holding.qty, broker, deps.orders)
        _restore(mode, ticker, holding, rest, owner, None, broker, deps, report)


def _restore(
    mode: Mode,
    ticker: str,
    holding: HoldingView,
    cover: Coverage,
    owner: Owner | None,
    lot_id: str | None,
    broker: Broker,
    deps: ProtectDeps,
    report: ProtectionReport,
) -> None:
    now = deps.clock.now()
    decision = repair(cover, owner, holding.current_price, holding.avg_entry_price, deps.manual_stop_pct)
    strategy = None if owner is None else owner.strategy
    detail = decision.detail if isinstance(decision, Leave | Flatten) else f"re-arming at {decision.stop}"
    unprotected = PositionUnprotected(
        at=now,
        mode=mode,
        ticker=ticker,
        strategy=strategy,
        qty=holding.qty,
        covered_qty=cover.covered,
        # One notice per stretch: a position left alone (a manual trade) is noticed again each hour.
        since=now.replace(minute=0, second=0, microsecond=0) if isinstance(decision, Leave) else now,
        detail=detail,
    )
    deps.events.publish(unprotected.detail_type, unprotected.as_detail())
    report.unprotected.append(f"{ticker}: held {holding.qty}, covered {cover.covered}: {detail}")
    log.warning("position not fully covered by stops", extra={"ticker": ticker, "detail": detail})
    if isinstance(decision, Leave):
        return
    item = _repair_item(mode, ticker, holding, decision, owner, now, lot_id)
    try:
        if isinstance(decision, Flatten):
            placed = place_stop_or_close(item, broker, deps.placement, market=True)
            report.flattened.append(f"{ticker}: {decision.side.value.lower()} {decision.qty} at the market")
            return
        placed = place_stop_or_close(item, broker, deps.placement, market=False)
    except BrokerRejected as exc:
        report.unprotected[-1] += f"; repair refused: {exc.code} {exc.message}"
        log.error("protection repair refused", extra={"ticker": ticker, "code": exc.code})
        return
    rearmed = PositionRearmed(
        at=now, mode=mode, ticker=ticker, strategy=strategy, qty=holding.qty, stop_price=decision.stop
    )
    deps.events.publish(rearmed.detail_type, rearmed.as_detail())
    report.rearmed.append(f"{ticker}: stop {decision.side.value.lower()} {decision.qty} @ {decision.stop}")
    log.info("position re-armed", extra={"ticker": ticker, "order": placed.client_order_id})


def place_stop_or_close(item: OrderItem, broker: Broker, deps: PlacementDeps, market: bool) -> BrokerOrder:
    if not market:
        return place_stop(item, broker, deps)
    deps.orders.record_intent(item)
    signed = item.qty if item.side is Side.SELL else -item.qty
    placed = place_exactly_once(
        lambda: broker.submit_close(item.symbol, signed, item.client_order_id),
        item.client_order_id,
        broker,
        deps,
    )
    deps.orders.update(item.client_order_id, placed_update(placed, deps.clock.now()))
    return placed


def _lot_signal(lot: Lot, deps: ProtectDeps) -> str:
    entry = deps.orders.get(lot.lot_id)
    return "" if entry is None else entry.signal_id


def _in_flight(held: Decimal, orders: Sequence[BrokerOrder]) -> bool:
    """The executor's window: cancels on their way, a close working at the market, or an entry on the
    position's side still filling (its legs wake when it completes)."""
    opening = "buy" if held > 0 else "sell"
    return any(
        o.status == "pending_cancel"
        or _closing_at_market(o, opening)
        or (
            o.parent_client_order_id is None
            and o.order_type not in STOP_TYPES
            and o.side == opening
            and o.filled_qty > 0
            and not is_terminal(o.status)
        )
        for o in orders
    )


def _closing_at_market(order: BrokerOrder, opening: str) -> bool:
    """A working market close (an exit sent after hours waits `accepted` for the open): the executor's."""
    return (
        order.parent_client_order_id is None
        and order.order_type == "market"
        and order.side != opening
        and not is_terminal(order.status)
    )


def find_owner(ticker: str, held: Decimal, broker: Broker, orders: OrderStore) -> Owner | None:
    """The latest order of ours that carries the position's stop: the entry that opened it (its stop leg),
    or a stop or close we placed for it since (they record the stop in force)."""
    opening = Side.BUY if held > 0 else Side.SELL
    for order in broker.recent_orders(ticker, _OWNER_LOOKBACK):
        recorded = orders.get(order.client_order_id)
        if recorded is None:
            continue
        if recorded.purpose == "open" and recorded.side is opening and order.filled_qty > 0:
            return Owner(recorded.signal_id, recorded.client_order_id, recorded.strategy, recorded.stop_loss)
        if recorded.purpose != "open" and recorded.side is not opening and recorded.stop_loss is not None:
            return Owner(recorded.signal_id, recorded.client_order_id, recorded.strategy, recorded.stop_loss)
    return None


def _repair_item(
    mode: Mode,
    ticker: str,
    holding: HoldingView,
    decision: Rearm | Flatten,
    owner: Owner | None,
    at: datetime,
    lot_id: str | None = None,
) -> OrderItem:
    kind = "rearm" if isinstance(decision, Rearm) else "flat"
    stamp = int(at.timestamp())
    # Deterministic within the run, unique across runs (a retried placement is found, not repeated); a
    # lot's own names the lot (app/lot_book.py), so its cover is told from the broker's orders alone.
    coid = (
        f"tp-{kind}-{mode.value}-{ticker}-{stamp}" if lot_id is None else protective_id(lot_id, kind, stamp)
    )
    return OrderItem(
        client_order_id=coid,
        intent_id=f"{kind}:{mode.value}:{ticker}:{stamp}",
        signal_id="" if owner is None else owner.signal_id,
        mode=mode,
        strategy="manual" if owner is None else owner.strategy,
        symbol=ticker,
        side=decision.side,
        qty=decision.qty,
        order_class="simple",
        order_type="stop" if isinstance(decision, Rearm) else "market",
        purpose="stop" if isinstance(decision, Rearm) else "flatten",
        stop_loss=decision.stop if isinstance(decision, Rearm) else (None if owner is None else owner.stop),
        entry_price=holding.avg_entry_price,
        status="pending_submit",
        created_at=at,
        updated_at=at,
    )

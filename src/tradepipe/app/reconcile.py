"""reconcile: what the broker did after we placed the order (every minute, and on demand).

Follows every order of ours that can still change, whatever its age (`app/followed_orders.py`: the order
store's index of open orders, one open-orders listing and one read per order that ended), and sweeps the
recent fill activities: order records follow the broker (partial fills
completing, asynchronous rejections after a 200, bracket legs triggering); a signal whose final order is
done becomes FILLED or REJECTED with the broker's status; each execution is recorded once (keyed by its
execution id); a filled stop leg is a stop-out (cooldown, losing streak); a strategy's reported position
that differs from the broker's is a divergence (event and metric). Each run also samples the account's
equity and positions into the risk-state table (EQUITY#<account>, one item per minute, TTL), from which
the stream feeds the equity-snapshots index. Last, the protective-stop invariant is checked and repaired
(`app/protect_positions.py`), and fills learnt here publish EntryFilled / ExitFilled."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tradepipe.app.entry_timeout import TimeoutDeps, cancel_expired_entries, settle_timed_out
from tradepipe.app.fill_events import entry_filled, exit_filled, record_exit
from tradepipe.app.flatten import closes_every_lot
from tradepipe.app.followed_orders import finish, sweep_followed
from tradepipe.app.lot_book import (
    clear_lots,
    drop_flat,
    entry_fill_seen,
    exit_of_a_lot,
    follow_lots,
    lots_orders,
    retire_lots,
)
from tradepipe.app.patient_broker import Patience, patient
from tradepipe.app.placement import PlacementDeps
from tradepipe.app.protect_positions import ProtectDeps, ProtectionReport, check_protection
from tradepipe.app.realized_risk import fill_notes
from tradepipe.contracts.events import ExitFilled, ExitReason
from tradepipe.contracts.items import (
    EQUITY_PK_PREFIX,
    EQUITY_SK,
    EquitySnapshotItem,
    OrderItem,
    OrderUpdate,
    PositionSample,
    StatusUpdate,
)
from tradepipe.domain.model import Mode, RejectReason, SignalStatus
from tradepipe.domain.order_status import is_terminal
from tradepipe.domain.risk.reservations import LONGEST_RESTING
from tradepipe.domain.signal_id import client_order_id, sent_for_another_purpose
from tradepipe.ports.broker import Broker, BrokerFactory, BrokerOrder, BrokerUnavailable, HoldingView
from tradepipe.ports.clock import Clock
from tradepipe.ports.fill_cursor import FillCursorStore
from tradepipe.ports.lots import LotStore
from tradepipe.ports.messaging import EventPublisher
from tradepipe.ports.risk_state import (
    EntryReservations,
    EquitySnapshotStore,
    PositionReports,
    SymbolHistoryStore,
    TickerLeases,
)
from tradepipe.ports.stores import FillStore, OrderStore, SignalStore

log = logging.getLogger(__name__)
# Done as Alpaca means it (domain/order_status.py): `done_for_day` trades again next session, `stopped` will
# fill, `suspended` may resume: none of them settles a signal.
_DONE = frozenset({"filled", "rejected", "canceled", "expired"})
_STOP_TYPES = frozenset({"stop", "stop_limit", "trailing_stop"})
_CLOSES = frozenset({"exit", "close"})
_FINAL_PURPOSES = frozenset({"open", "exit"})  # a reverse's close is not the signal's last order
# The fill cursor stays this far behind the moment a run read the fills, so the next run reads them again
# (recorded once: deduplicated by execution id): a fill Alpaca publishes late, or stamps at an instant just
# before the read, and any skew between our clock and Alpaca's, are still seen. A run so reads the fills of
# the last few minutes, never the account's history.
FILL_OVERLAP = timedelta(minutes=10)
_FILLS_PAGE = 100  # Alpaca's largest activities page


@dataclass(frozen=True)
class ReconcileDeps:
    signals: SignalStore
    orders: OrderStore
    fills: FillStore
    brokers: BrokerFactory
    history: SymbolHistoryStore
    positions: PositionReports
    events: EventPublisher
    clock: Clock
    lookback: timedelta = timedelta(days=2)  # the fills the first run reads, before the cursor exists
    # Where equity samples go (the risk-state table); None: not sampled (tests of the order sweep alone).
    snapshots: EquitySnapshotStore | None = None
    snapshot_ttl: timedelta = timedelta(days=8)  # DynamoDB keeps a week and a day; OpenSearch the history
    leases: TickerLeases | None = None  # the executor's; None: nothing else works on positions (unit tests)
    protect: bool = True  # check the protective-stop invariant on every run
    manual_stop_pct: Decimal | None = None  # protect positions tradepipe did not open (None: report only)
    patience: Patience = field(default_factory=Patience)
    # An entry that rested at the broker releases its reserved room when it ends (filled: the position holds
    # it now; cancelled, expired, rejected: nothing does).
    reservations: EntryReservations | None = None
    # How far the fills are read; None: a `lookback` window every run (unit tests of the order sweep).
    fill_cursor: FillCursorStore | None = None
    lots: LotStore | None = None  # strategy-owned lots, kept in step with the broker (app/lot_book.py)


@dataclass
class ReconcileReport:
    orders_updated: int = 0
    signals_filled: int = 0
    signals_rejected: int = 0
    fills_recorded: int = 0
    stop_outs: int = 0
    target_exits: int = 0
    divergences: list[str] = field(default_factory=list)
    equity_sampled: bool = False
    broker_requests: int = 0  # spent finding what changed (orders and fills; not equity nor protection)
    protection: ProtectionReport = field(default_factory=ProtectionReport)
    # Cancels asked: collared entries past entry_timeout_s, partly filled ones past PARTIAL_FILL_GRACE.
    entries_timed_out: list[str] = field(default_factory=list)
    entries_not_filled: int = 0

    def metrics(self) -> dict[str, int]:
        """The counts CloudWatch alarms and dashboards read, by metric name."""
        return {
            "OrdersReconciled": self.orders_updated,
            "FillsRecorded": self.fills_recorded,
            "AsyncRejections": self.signals_rejected,
            "StopOuts": self.stop_outs,
            "PositionDivergence": len(self.divergences),
            "PositionUnprotected": len(self.protection.unprotected),
            "PositionsRearmed": len(self.protection.rearmed) + len(self.protection.flattened),
            "EntriesNotFilled": self.entries_not_filled,
        }


def reconcile_accounts(deps: ReconcileDeps) -> dict[Mode, ReconcileReport]:
    """Every account (paper, live) in turn: the executor's one-minute schedule."""
    return {mode: reconcile(mode, deps) for mode in Mode}


def reconcile(mode: Mode, deps: ReconcileDeps, since: datetime | None = None) -> ReconcileReport:
    report = ReconcileReport()
    broker = patient(deps.brokers, mode, deps.patience)
    if broker is None:
        return report
    read_at = deps.clock.now()
    held = _Held(broker, deps.clock)
    mark = None if deps.fill_cursor is None else deps.fill_cursor.fill_cursor(mode.value)
    after = since or (read_at - deps.lookback if mark is None else mark)
    sweep = sweep_followed(mode, broker, deps.orders)
    # Collared entries past their entry_timeout_s, and entries partly filled past their grace (their stop is
    # held until they complete): cancel asked now, settled when seen `canceled` (app/entry_timeout.py).
    report.entries_timed_out = cancel_expired_entries(
        sweep.orders, broker, TimeoutDeps(deps.orders, deps.clock)
    )
    for order in sweep.orders:
        if order.parent_client_order_id is not None:
            _leg(mode, order, deps, report)
        else:
            _order(order, deps, report)
    _hold_resting_entries(mode, sweep.orders, deps)
    if deps.lots is not None:
        # A leg or a stop of a lot's own that filled shrinks it (re-derived from the ticker's orders).
        follow_lots(deps.lots, mode.value, _lot_orders(mode, broker, sweep.orders, deps.lots))
        _drop_flat_lots(mode, held, sweep.orders, deps)
    fills = broker.fills_since(after)
    for fill in fills:
        coid = sweep.owners.get(fill.broker_order_id)
        recorded = deps.orders.get(coid) if coid else None
        if deps.fills.record_fill(fill, mode.value, coid, None if recorded is None else recorded.signal_id):
            report.fills_recorded += 1
    # Last, once all the above is recorded: an order leaves the index, the fill cursor moves on.
    finish(sweep, deps.orders)
    if deps.fill_cursor is not None:
        deps.fill_cursor.advance_fill_cursor(mode.value, read_at - FILL_OVERLAP)
    report.broker_requests = sweep.requests + 1 + len(fills) // _FILLS_PAGE
    _check_divergence(mode, held, deps, report)
    _sample_equity(mode, broker, held, deps, report)
    if deps.protect:
        report.protection = check_protection(mode, broker, _protect_deps(deps))
    return report


def _protect_deps(deps: ReconcileDeps) -> ProtectDeps:
    p = deps.patience
    placement = PlacementDeps(deps.orders, deps.clock, p.sleep, p.attempts, p.max_wait_s)
    return ProtectDeps(
        deps.orders, deps.events, deps.clock, placement, deps.leases, deps.manual_stop_pct, lots=deps.lots
    )


def _lot_orders(mode: Mode, broker: Broker, swept: list[BrokerOrder], lots: LotStore) -> list[BrokerOrder]:
    """The orders `follow_lots` re-derives lots from: a lot is its entry's fill less all its own exits'
    fills, and the sweep holds only what changed since the last run. So where a lot's own exit filled in
    this sweep (rare: a stop-out or a target), the orders since that ticker's oldest lot opened are read once
    (as a strategy's exit reads them, app/strategy_exit.py); otherwise no request at all."""
    tickers = {o.symbol for o in swept if o.filled_qty > 0 and exit_of_a_lot(o)}
    followed = [lot for ticker in sorted(tickers) for lot in lots.lots(mode.value, ticker)]
    if not followed:
        return swept
    found = {o.broker_order_id: o for o in lots_orders(broker, followed)}
    found.update((o.broker_order_id, o) for o in swept)  # the sweep's word is the newest
    return list(found.values())


class _Held:
    """The account's positions, read at most once a run: the lots' flat check, the divergence check and the
    equity sample share one read (a request each was a third of a run's cost)."""

    def __init__(self, broker: Broker, clock: Clock) -> None:
        self._broker, self._clock = broker, clock
        self._held: dict[str, HoldingView] | None = None
        self.read_at = clock.now()

    def __call__(self) -> dict[str, HoldingView]:
        if self._held is None:
            self.read_at = self._clock.now()  # before the read: a fill after it is not the read's to judge
            self._held = self._broker.holdings()
        return self._held


def _drop_flat_lots(mode: Mode, held: _Held, placed: list[BrokerOrder], deps: ReconcileDeps) -> None:
    if deps.lots is None or not any(o.filled_qty > 0 for o in placed):
        return  # nothing filled since the last run: no lot can have gone flat unseen by its own order
    qty = {ticker: h.qty for ticker, h in held().items()}
    dropped = drop_flat(deps.lots, mode.value, placed, qty, held.read_at)
    if dropped:
        log.warning("lots closed: the broker holds none", extra={"account": mode.value, "lots": dropped})


def _sample_equity(
    mode: Mode, broker: Broker, held: _Held, deps: ReconcileDeps, report: ReconcileReport
) -> None:
    """Last, so a broker hiccup here never holds up the order sweep above; a missed sample is a gap in a
    chart (logged), not a fault worth failing the run for."""
    if deps.snapshots is None:
        return
    now = deps.clock.now()
    try:
        account = broker.account()
        positions = held()
    except BrokerUnavailable:
        log.warning("equity not sampled: broker unavailable", extra={"account": mode.value}, exc_info=True)
        return
    deps.snapshots.record_equity_snapshot(
        EquitySnapshotItem(
            pk=f"{EQUITY_PK_PREFIX}{mode.value}",
            sk=now.astimezone(UTC).strftime(EQUITY_SK),
            account=mode.value,
            sampled_at=now,
            equity=account.equity,
            last_equity=account.last_equity,
            buying_power=account.buying_power,
            positions=[
                PositionSample(
                    ticker=ticker, qty=h.qty, market_value=h.market_value, avg_entry_price=h.avg_entry_price
                )
                for ticker, h in sorted(positions.items())
                if h.qty != 0
            ],
            expires_at=int((now + deps.snapshot_ttl).timestamp()),
        )
    )
    report.equity_sampled = True


def _order(order: BrokerOrder, deps: ReconcileDeps, report: ReconcileReport) -> None:
    recorded = deps.orders.get(order.client_order_id)
    if recorded is None:
        return  # not one of ours
    changed = (recorded.status, recorded.filled_qty) != (order.status, order.filled_qty)
    if changed:
        entry_fill_seen(deps.lots, recorded, order, deps.clock.now())  # first to see it opens the lot
        deps.orders.update(
            order.client_order_id,
            OrderUpdate(
                status=order.status,
                broker_order_id=order.broker_order_id,
                filled_qty=order.filled_qty,
                filled_avg_price=order.filled_avg_price,
                filled_at=order.filled_at,
                updated_at=deps.clock.now(),
            ),
        )
        report.orders_updated += 1
    if recorded.purpose in _FINAL_PURPOSES and order.status in _DONE:
        _settle(recorded, order, deps, report)
    elif recorded.purpose in ("close", "stop") and order.status == "filled" and changed:
        # A reverse's first half, or a stop we re-armed or restored: an exit, not the signal's end. Learnt
        # once: when this sweep is the first to see the fill (the executor may have seen it already).
        _fill_learnt(recorded, order, deps)
        if recorded.purpose == "close":  # the reversed lots end at the close's fill, not the new side's
            at = order.filled_at or deps.clock.now()
            retire_lots(deps.lots, recorded.mode.value, recorded.symbol, recorded.strategy, at)


def _hold_resting_entries(mode: Mode, orders: list[BrokerOrder], deps: ReconcileDeps) -> None:
    """An entry working at the broker whose reservation still has the hand-off lease (its executor delivery
    failed after the submit, so it never recorded the hand-off): held at the broker now, or the lease would
    free its room while the order still rests and could fill. Not knowing the order's time in force here, it
    takes the longest resting lease; this sweep releases it when it sees the order end."""
    # An entry's id names its signal, which is its reservation's (domain/signal_id.py): no store read.
    working = {
        o.client_order_id
        for o in orders
        if o.parent_client_order_id is None
        and not is_terminal(o.status)
        and not sent_for_another_purpose(o.client_order_id)
    }
    if deps.reservations is None or not working:
        return
    book = deps.reservations.book(mode.value)
    now = deps.clock.now()
    for r in book.holding():
        if not r.at_broker and client_order_id(r.reservation_id) in working:
            deps.reservations.hold_at_broker(mode.value, r.reservation_id, now + LONGEST_RESTING, now)


def _fill_learnt(recorded: OrderItem, order: BrokerOrder, deps: ReconcileDeps) -> None:
    """EntryFilled / ExitFilled, and an exit's place in the history (both keep one per fill time)."""
    now = deps.clock.now()
    if recorded.purpose in _CLOSES or recorded.purpose == "stop":
        stop_out = recorded.purpose == "stop"  # a standalone stop of ours filled: a stop-out
        record_exit(deps.history, recorded, order, now, stop_out=stop_out)
        event = exit_filled(recorded, order, now, ExitReason.STOP_LOSS if stop_out else ExitReason.SIGNAL)
        if event is not None:
            deps.events.publish(event.detail_type, event.as_detail())
        return
    if recorded.purpose == "open":
        opened = entry_filled(recorded, order, now)
        if opened is not None:
            deps.events.publish(opened.detail_type, opened.as_detail())


def _settle(recorded: OrderItem, order: BrokerOrder, deps: ReconcileDeps, report: ReconcileReport) -> None:
    now = deps.clock.now()
    if recorded.purpose == "open" and deps.reservations is not None:
        deps.reservations.release(recorded.mode.value, recorded.signal_id, now)
    if order.filled_qty > 0:
        moved = deps.signals.advance(
            recorded.signal_id,
            StatusUpdate.to(
                SignalStatus.FILLED,
                order.filled_at or now,
                f"qty={order.filled_qty} avg_price={order.filled_avg_price} (reconciled)"
                + fill_notes(recorded, order),
                filled_qty=order.filled_qty,
                filled_avg_price=order.filled_avg_price,
                broker_order_id=order.broker_order_id,
            ),
        )
        report.signals_filled += moved
        if moved:
            _fill_learnt(recorded, order, deps)
        if recorded.purpose == "exit":  # the executor may have died before it saw its exit fill
            at, account = order.filled_at or now, recorded.mode.value
            if closes_every_lot(recorded):
                clear_lots(deps.lots, account, recorded.symbol, at)
            else:
                retire_lots(deps.lots, account, recorded.symbol, recorded.strategy, at)
        return
    not_filled = settle_timed_out(recorded, order, now)
    if not_filled is not None:
        report.entries_not_filled += deps.signals.advance(recorded.signal_id, not_filled)
        return
    detail = f"alpaca order {order.broker_order_id} ended {order.status} after it was accepted"
    moved = deps.signals.advance(
        recorded.signal_id, StatusUpdate.rejected(now, RejectReason.BROKER_REJECTED.value, detail)
    )
    report.signals_rejected += moved


def _leg(mode: Mode, leg: BrokerOrder, deps: ReconcileDeps, report: ReconcileReport) -> None:
    """A bracket's filled take-profit or stop leg is an exit: the cooldown clock starts and its P&L moves
    the losing streak (a loss extends it, a win resets it). A stop leg is also a stop-out (its own cooldown).
    `record_exit` ignores an exit it has seen, so the sweep may meet the same leg every minute."""
    if leg.status != "filled" or leg.parent_client_order_id is None:
        return
    parent = deps.orders.get(leg.parent_client_order_id)
    if parent is None:
        return
    entry = parent.filled_avg_price
    pnl = None
    if entry is not None and leg.filled_avg_price is not None:
        sign = Decimal(1) if parent.side.value == "BUY" else Decimal(-1)
        pnl = (leg.filled_avg_price - entry) * leg.filled_qty * sign
    stop_out = leg.order_type in _STOP_TYPES
    at = leg.filled_at or deps.clock.now()
    last_exit, _, _ = deps.history.symbol_history(mode.value, parent.symbol, parent.strategy)
    deps.history.record_exit(mode.value, parent.symbol, parent.strategy, at, stop_out=stop_out, pnl=pnl)
    if (last_exit is None or last_exit < at) and entry is not None and pnl is not None:
        _publish_leg_exit(parent, leg, entry, pnl, stop_out, at, deps)  # first seen by this sweep
    if stop_out:
        report.stop_outs += 1
    else:
        report.target_exits += 1


def _publish_leg_exit(
    parent: OrderItem,
    leg: BrokerOrder,
    entry: Decimal,
    pnl: Decimal,
    stop_out: bool,
    at: datetime,
    deps: ReconcileDeps,
) -> None:
    risk = None if parent.stop_loss is None else abs(entry - parent.stop_loss) * leg.filled_qty
    event = ExitFilled(
        at=at,
        mode=parent.mode,
        signal_id=parent.signal_id,
        ticker=parent.symbol,
        strategy=parent.strategy,
        position="long" if parent.side.value == "BUY" else "short",
        qty=leg.filled_qty,
        entry_price=entry,
        exit_price=leg.filled_avg_price or entry,
        pnl=pnl,
        r_multiple=None if not risk else (pnl / risk).quantize(Decimal("0.01")),
        exit_reason=ExitReason.STOP_LOSS if stop_out else ExitReason.TAKE_PROFIT,
        client_order_id=leg.client_order_id,
    )
    deps.events.publish(event.detail_type, event.as_detail())


def _check_divergence(mode: Mode, positions: _Held, deps: ReconcileDeps, report: ReconcileReport) -> None:
    reported = deps.positions.reported_positions(mode.value)
    if not reported:
        return
    held = positions()
    for ticker, (qty, at) in sorted(reported.items()):
        actual = held[ticker].qty if ticker in held else Decimal(0)
        if actual != qty:
            detail = f"{ticker}: strategy reports {qty} (at {at.isoformat()}), broker holds {actual}"
            report.divergences.append(detail)
            deps.events.publish(
                "PositionDivergence",
                {
                    "account": mode.value,
                    "ticker": ticker,
                    "reported": str(qty),
                    "broker": str(actual),
                    "reported_at": at.isoformat(),
                    "at": deps.clock.now().isoformat(),
                },
            )
            log.warning("position divergence", extra={"account": mode.value, "detail": detail})

"""execute_intent: what one order intent needs at the broker, and the signal's status after it.

Alpaca's lifecycle is asynchronous (docs.alpaca.markets "Orders at Alpaca", Order Lifecycle): a market order
is answered `accepted`/`pending_new` and fills later, a cancel is a request (`pending_cancel`, the shares stay
held until `canceled`: Alpaca-API#111). So:

- open: the entry (bracket, OTO or simple) is placed and the signal is SUBMITTED; FILLED when this call or the
  reconciler sees the fill. A reverse first closes the opposite position (`app/protective_close.py`) and
  opens only once that close has filled: read back after a short wait (app/read_back.py), else the message
  is retried.
- close: the ticker's orders are cancelled and seen `canceled` before the market close is sent; a refused
  close restores the stop. Flat: the ticker's pending entries are cancelled all the same. Market closed: the
  legs stay and the close is queued for the open.
- cancel: the ticker's pending entries are cancelled (its stops stay: the position keeps its protection).

The executor holds the ticker's lease (TickerLeases) while it works, so the reconciler never repairs a
position the executor is changing. A broker rejection is a successful record (the message is done); NotYet
and transient faults go back to the queue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from tradepipe.app.collar_entry import price_entry
from tradepipe.app.fill_events import entry_filled
from tradepipe.app.flatten import flatten_position
from tradepipe.app.lot_book import clear_lots, entry_fill_seen, retire_lots
from tradepipe.app.patient_broker import Patience, PatientBroker
from tradepipe.app.placement import (
    REJECTED,
    Invalid,
    NotYet,
    PlacementDeps,
    check_entry,
    place_entry,
    placed_update,
)
from tradepipe.app.protective_close import (
    CloseDeps,
    cancel_orders,
    cancelable_entries,
    close_position,
    exit_learnt,
    reverse_close,
)
from tradepipe.app.read_back import read_order_back
from tradepipe.app.realized_risk import fill_notes
from tradepipe.app.shared_ticker import cover_lots, make_room, opposite_owners
from tradepipe.app.strategy_exit import close_own_shares
from tradepipe.contracts.items import OrderItem, OrderUpdate, StatusUpdate
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Rejected, RejectReason, Side, SignalStatus
from tradepipe.domain.order_status import is_terminal
from tradepipe.domain.risk.profile import RiskConfig
from tradepipe.domain.risk.reservations import RESTING_LEASE
from tradepipe.domain.staleness import check_intent_age
from tradepipe.ports.broker import Broker, BrokerFactory, BrokerOrder, BrokerRejected
from tradepipe.ports.clock import Clock
from tradepipe.ports.lots import LotStore
from tradepipe.ports.messaging import EventPublisher
from tradepipe.ports.quotes import Quotes
from tradepipe.ports.risk_state import (
    EntryReservations,
    QueuedCloses,
    QueuedEntries,
    SymbolHistoryStore,
    TickerLeases,
)
from tradepipe.ports.stores import OrderStore, SignalStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExecutorDeps:
    signals: SignalStore
    orders: OrderStore
    brokers: BrokerFactory
    clock: Clock
    history: SymbolHistoryStore | None = None  # exits feed cooldowns and the losing-streak guard
    leases: TickerLeases | None = None  # None: nothing else works on positions (unit tests)
    queued: QueuedEntries | None = None  # an exit drops the ticker's entry queued for the open
    closes: QueuedCloses | None = None  # an exit after hours waits here for the open
    events: EventPublisher | None = None  # EntryFilled / ExitFilled
    # The room the risk stage reserved for each entry: released when the entry ends here (rejected, filled,
    # dead), else held while it rests at the broker (the reconciler releases it when it ends).
    reservations: EntryReservations | None = None
    profiles: RiskConfig | None = None  # each strategy's max_intent_age_s (None: entries never go stale)
    # The latest quote a collared entry is re-sized against (app/collar_entry.py); None: against its limit.
    quotes: Quotes | None = None
    # Which strategy owns which shares (app/lot_book.py): an exit closes its strategy's lots only. None: the
    # whole position is closed (unit tests of the order flow).
    lots: LotStore | None = None
    sleep: Callable[[float], None] = field(default=time.sleep)
    place_attempts: int = 4
    max_rate_limit_wait_s: float = 10.0
    # The reads back after each wait (app/read_back.py), then the message is retried: Alpaca confirms a cancel
    # and fills a market order in tens of milliseconds in session (the paper broker: 50 ms each).
    cancel_wait_s: float = 0.25
    fill_wait_s: float = 0.25
    # A placed order or a cancel is read back first this soon, and again at `fill_wait_s` / `cancel_wait_s`
    # only if it has not settled (app/read_back.py): the ticker's next intent (another strategy's alert at the
    # same bar close) waits for these reads, and a reverse's position is without its stops during them.
    first_read_s: float = 0.1
    lease_ttl_s: float = 30.0  # longer than one invocation's broker calls; a dead executor frees it by then

    @property
    def placement(self) -> PlacementDeps:
        return PlacementDeps(
            self.orders, self.clock, self.sleep, self.place_attempts, self.max_rate_limit_wait_s
        )

    @property
    def closing(self) -> CloseDeps:
        return CloseDeps(
            self.signals,
            self.orders,
            self.clock,
            self.placement,
            self.history,
            self.queued,
            self.closes,
            self.events,
            self.sleep,
            self.cancel_wait_s,
            self.fill_wait_s,
            self.first_read_s,
        )


@dataclass(frozen=True)
class Executed:
    client_order_id: str
    broker_order: BrokerOrder | None
    rejected: str | None = None


def execute_intent(intent: OrderIntent, deps: ExecutorDeps) -> Executed:
    executed = _execute(intent, deps)
    if intent.kind == "open":
        _settle_reservation(intent, executed, deps)
    return executed


def _settle_reservation(intent: OrderIntent, executed: Executed, deps: ExecutorDeps) -> None:
    """A filled entry is in the broker's position now, a rejected or dead one holds nothing: release. One
    resting at the broker keeps its room (its buying power the broker now counts itself)."""
    if deps.reservations is None:
        return
    account, placed, now = intent.mode.value, executed.broker_order, deps.clock.now()
    if placed is None or is_terminal(placed.status):
        deps.reservations.release(account, intent.signal_id, now)
        return
    deps.reservations.hold_at_broker(
        account, intent.signal_id, now + RESTING_LEASE[intent.time_in_force], now
    )


def _execute(intent: OrderIntent, deps: ExecutorDeps) -> Executed:
    raw = deps.brokers.for_mode(intent.mode)
    if raw is None:
        detail = f"mode={intent.mode} is not enabled (live_trading_enabled and live credentials required)"
        return _refused(intent, deps, RejectReason.LIVE_TRADING_DISABLED, detail)
    broker = PatientBroker(raw, Patience(deps.sleep, deps.place_attempts, deps.max_rate_limit_wait_s))
    with ticker_lease(deps.leases, intent.mode.value, intent.symbol, f"executor:{intent.intent_id}", deps):
        try:
            if intent.kind == "cancel":
                # Pending entries only: an open position keeps its stop (the invariant), as a trader expects;
                # with lots, the strategy's own entries only (another strategy's are not its to cancel).
                entries = cancelable_entries(broker.open_orders(intent.symbol))
                if deps.lots is not None:
                    entries = [o for o in entries if _owner(o.client_order_id, deps) == intent.strategy]
                count = cancel_orders(broker, entries)
                detail = f"canceled {count} pending entries for {intent.symbol}; its stops stay"
                _finish(intent, deps, SignalStatus.COMPLETED, detail)
                return Executed(intent.client_order_id, None)
            if intent.kind in ("close", "flatten"):
                return _close(intent, broker, deps)
            return _open(intent, broker, deps)
        except BrokerRejected as exc:
            return _refused(intent, deps, RejectReason.BROKER_REJECTED, _alpaca_said(exc.code, exc.message))


def _close(intent: OrderIntent, broker: Broker, deps: ExecutorDeps) -> Executed:
    """An exit (its strategy's lots: app/strategy_exit.py; a ticker without lots is closed whole) or an
    operator's flatten (every lot: app/flatten.py)."""
    lots = deps.lots
    if intent.kind == "flatten":
        outcome = flatten_position(intent, broker, deps.closing, lots)
    else:
        owned = None if lots is None else close_own_shares(intent, broker, deps.closing, lots)
        outcome = close_position(intent, broker, deps.closing) if owned is None else owned
    if isinstance(outcome, str):
        if outcome:  # "" : queued for the open, the signal stays SIZED until then
            _finish(intent, deps, SignalStatus.COMPLETED, outcome)
        return Executed(intent.close_client_order_id, None)
    _record_placed(intent, intent.close_client_order_id, outcome, deps)
    placed = _read_after_fill_wait(broker, outcome, deps)
    _record_placed(intent, intent.close_client_order_id, placed, deps)
    recorded = deps.orders.get(intent.close_client_order_id)
    if placed.status == "filled" and recorded is not None:
        exit_learnt(recorded, placed, deps.closing)
        at = placed.filled_at or deps.clock.now()
        if intent.kind == "flatten":
            clear_lots(lots, intent.mode.value, intent.symbol, at)
        else:
            retire_lots(lots, intent.mode.value, intent.symbol, intent.strategy, at)
    return Executed(intent.close_client_order_id, placed)


@contextmanager
def ticker_lease(
    leases: TickerLeases | None, account: str, ticker: str, holder: str, deps: ExecutorDeps
) -> Iterator[None]:
    if leases is None:
        yield
        return
    if not leases.acquire_lease(account, ticker, holder, deps.clock.now(), deps.lease_ttl_s):
        raise NotYet(f"{account}#{ticker} is leased to another worker (the reconciler repairing it)")
    try:
        yield
    finally:
        leases.release_lease(account, ticker, holder)


def _open(intent: OrderIntent, broker: Broker, deps: ExecutorDeps) -> Executed:
    recorded = deps.orders.get(intent.client_order_id)
    if recorded is not None and recorded.status == REJECTED:
        return _refused_earlier(intent, recorded, broker, deps)
    placed = None if recorded is None else broker.find_order(intent.client_order_id)
    if placed is None:
        ready = _before_sending(intent, recorded, deps)
        if isinstance(ready, Executed):
            return ready
        intent = ready
        # A broken order rule is a decision: checked before any broker call (a reverse's close included).
        if check_entry(intent) is None:
            opposite = _clear_the_way(intent, broker, deps)
            if opposite is not None:
                return _refused(intent, deps, opposite.reason, opposite.detail)
        try:
            result = place_entry(intent, recorded, broker, deps.placement)
        except BrokerRejected:
            if deps.lots is not None:  # refused: the protection make_room lifted goes back first
                cover_lots(intent, broker, deps.closing, deps.lots)
            raise
        if isinstance(result, Invalid):
            return _refused(intent, deps, RejectReason.ORDER_INVALID, result.detail)
        placed = result
    _record_placed(intent, intent.client_order_id, placed, deps)  # SUBMITTED as answered, before any wait
    placed = _read_after_fill_wait(broker, placed, deps)
    _record_placed(intent, intent.client_order_id, placed, deps)
    if deps.lots is not None:  # the other lots' protection, lifted by make_room, back once the entry is done
        cover_lots(intent, broker, deps.closing, deps.lots)
    return Executed(intent.client_order_id, placed)


def _refused_earlier(
    intent: OrderIntent, recorded: OrderItem, broker: Broker, deps: ExecutorDeps
) -> Executed:
    """An earlier delivery recorded this entry refused (by Alpaca, an order rule or its age) and then failed
    before it was done: a crash, or a fault putting back the protection `make_room` lifted. Done now as that
    delivery would have done it: the other lots covered again, the signal REJECTED with the recorded reason
    (a signal already REJECTED stays as it is: the move is conditional)."""
    if deps.lots is not None:
        cover_lots(intent, broker, deps.closing, deps.lots)
    code, detail = recorded.reject_code or "", recorded.reject_reason or "refused"
    # A refusal of ours (ORDER_INVALID, STALE_AT_SUBMIT, …) records its reason as the code; Alpaca's, its own.
    ours = next((reason for reason in RejectReason if reason.value == code), None)
    if ours is not None:
        return _refused(intent, deps, ours, detail)
    return _refused(intent, deps, RejectReason.BROKER_REJECTED, _alpaca_said(code, detail))


def _alpaca_said(code: str, message: str) -> str:
    return f"alpaca {code}: {message}"


def _refused(intent: OrderIntent, deps: ExecutorDeps, reason: RejectReason, detail: str) -> Executed:
    _finish(intent, deps, SignalStatus.REJECTED, detail, reason)
    return Executed(intent.client_order_id, None, rejected=reason)


def _before_sending(
    intent: OrderIntent, recorded: OrderItem | None, deps: ExecutorDeps
) -> OrderIntent | Executed:
    """An entry about to be sent: refused when stale or priced past its collar, else re-priced (a collared
    entry against the latest quote) and its record kept in step with the quantity it is sent with."""
    stale = _stale(intent, deps)
    if stale is not None:
        return _reject_stale(intent, recorded is not None, stale, deps)
    priced = price_entry(intent, deps.quotes)
    if isinstance(priced, Rejected):
        return _reject_stale(intent, recorded is not None, priced, deps)
    if recorded is not None and recorded.qty != priced.qty:  # an earlier attempt's quote: re-sized
        deps.orders.update(intent.client_order_id, OrderUpdate(qty=priced.qty, updated_at=deps.clock.now()))
    return priced


def _owner(client_order_id: str, deps: ExecutorDeps) -> str | None:
    recorded = deps.orders.get(client_order_id)
    return None if recorded is None else recorded.strategy


def _clear_the_way(intent: OrderIntent, broker: Broker, deps: ExecutorDeps) -> Rejected | None:
    holding = broker.holdings().get(intent.symbol)
    held = Decimal(0) if holding is None else holding.qty
    if (held < 0) if intent.side is Side.BUY else (held > 0):
        owners = opposite_owners(intent, held, deps.lots)
        if owners:
            detail = f"{intent.symbol} is held {held} for {', '.join(owners)}: a {intent.side} would net it"
            return Rejected(RejectReason.OPPOSITE_LOTS_HELD, detail)
        # Alpaca never flips long to short in one order: close, see the fill, then open.
        reverse_close(intent, holding, broker, deps.closing)
        retire_lots(deps.lots, intent.mode.value, intent.symbol, intent.strategy, deps.clock.now())
    elif deps.lots is not None:  # other lots' orders would refuse it as a wash trade (app/shared_ticker.py)
        if held == 0:  # only then can an earlier delivery's reverse have closed the position
            _reversed_earlier(intent, broker, deps, deps.lots)
        make_room(intent, broker, deps.closing, deps.lots)
    return None


def _reversed_earlier(intent: OrderIntent, broker: Broker, deps: ExecutorDeps, lots: LotStore) -> None:
    """A reverse whose close an earlier delivery placed and which filled after that delivery's last read (it
    ended NotYet): the position is flat now, so the branch above is not taken again. The close's fill is
    recorded and the strategy's reversed lots retired here, as they would have been then; left, they would
    net against the new side's lot and the strategy's next exit would find nothing to close."""
    coid = intent.close_client_order_id
    recorded = deps.orders.get(coid)
    if recorded is None or recorded.purpose != "close":
        return  # no reverse begun
    filled_at = recorded.filled_at
    if recorded.status != "filled":
        placed = broker.find_order(coid)
        if placed is None or placed.status != "filled":
            return
        deps.orders.update(coid, placed_update(placed, deps.clock.now()))
        exit_learnt(recorded, placed, deps.closing)
        filled_at = placed.filled_at
    # Also when its fill was recorded already (the reconciler, or a delivery that died right after): retiring
    # is idempotent, and the new side's lot opens only after this, so it is never among those retired.
    retire_lots(lots, intent.mode.value, intent.symbol, intent.strategy, filled_at or deps.clock.now())


def _read_after_fill_wait(broker: Broker, placed: BrokerOrder, deps: ExecutorDeps) -> BrokerOrder:
    """A read after `first_read_s` and, if the order is still working, one more at `fill_wait_s`: a market
    order in session usually fills within the first (Alpaca: tens of milliseconds), so the signal is FILLED
    here rather than at the reconciler's next run, and the ticker's next intent waits 0.1 s, not 0.25 s.
    Still working after the last read: SUBMITTED, and the reconciler (or a redelivery) sees the fill later."""
    return read_order_back(broker, placed, deps.sleep, deps.first_read_s, deps.fill_wait_s)


def _stale(intent: OrderIntent, deps: ExecutorDeps) -> Rejected | None:
    """Only reached while nothing is at the broker: an entry already placed is followed, whatever its age."""
    if deps.profiles is None:
        return None
    max_age_s = deps.profiles.profile_for(intent.strategy).max_intent_age_s
    return check_intent_age(intent.kind == "open", intent.sized_at, deps.clock.now(), max_age_s)


def _reject_stale(intent: OrderIntent, recorded: bool, stale: Rejected, deps: ExecutorDeps) -> Executed:
    if recorded:  # an earlier attempt wrote the order before failing to place it: it ends here too
        deps.orders.update(
            intent.client_order_id,
            OrderUpdate(
                status=REJECTED,
                reject_code=stale.reason.value,
                reject_reason=stale.detail,
                updated_at=deps.clock.now(),
            ),
        )
    log.warning(
        "entry refused before sending",
        extra={"signal_id": intent.signal_id, "reason": stale.reason.value, "detail": stale.detail},
    )
    return _refused(intent, deps, stale.reason, stale.detail)


def _record_placed(intent: OrderIntent, coid: str, placed: BrokerOrder, deps: ExecutorDeps) -> None:
    now = deps.clock.now()
    before = deps.orders.get(coid) if deps.lots is not None and placed.filled_qty > 0 else None
    deps.orders.update(coid, placed_update(placed, now))
    entry_fill_seen(deps.lots, before, placed, now)  # the strategy's lot, once (app/lot_book.py)
    deps.signals.advance(
        intent.signal_id,
        StatusUpdate.to(
            SignalStatus.SUBMITTED,
            now,
            f"{coid} alpaca order {placed.broker_order_id} {placed.status}",
            broker_order_id=placed.broker_order_id,
        ),
    )
    if placed.status == "filled":
        recorded = deps.orders.get(coid)
        notes = "" if recorded is None or recorded.purpose != "open" else fill_notes(recorded, placed)
        moved = deps.signals.advance(
            intent.signal_id,
            StatusUpdate.to(
                SignalStatus.FILLED,
                placed.filled_at or now,
                f"qty={placed.filled_qty} avg_price={placed.filled_avg_price}{notes}",
                filled_qty=placed.filled_qty,
                filled_avg_price=placed.filled_avg_price,
            ),
        )
        # An exit's fill is published where the close is handled (app/protective_close.py).
        if moved and recorded is not None and recorded.purpose == "open" and deps.events is not None:
            event = entry_filled(recorded, placed, now)
            if event is not None:
                deps.events.publish(event.detail_type, event.as_detail())
    log.info("order placed", extra={"client_order_id": coid, "status": placed.status})


def _finish(
    intent: OrderIntent,
    deps: ExecutorDeps,
    status: SignalStatus,
    detail: str,
    reason: RejectReason | None = None,
) -> None:
    now = deps.clock.now()
    update = (
        StatusUpdate.to(status, now, detail[:1000])
        if reason is None
        else StatusUpdate.rejected(now, reason.value, detail)
    )
    deps.signals.advance(intent.signal_id, update)

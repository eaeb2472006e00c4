"""assess_signal: gather the risk context, let the risk engine decide, then record the decision and hand an
order intent to the executor (or queue the entry for the open, or reject it with the rule's reason)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tradepipe.app.notices import announce
from tradepipe.contracts.events import RiskCapApplied, TradingStateChanged
from tradepipe.contracts.items import StatusUpdate
from tradepipe.contracts.messages import OrderIntent, SignalAccepted
from tradepipe.domain.exits import resolve_stop_limit
from tradepipe.domain.lifecycle import PRE_SIZING
from tradepipe.domain.model import (
    Action,
    OrderType,
    Rejected,
    RejectReason,
    Side,
    Signal,
    SignalStatus,
)
from tradepipe.domain.risk.bars import bar_start
from tradepipe.domain.risk.context import (
    Account,
    Asset,
    Holding,
    MarketClock,
    RiskContext,
    SymbolHistory,
    TradingState,
)
from tradepipe.domain.risk.engine import FRACTION_STEP, Approved, Assessment, Deferred, assess
from tradepipe.domain.risk.profile import RiskConfig, RiskProfile
from tradepipe.domain.risk.reservations import Book, EntryRequest, Granted, fit, with_reservations
from tradepipe.domain.signal_id import client_order_id
from tradepipe.ports.broker import Broker, BrokerFactory, figures_read_at
from tradepipe.ports.clock import Clock
from tradepipe.ports.market_data import DailyBar, MarketData
from tradepipe.ports.messaging import EventPublisher, IntentQueue
from tradepipe.ports.risk_state import (
    EntryReservations,
    PositionReports,
    QueuedEntries,
    SymbolHistoryStore,
    TradingStateStore,
)
from tradepipe.ports.stores import SignalStore

log = logging.getLogger(__name__)

_KIND = {Action.ENTER: "open", Action.EXIT: "close", Action.CANCEL: "cancel"}
AtrFn = Callable[[list[DailyBar], int], Decimal | None]


@dataclass(frozen=True)
class RiskDeps:
    store: SignalStore
    intents: IntentQueue
    clock: Clock
    config: RiskConfig
    brokers: BrokerFactory
    trading_state: TradingStateStore
    history: SymbolHistoryStore
    reservations: EntryReservations
    positions: PositionReports
    queued: QueuedEntries
    market_data: MarketData
    events: EventPublisher
    atr: AtrFn  # TA-Lib's ATR behind a function, so the domain and this module stay numpy-free
    # Everything the decision writes, from the reserving write to the intent sent, as one write where the
    # backend can (SQLite: one transaction, so a failure in between leaves nothing decided and the writes
    # take one turn on the writer lock instead of four); else each write its own (DynamoDB).
    unit_of_work: Callable[[], AbstractContextManager[object]] = nullcontext


def _intent(signal: Signal, now: datetime, **order: Any) -> OrderIntent:
    kind = _KIND[signal.action]
    return OrderIntent(
        intent_id=f"{signal.signal_id}:{kind}",
        client_order_id=client_order_id(signal.signal_id, "close" if kind == "close" else "open"),
        close_client_order_id=client_order_id(signal.signal_id, "close"),
        signal_id=signal.signal_id,
        mode=signal.mode,
        strategy=signal.strategy,
        symbol=signal.ticker,
        kind=kind,
        strategy_position=signal.strategy_position,
        sized_at=now,
        **order,
    )


def _wants_atr(signal: Signal, profile: RiskProfile) -> bool:
    no_stop = signal.stop_loss is None and signal.stop_loss_percent is None
    return (no_stop and bool(profile.atr_stop)) or bool(profile.min_atr) or bool(profile.max_atr)


def gather_context(
    signal: Signal, broker: Broker, profile: RiskProfile, deps: RiskDeps, now: datetime
) -> RiskContext:
    """Everything the engine needs, read once: account, holdings, clock, asset, bars, stored state."""
    account = deps.trading_state.trading_state(signal.mode.value)
    if signal.action is not Action.ENTER:
        # Exits and cancels are judged on the trading state alone: no broker reads on the way out.
        return RiskContext(
            account=Account(Decimal(0), Decimal(0), Decimal(0), Decimal(0)),
            holdings={},
            state=TradingState(account.state),
            clock=MarketClock(True),
            asset=Asset(),
        )
    view = broker.account()
    high_water = deps.trading_state.raise_high_water_mark(signal.mode.value, view.equity)
    last_exit, last_stop, last_entry = deps.history.symbol_history(
        signal.mode.value, signal.ticker, signal.strategy
    )
    bars = (
        # ATR on bars of the alert's timeframe: a 1h stop is judged against hourly ranges, not daily ones.
        list(deps.market_data.bars(signal.ticker, signal.timeframe, profile.atr_period * 3))
        if _wants_atr(signal, profile) or (signal.reference_price is None)
        else []
    )
    asset = broker.asset(signal.ticker)
    clock = broker.clock()
    return RiskContext(
        account=Account(
            equity=view.equity,
            last_equity=view.last_equity,
            buying_power=view.buying_power,
            high_water_mark=high_water,
        ),
        holdings={s: Holding(h.qty, h.market_value) for s, h in broker.holdings().items()},
        # Read now, or earlier by the snapshot: what was released or handed off since still counts.
        figures_read_at=figures_read_at(broker) or now,
        state=TradingState(account.state),
        clock=MarketClock(clock.is_open, clock.next_open),
        asset=Asset(tradable=False)
        if asset is None
        else Asset(asset.tradable, asset.fractionable, asset.shortable),
        history=SymbolHistory(last_exit_at=last_exit, last_stop_out_at=last_stop, last_entry_bar=last_entry),
        losing_streak=account.losing_streak,
        last_price=bars[-1].c if bars else None,
        atr=deps.atr(bars, profile.atr_period) if bars else None,
    )


def assess_signal(message: SignalAccepted, deps: RiskDeps) -> OrderIntent | Rejected | Deferred | None:
    """Returns the intent sent, the rejection recorded, the deferral, or None for a redelivery that already
    moved on."""
    signal = message.signal
    recorded = deps.store.get(signal.signal_id)
    if recorded is None or recorded.status not in (*PRE_SIZING, SignalStatus.SIZED):
        return None  # expired, or decided: a redelivery that already moved on
    now = deps.clock.now()
    if recorded.status is SignalStatus.SIZED and recorded.intent is not None:
        # Decided before a crash cut the send short: send what was decided, never decide twice (the second
        # decision could differ, leaving the signal SIZED with no intent anywhere).
        intent = OrderIntent.model_validate_json(recorded.intent)
        deps.intents.send(intent)
        return intent
    read = _read(signal, deps, now)
    # No broker call from here on: the book, the decision and its writes are one unit (held briefly).
    with deps.unit_of_work():
        outcome = read if isinstance(read, Assessment) else _decide(signal, deps, now, *read)
        if outcome.switch is not None:
            _switch_state(signal, outcome, deps, now)
        if signal.strategy_position is not None:
            # What the strategy believes it holds after this alert: the reconciler compares it with the
            # broker.
            deps.positions.report_position(signal.mode.value, signal.ticker, signal.strategy_position, now)
        if recorded.status is SignalStatus.SIZED and not isinstance(outcome.decision, Approved):
            # Sized before this field existed (no recorded intent): only a decision to send again may act. A
            # rule that reads differently now (this signal's own order counted in the rate) must not undo it.
            return None
        match outcome.decision:
            case Rejected() as rejected:
                _reject(signal.signal_id, rejected, deps, now)
                return rejected
            case Deferred() as deferred:
                return _queue(signal, deferred, deps, now)
            case Approved() as approved:
                return _send(signal, approved, deps, now)
    raise AssertionError(outcome)  # pragma: no cover


def _read(signal: Signal, deps: RiskDeps, now: datetime) -> Assessment | tuple[RiskProfile, RiskContext]:
    """What the decision needs from the broker (the profile and the context), or the rejection when the
    signal's account may not trade."""
    profile = deps.config.profile_for(signal.strategy)
    broker = deps.brokers.for_mode(signal.mode)
    if broker is None or (signal.mode.value == "live" and not profile.live_trading_enabled):
        return Assessment(
            Rejected(
                RejectReason.LIVE_TRADING_DISABLED,
                f"mode={signal.mode} is not enabled for strategy {signal.strategy} "
                "(needs live_trading_enabled for the stage and the strategy, and live credentials)",
            )
        )
    return profile, gather_context(signal, broker, profile, deps, now)


def _decide(
    signal: Signal, deps: RiskDeps, now: datetime, profile: RiskProfile, ctx: RiskContext
) -> Assessment:
    # The engine sees the live reservations too (a cap that already bites rejects early), but only the
    # reserving write decides on them: another entry may reserve between this read and that write.
    book = deps.reservations.book(signal.mode.value).live(now)
    seen = with_reservations(ctx, book, profile)
    outcome = assess(signal, seen, profile, now)
    if isinstance(outcome.decision, Approved) and outcome.decision.qty is not None:
        decision = _reserve(signal, outcome.decision, ctx, profile, deps, (book, seen))
        return replace(outcome, decision=decision)
    return outcome


def _reserve(
    signal: Signal,
    approved: Approved,
    ctx: RiskContext,
    profile: RiskProfile,
    deps: RiskDeps,
    seen: tuple[Book, RiskContext],
) -> Approved | Rejected:
    """Reserve the entry's room on the account: the order rate and every cap checked against the broker's
    figures plus the live reservations, in one atomic write. The quantity can only shrink here."""
    assert approved.qty is not None  # noqa: S101 - an entry's approval carries its quantity
    assert approved.entry is not None  # noqa: S101 - and its entry
    request = EntryRequest(
        reservation_id=signal.signal_id,
        ticker=signal.ticker,
        side=signal.side or Side.BUY,
        qty=approved.qty,
        entry=approved.entry,
        step=FRACTION_STEP if approved.fractional else Decimal(1),
        lease=timedelta(seconds=profile.reservation_lease_s),
    )
    # Decided at the time of the write (`deps.clock.now()` inside it): a release a while ago may be gone from
    # the book, and `fit` refuses figures too old for it to complement.
    granted = deps.reservations.reserve(
        signal.mode.value, lambda book: fit(request, book, ctx, profile, deps.clock.now(), seen)
    )
    if not isinstance(granted, Granted):
        return granted
    qty = granted.reservation.qty
    # The risk at the stop scales with the quantity (per share it is the engine's: stop or stop-limit).
    risk = None if approved.risk is None else approved.risk * qty / approved.qty
    return replace(approved, qty=qty, caps=(*approved.caps, *granted.caps), risk=risk)


def outcome_metric(outcome: OrderIntent | Rejected | Deferred | None) -> str | None:
    """The metric an assessment counts in; None (a redelivery that already moved on) counts nowhere."""
    match outcome:
        case OrderIntent():
            return "SignalsSized"
        case Rejected():
            return "SignalsRejected"
        case Deferred():
            return "SignalsQueued"
    return None


def _switch_state(signal: Signal, outcome: Assessment, deps: RiskDeps, now: datetime) -> None:
    switch = outcome.switch
    assert switch is not None  # noqa: S101 - checked by the caller
    deps.trading_state.set_trading_state(signal.mode.value, switch.to.value, switch.rule, switch.detail, now)
    announce(
        deps.events,
        TradingStateChanged(
            at=now,
            account=signal.mode,
            state=switch.to,
            rule=switch.rule,
            detail=switch.detail,
            signal_id=signal.signal_id,
        ),
    )
    log.warning("trading state switched", extra={"state": switch.to.value, "rule": switch.rule})


def _reject(signal_id: str, rejected: Rejected, deps: RiskDeps, now: datetime) -> None:
    update = StatusUpdate.rejected(
        now, rejected.reason.value, rejected.detail, risk_caps=list(rejected.caps) or None
    )
    deps.store.advance(signal_id, update)
    log.info("signal rejected", extra={"signal_id": signal_id, "reason": rejected.reason.value})


def _queue(signal: Signal, deferred: Deferred, deps: RiskDeps, now: datetime) -> Deferred | None:
    moved = deps.store.advance(signal.signal_id, StatusUpdate.to(SignalStatus.QUEUED, now, deferred.detail))
    if not moved:
        return None
    replaced = deps.queued.queue_entry(signal.mode.value, signal.ticker, signal.signal_id, now)
    if replaced and replaced != signal.signal_id:
        # One queued entry per account and ticker: the newer alert replaces the older (as TradersPost does).
        why = f"replaced in the open queue by the newer signal {signal.signal_id}"
        _reject(replaced, Rejected(RejectReason.MARKET_CLOSED, why), deps, now)
    return deferred


def _collar_fields(approved: Approved, profile: RiskProfile) -> dict[str, Any]:
    """What the executor needs to keep a collared entry within its risk (none for other entries)."""
    if not approved.collared:
        return {}
    return {
        "risk_budget": approved.risk_budget,
        "risk_tolerance_pct": profile.risk_tolerance_pct,
        "entry_timeout_s": profile.entry_timeout_s,
    }


def _send(signal: Signal, approved: Approved, deps: RiskDeps, now: datetime) -> OrderIntent | None:
    detail: str = _KIND[signal.action]
    if approved.qty is None:
        intent = _intent(signal, now)
    else:
        intent = _intent(
            signal,
            now,
            side=signal.side,
            qty=approved.qty,
            order_type=OrderType.LIMIT if approved.collared else signal.order_type,
            limit_price=approved.limit_price,
            reference_price=approved.entry,
            take_profit=approved.exits.target,
            stop_loss=approved.exits.stop,
            stop_limit_price=None
            if approved.exits.stop is None or approved.entry is None
            else resolve_stop_limit(signal, approved.entry, signal.side or Side.BUY),
            time_in_force=approved.time_in_force,
            **_collar_fields(approved, deps.config.profile_for(signal.strategy)),
        )
        collar = f" limit={approved.limit_price} (collar)" if approved.collared else ""
        detail = f"open qty={approved.qty} risk={approved.risk}{collar}" + (
            f"; caps: {'; '.join(cap.note() for cap in approved.caps)}" if approved.caps else ""
        )
    moved = deps.store.advance(
        signal.signal_id,
        StatusUpdate.to(
            SignalStatus.SIZED,
            now,
            detail[:1000],
            qty=intent.qty,
            client_order_id=intent.client_order_id,
            close_client_order_id=intent.close_client_order_id,
            stop_loss=intent.stop_loss,
            take_profit=intent.take_profit,
            risk_caps=list(approved.caps) or None,
            intent=intent.model_dump_json(),
        ),
    )
    if not moved:
        current = deps.store.get(signal.signal_id)
        if current is None or current.status is not SignalStatus.SIZED:
            return None
        # SIZED but maybe never sent (crash between the write and the send): send again; the executor's
        # client_order_id lookup makes a second delivery harmless.
    elif approved.qty is not None:
        account = signal.mode.value
        if signal.alert_time is not None:
            deps.history.record_entry(
                account, signal.ticker, signal.strategy, bar_start(signal.alert_time, signal.timeframe)
            )
        for cap in approved.caps:
            announce(
                deps.events,
                RiskCapApplied(
                    at=now,
                    account=signal.mode,
                    signal_id=signal.signal_id,
                    ticker=signal.ticker,
                    strategy=signal.strategy,
                    cap=cap.cap,
                    qty_before=cap.qty_before,
                    qty_after=cap.qty_after,
                    limit=cap.limit,
                ),
            )
    deps.intents.send(intent)
    return intent

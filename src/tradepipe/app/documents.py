"""Table items -> OpenSearch documents (`contracts/documents.py`): one explicit mapper per document.

Every document carries the four dimensions dashboards split by: mode, strategy, ticker and sector (from the
bundled mapping, `tradepipe.sectors`; "Unknown" when unlisted). Account-level documents carry
`ACCOUNT_WIDE` ("*") in strategy, ticker and sector instead of null. Documents about a signal also carry
its per-stage times: a signal document from its own trail; an execution received / enqueued / sized from
its signal and submitted / filled from the order itself; a fill all five from its signal (its own time is
`executed_at`). The signal may be gone (TTL): its times are then null.

Money and quantities become doubles (aggregations work on doubles); the exact Decimals stay in DynamoDB.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum

from tradepipe.contracts.documents import (
    ACCOUNT_WIDE,
    EquitySnapshotDocument,
    ExecutionDocument,
    FillDocument,
    RiskEventDocument,
    SignalDocument,
)
from tradepipe.contracts.items import (
    EquitySnapshotItem,
    FillItem,
    OrderItem,
    SignalItem,
    StateSwitchEntry,
    TradingStateItem,
)
from tradepipe.domain.model import RejectReason, SignalStatus
from tradepipe.sectors import sector_of

# Trading states as a level, so "trading state over time" can be a line (max per bucket = the worst state).
STATE_LEVELS = {"ACTIVE": 0, "REDUCING": 1, "HALTED": 2}

_ACCEPTED = frozenset(
    {SignalStatus.SIZED, SignalStatus.SUBMITTED, SignalStatus.FILLED, SignalStatus.COMPLETED}
)
_CAP_REJECTIONS = frozenset({RejectReason.CAPPED_TO_ZERO.value, RejectReason.MAX_OPEN_POSITIONS.value})
_COPIED_SIGNAL_FIELDS = (
    "signal_id",
    "source",
    "credential",
    "ticker",
    "strategy",
    "timeframe",
    "client_order_id",
    "close_client_order_id",
    "broker_order_id",
    "reject_reason",
    "reject_detail",
    "alert_time",
    "received_at",
    "updated_at",
)
_NUMERIC_SIGNAL_FIELDS = (
    "sizing_value",
    "limit_price",
    "entry_price",
    "stop_loss",
    "stop_loss_percent",
    "take_profit",
    "take_profit_percent",
    "strategy_position",
    "qty",
    "filled_qty",
    "filled_avg_price",
)
_ACCOUNT_FIELDS = (
    "equity",
    "last_equity",
    "day_pl",
    "buying_power",
    "long_market_value",
    "short_market_value",
    "gross_exposure",
    "net_exposure",
    "open_positions",
)
_POSITION_FIELDS = (
    "side",
    "qty",
    "market_value",
    "gross_value",
    "avg_entry_price",
    "cost_basis",
    "unrealized_pl",
    "exposure_pct",
)


def _first_times(item: SignalItem | None) -> dict[SignalStatus, datetime]:
    first_at: dict[SignalStatus, datetime] = {}
    for entry in [] if item is None else item.history:
        first_at.setdefault(entry.status, entry.at)
    return first_at


def signal_stage_times(item: SignalItem | None) -> dict[str, datetime | None]:
    """The first time the signal reached each stage (StageTimes' fields)."""
    first_at = _first_times(item)
    return {
        "received_at": None if item is None else item.received_at,
        "enqueued_at": first_at.get(SignalStatus.ENQUEUED),
        "sized_at": first_at.get(SignalStatus.SIZED),
        "submitted_at": first_at.get(SignalStatus.SUBMITTED),
        "filled_at": first_at.get(SignalStatus.FILLED),
    }


def signal_document(item: SignalItem) -> SignalDocument:
    first_at = _first_times(item)
    times = signal_stage_times(item)
    copied = {name: getattr(item, name) for name in _COPIED_SIGNAL_FIELDS}
    numbers = {name: _f(getattr(item, name)) for name in _NUMERIC_SIGNAL_FIELDS}
    queued_at = first_at.get(SignalStatus.QUEUED)
    if item.status is SignalStatus.REJECTED:
        outcome = "rejected"
    elif item.status is SignalStatus.ENTRY_NOT_FILLED:
        outcome = "not_filled"  # a collared entry cancelled at its timeout: neither accepted nor refused
    elif item.status in _ACCEPTED:
        outcome = "accepted"
    else:
        outcome = "pending"
    return SignalDocument(
        **copied,
        **numbers,
        **{k: v for k, v in times.items() if k != "received_at"},
        risk_caps=None if item.risk_caps is None else [cap.cap for cap in item.risk_caps],
        status=item.status.value,
        outcome=outcome,
        action=_v(item.action),
        mode=_v(item.mode),
        side=_v(item.side),
        sector=_sector(item.ticker),
        sizing_mode=_v(item.sizing_mode),
        order_type=_v(item.order_type),
        queued_at=queued_at,
        completed_at=first_at.get(SignalStatus.COMPLETED),
        rejected_at=first_at.get(SignalStatus.REJECTED),
        enqueue_ms=_ms(item.received_at, times["enqueued_at"]),
        # Market hours are not latency: a signal that waited for the open has no sizing time.
        sizing_ms=None if queued_at is not None else _ms(times["enqueued_at"], times["sized_at"]),
        submit_ms=_ms(times["sized_at"], times["submitted_at"]),
        fill_ms=_ms(times["submitted_at"], times["filled_at"]),
        total_ms=_ms(item.received_at, times["filled_at"]),
    )


def execution_document(item: OrderItem, signal: SignalItem | None = None) -> ExecutionDocument:
    times = signal_stage_times(signal)
    notional = (
        None
        if item.filled_qty is None or item.filled_avg_price is None
        else _f(item.filled_qty * item.filled_avg_price)
    )
    return ExecutionDocument(
        client_order_id=item.client_order_id,
        signal_id=item.signal_id,
        mode=item.mode.value,
        strategy=item.strategy,
        ticker=item.symbol,
        sector=sector_of(item.symbol),
        side=item.side.value,
        qty=float(item.qty),
        order_class=item.order_class,
        order_type=item.order_type,
        limit_price=_f(item.limit_price),
        purpose=item.purpose,
        take_profit=_f(item.take_profit),
        stop_loss=_f(item.stop_loss),
        status=item.status,
        broker_order_id=item.broker_order_id,
        filled_qty=_f(item.filled_qty),
        filled_avg_price=_f(item.filled_avg_price),
        filled_notional=notional,
        reject_code=item.reject_code,
        reject_reason=item.reject_reason,
        created_at=item.created_at,
        updated_at=item.updated_at,
        received_at=times["received_at"],
        enqueued_at=times["enqueued_at"],
        sized_at=times["sized_at"],
        submitted_at=item.submitted_at,
        filled_at=item.filled_at,
    )


def fill_document(item: FillItem, signal: SignalItem | None = None) -> FillDocument:
    notional = item.qty * item.price
    return FillDocument(
        fill_id=f"{item.pk}#{item.execution_id}",
        execution_id=item.execution_id,
        mode=item.mode.value,
        # A fill of an order that is not ours (or whose signal expired) has no strategy to attribute.
        strategy=None if signal is None else signal.strategy,
        ticker=item.symbol,
        sector=sector_of(item.symbol),
        side=item.side,
        qty=float(item.qty),
        signed_qty=float(item.signed_qty),
        price=float(item.price),
        notional=float(notional),
        cash_flow=float(-item.signed_qty * item.price),
        executed_at=item.at,
        broker_order_id=item.broker_order_id,
        client_order_id=item.client_order_id,
        signal_id=item.signal_id,
        **signal_stage_times(signal),
    )


def switch_event(account: str, entry: StateSwitchEntry) -> RiskEventDocument:
    return RiskEventDocument(
        event_id=f"{account}#state#{entry.at.isoformat()}#{entry.to_state}",
        kind="state_switch",
        mode=account,
        strategy=ACCOUNT_WIDE,
        ticker=ACCOUNT_WIDE,
        sector=ACCOUNT_WIDE,
        at=entry.at,
        rule=entry.rule,
        detail=entry.detail,
        from_state=entry.from_state,
        to_state=entry.to_state,
        state_level=STATE_LEVELS.get(entry.to_state),
        signal_id=None,
        qty_before=None,
        qty_after=None,
        received_at=None,
        enqueued_at=None,
        sized_at=None,
        submitted_at=None,
        filled_at=None,
    )


def cap_events(item: SignalItem) -> list[RiskEventDocument]:
    """The caps that bit on this signal: `cap_applied` when the order was shrunk and sent, `cap_rejected`
    when a cap left nothing (CAPPED_TO_ZERO) or a position-count cap refused it (MAX_OPEN_POSITIONS)."""
    if not item.risk_caps:
        return []
    first_at = _first_times(item)
    if item.status is SignalStatus.REJECTED and item.reject_reason in _CAP_REJECTIONS:
        kind, at = "cap_rejected", first_at.get(SignalStatus.REJECTED)
    else:
        kind, at = "cap_applied", first_at.get(SignalStatus.SIZED)
    return [
        RiskEventDocument(
            event_id=f"{item.signal_id}#cap#{n}#{cap.cap}",
            kind=kind,
            mode=_v(item.mode),
            strategy=item.strategy,
            ticker=item.ticker,
            sector=_sector(item.ticker),
            at=at or item.updated_at,
            rule=cap.cap,
            detail=cap.note(),
            from_state=None,
            to_state=None,
            state_level=None,
            signal_id=item.signal_id,
            qty_before=_f(cap.qty_before),
            qty_after=_f(cap.qty_after),
            **signal_stage_times(item),
        )
        for n, cap in enumerate(item.risk_caps)
    ]


def new_switches(new: TradingStateItem, old: TradingStateItem | None) -> list[StateSwitchEntry]:
    """The switches a STATE# change added. The item keeps the last 50 (older ones roll off the front), so
    anything not in the old image is new; a change that only moved the high-water mark adds none."""
    seen = set() if old is None else set(old.history)
    return [entry for entry in new.history if entry not in seen]


def equity_documents(item: EquitySnapshotItem) -> list[EquitySnapshotDocument]:
    """One `account` document (equity, exposure) and one `position` document per position held."""
    positions = [p for p in item.positions if p.qty != 0]
    long_mv = sum((p.market_value for p in positions if p.market_value > 0), Decimal(0))
    short_mv = sum((p.market_value for p in positions if p.market_value < 0), Decimal(0))
    prefix = f"{item.account}#{item.sk}"
    docs = [
        EquitySnapshotDocument(
            snapshot_id=f"{prefix}#{ACCOUNT_WIDE}",
            kind="account",
            mode=item.account,
            strategy=ACCOUNT_WIDE,
            ticker=ACCOUNT_WIDE,
            sector=ACCOUNT_WIDE,
            sampled_at=item.sampled_at,
            equity=_f(item.equity),
            last_equity=_f(item.last_equity),
            day_pl=_f(item.equity - item.last_equity),
            buying_power=_f(item.buying_power),
            long_market_value=_f(long_mv),
            short_market_value=_f(short_mv),
            gross_exposure=_f(long_mv - short_mv),
            net_exposure=_f(long_mv + short_mv),
            open_positions=len(positions),
            **dict.fromkeys(_POSITION_FIELDS),
        )
    ]
    for p in sorted(positions, key=lambda p: p.ticker):
        cost = p.qty * p.avg_entry_price
        docs.append(
            EquitySnapshotDocument(
                snapshot_id=f"{prefix}#{p.ticker}",
                kind="position",
                mode=item.account,
                strategy=ACCOUNT_WIDE,
                ticker=p.ticker,
                sector=sector_of(p.ticker),
                sampled_at=item.sampled_at,
                **dict.fromkeys(_ACCOUNT_FIELDS),
                side="long" if p.qty > 0 else "short",
                qty=_f(p.qty),
                market_value=_f(p.market_value),
                gross_value=_f(abs(p.market_value)),
                avg_entry_price=_f(p.avg_entry_price),
                cost_basis=_f(cost),
                unrealized_pl=_f(p.market_value - cost),
                exposure_pct=_f(abs(p.market_value) / item.equity * 100) if item.equity else None,
            )
        )
    return docs


def _sector(ticker: str | None) -> str | None:
    return None if ticker is None else sector_of(ticker)


def _ms(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() * 1000)


def _v(value: Enum | None) -> str | None:
    return None if value is None else str(value.value)


def _f(value: object) -> float | None:
    # Index documents carry floats: OpenSearch aggregates doubles; the exact Decimal stays in DynamoDB.
    return None if value is None else float(str(value))

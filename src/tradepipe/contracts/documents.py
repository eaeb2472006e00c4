"""OpenSearch documents: what analysts query. Built from table items by explicit mapping, never an item
indexed as-is (an item may gain a field that must not leave DynamoDB; a document field is a decision).

Every document carries the four dimensions dashboards split by (`Dimensions`): mode, strategy, ticker and
sector. Account-level documents (an account's equity, a trading-state switch) belong to no strategy or
ticker: they carry `ACCOUNT_WIDE` ("*") in those fields instead of null, so a filter `strategy:"*"` finds
them and a terms split shows them as one explicit bucket rather than dropping them as missing. A ticker's
sector comes from the bundled mapping (`tradepipe.sectors`; "Unknown" when unlisted).

Documents about a signal (signals, executions, fills, caps that bit) also carry the signal's per-stage
times (`StageTimes`: received, enqueued, sized, submitted, filled), so latency per stage can be charted
from any of them. A signal document takes them from its own trail. An execution takes received, enqueued
and sized from its signal's trail and submitted / filled from the order itself (a reverse's close has its
own). A fill takes all five from its signal and keeps its own execution time in `executed_at`. The indexer
looks the signal up (one BatchGetItem per stream batch); when it is gone (TTL) the signal's times are null.
Equity snapshots are about the account, not a signal: they carry no stage times.

Money and quantities are doubles here (aggregations work on doubles); the exact Decimals stay in DynamoDB.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum

from pydantic import BaseModel, ConfigDict

from tradepipe import resources
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

ACCOUNT_WIDE = "*"  # strategy / ticker / sector of a document about the whole account


def _alias(spec: resources.TableSpec) -> str:
    if spec.index_name is None:
        raise ValueError(f"table {spec.base_name} feeds no index")
    return spec.index_name


# The aliases documents are written to and read from (the concrete indices are `<alias>-v<N>`).
SIGNALS_ALIAS = _alias(resources.SIGNALS_TABLE)
EXECUTIONS_ALIAS = _alias(resources.ORDERS_TABLE)
FILLS_ALIAS = _alias(resources.FILLS_TABLE)
RISK_EVENTS_ALIAS = _alias(resources.RISK_STATE_TABLE)
# Also fed by the risk-state table's stream (EQUITY# items), so no TableSpec names it.
EQUITY_SNAPSHOTS_ALIAS = "equity-snapshots"

# Trading states as a level, so "trading state over time" can be a line (max per bucket = the worst state).
STATE_LEVELS = {"ACTIVE": 0, "REDUCING": 1, "HALTED": 2}

_ACCEPTED = frozenset(
    {SignalStatus.SIZED, SignalStatus.SUBMITTED, SignalStatus.FILLED, SignalStatus.COMPLETED}
)
_CAP_REJECTIONS = frozenset({RejectReason.CAPPED_TO_ZERO.value, RejectReason.MAX_OPEN_POSITIONS.value})
# A cap note as the risk engine writes it: "max_notional_per_position: qty 100 -> 50 (5000 notional)".
_CAP_NOTE = re.compile(r"^(?P<cap>[a-z_]+): qty (?P<before>[-\d.]+) -> (?P<after>[-\d.]+)")


class Dimensions(BaseModel):
    """What every document carries."""

    model_config = ConfigDict(extra="forbid")

    mode: str | None  # paper / live; None only on an invalid alert that never named one
    strategy: str | None
    ticker: str | None
    sector: str | None


class StageTimes(BaseModel):
    """The signal's per-stage times (first time it reached each status)."""

    model_config = ConfigDict(extra="forbid")

    received_at: datetime | None
    enqueued_at: datetime | None
    sized_at: datetime | None
    submitted_at: datetime | None
    filled_at: datetime | None


def _first_times(item: SignalItem | None) -> dict[SignalStatus, datetime]:
    first_at: dict[SignalStatus, datetime] = {}
    for entry in [] if item is None else item.history:
        first_at.setdefault(entry.status, entry.at)
    return first_at


def signal_stage_times(item: SignalItem | None) -> dict[str, datetime | None]:
    first_at = _first_times(item)
    return {
        "received_at": None if item is None else item.received_at,
        "enqueued_at": first_at.get(SignalStatus.ENQUEUED),
        "sized_at": first_at.get(SignalStatus.SIZED),
        "submitted_at": first_at.get(SignalStatus.SUBMITTED),
        "filled_at": first_at.get(SignalStatus.FILLED),
    }


def _sector(ticker: str | None) -> str | None:
    return None if ticker is None else sector_of(ticker)


def _ms(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() * 1000)


class SignalDocument(Dimensions, StageTimes):
    """trading-signals; `_id` = signal_id, so a replayed stream record overwrites."""

    signal_id: str
    status: str
    outcome: str  # accepted (sized or later), rejected, pending (still on its way)
    source: str | None
    credential: str | None  # the *name* of the passphrase that matched, never the passphrase
    action: str | None
    side: str | None
    timeframe: str | None
    sizing_mode: str | None
    sizing_value: float | None
    order_type: str | None
    limit_price: float | None
    entry_price: float | None
    stop_loss: float | None
    stop_loss_percent: float | None
    take_profit: float | None
    take_profit_percent: float | None
    strategy_position: float | None
    qty: float | None
    risk_caps: list[str] | None
    client_order_id: str | None
    close_client_order_id: str | None
    broker_order_id: str | None
    filled_qty: float | None
    filled_avg_price: float | None
    reject_reason: str | None
    reject_detail: str | None
    alert_time: datetime | None
    received_at: datetime
    updated_at: datetime
    queued_at: datetime | None
    completed_at: datetime | None
    rejected_at: datetime | None
    # Latency per stage in milliseconds, one value per signal (so percentiles count each signal once).
    # sizing_ms is null for a signal that waited in the open queue: market hours are not latency.
    enqueue_ms: int | None  # received -> enqueued (webhook)
    sizing_ms: int | None  # enqueued -> sized (queue + risk)
    submit_ms: int | None  # sized -> submitted (queue + executor + broker)
    fill_ms: int | None  # submitted -> filled (broker)
    total_ms: int | None  # received -> filled

    def document_id(self) -> str:
        return self.signal_id

    @classmethod
    def from_item(cls, item: SignalItem) -> SignalDocument:
        first_at = _first_times(item)
        times = signal_stage_times(item)
        copied = {name: getattr(item, name) for name in _COPIED_SIGNAL_FIELDS}
        numbers = {name: _f(getattr(item, name)) for name in _NUMERIC_SIGNAL_FIELDS}
        queued_at = first_at.get(SignalStatus.QUEUED)
        if item.status is SignalStatus.REJECTED:
            outcome = "rejected"
        elif item.status in _ACCEPTED:
            outcome = "accepted"
        else:
            outcome = "pending"
        return cls(
            **copied,
            **numbers,
            **{k: v for k, v in times.items() if k != "received_at"},
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
            sizing_ms=None if queued_at is not None else _ms(times["enqueued_at"], times["sized_at"]),
            submit_ms=_ms(times["sized_at"], times["submitted_at"]),
            fill_ms=_ms(times["submitted_at"], times["filled_at"]),
            total_ms=_ms(item.received_at, times["filled_at"]),
        )


_COPIED_SIGNAL_FIELDS = (
    "signal_id",
    "source",
    "credential",
    "ticker",
    "strategy",
    "timeframe",
    "risk_caps",
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


class ExecutionDocument(Dimensions, StageTimes):
    """trade-executions; `_id` = client_order_id. Stage times: received / enqueued / sized from the signal,
    submitted / filled from this order."""

    client_order_id: str
    signal_id: str
    mode: str
    strategy: str
    ticker: str
    sector: str
    side: str
    qty: float
    order_class: str
    order_type: str
    limit_price: float | None
    purpose: str
    take_profit: float | None
    stop_loss: float | None
    status: str
    broker_order_id: str | None
    filled_qty: float | None
    filled_avg_price: float | None
    filled_notional: float | None  # filled_qty * filled_avg_price
    reject_code: str | None
    reject_reason: str | None
    created_at: datetime
    updated_at: datetime

    def document_id(self) -> str:
        return self.client_order_id

    @classmethod
    def from_item(cls, item: OrderItem, signal: SignalItem | None = None) -> ExecutionDocument:
        times = signal_stage_times(signal)
        notional = (
            None
            if item.filled_qty is None or item.filled_avg_price is None
            else _f(item.filled_qty * item.filled_avg_price)
        )
        return cls(
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


class FillDocument(Dimensions, StageTimes):
    """fills; `_id` = the table key `<mode>#<symbol>#<execution_id>`. One broker execution.

    `cash_flow` is what the execution did to cash (sells +, buys -): summed over a ticker's or a strategy's
    fills it is the realized P&L once the position is flat (open positions show their cost until closed;
    their unrealized P&L is in equity-snapshots)."""

    fill_id: str
    execution_id: str
    mode: str
    ticker: str
    sector: str
    side: str
    qty: float
    signed_qty: float
    price: float
    notional: float
    cash_flow: float
    executed_at: datetime
    broker_order_id: str
    client_order_id: str | None
    signal_id: str | None

    def document_id(self) -> str:
        return self.fill_id

    @classmethod
    def from_item(cls, item: FillItem, signal: SignalItem | None = None) -> FillDocument:
        notional = item.qty * item.price
        return cls(
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


class RiskEventDocument(Dimensions, StageTimes):
    """risk-events; one document per trading-state switch (`kind` state_switch, account-wide) and per cap
    that bit (`cap_applied`: the order was shrunk; `cap_rejected`: nothing was left, or a position-count
    cap). `_id` is derived from the event's content, so a replayed stream record overwrites."""

    event_id: str
    kind: str
    at: datetime
    rule: str  # the switch's rule (manual, daily_loss_limit, ...) or the cap's name
    detail: str | None
    from_state: str | None
    to_state: str | None
    state_level: int | None  # STATE_LEVELS of to_state
    signal_id: str | None
    qty_before: float | None
    qty_after: float | None

    def document_id(self) -> str:
        return self.event_id

    @classmethod
    def from_switch(cls, account: str, entry: StateSwitchEntry) -> RiskEventDocument:
        return cls(
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

    @classmethod
    def from_signal_caps(cls, item: SignalItem) -> list[RiskEventDocument]:
        """The caps that bit on this signal: noted at sizing (`risk_caps`), or the cap that rejected it."""
        if item.risk_caps:
            kind, notes, at = "cap_applied", list(item.risk_caps), _first_times(item).get(SignalStatus.SIZED)
        elif item.status is SignalStatus.REJECTED and item.reject_reason in _CAP_REJECTIONS:
            kind, at = "cap_rejected", _first_times(item).get(SignalStatus.REJECTED)
            notes = (item.reject_detail or "").split("; ")
            if item.reject_reason == RejectReason.MAX_OPEN_POSITIONS.value:
                notes = [f"max_open_positions: {item.reject_detail or ''}"]
        else:
            return []
        events = []
        for n, note in enumerate(notes):
            match = _CAP_NOTE.match(note)
            cap = match["cap"] if match else note.split(":", 1)[0].strip() or "unknown"
            events.append(
                cls(
                    event_id=f"{item.signal_id}#cap#{n}#{cap}",
                    kind=kind,
                    mode=_v(item.mode),
                    strategy=item.strategy,
                    ticker=item.ticker,
                    sector=_sector(item.ticker),
                    at=at or item.updated_at,
                    rule=cap,
                    detail=note,
                    from_state=None,
                    to_state=None,
                    state_level=None,
                    signal_id=item.signal_id,
                    qty_before=_f(match["before"]) if match else None,
                    qty_after=_f(match["after"]) if match else None,
                    **signal_stage_times(item),
                )
            )
        return events


def new_switches(new: TradingStateItem, old: TradingStateItem | None) -> list[StateSwitchEntry]:
    """The switches a STATE# change added. The item keeps the last 50 (older ones roll off the front), so
    anything not in the old image is new; a change that only moved the high-water mark adds none."""
    seen = set() if old is None else set(old.history)
    return [entry for entry in new.history if entry not in seen]


class EquitySnapshotDocument(Dimensions):
    """equity-snapshots; per sample one `account` document (equity, exposure) and one `position` document
    per position held. `_id` = `<account>#<sample minute>#<ticker or "*">`. Account documents carry "*"
    as strategy, ticker and sector; positions carry "*" as strategy (a position at Alpaca belongs to the
    account: strategies share it)."""

    snapshot_id: str
    kind: str  # account | position
    sampled_at: datetime
    # account documents
    equity: float | None
    last_equity: float | None
    day_pl: float | None  # equity - last_equity
    buying_power: float | None
    long_market_value: float | None
    short_market_value: float | None  # negative
    gross_exposure: float | None  # sum |market value|
    net_exposure: float | None  # sum market value
    open_positions: int | None
    # position documents
    side: str | None  # long | short
    qty: float | None  # signed
    market_value: float | None  # signed
    gross_value: float | None  # |market value|
    avg_entry_price: float | None
    cost_basis: float | None  # signed: qty * avg_entry_price
    unrealized_pl: float | None  # market_value - cost_basis
    exposure_pct: float | None  # gross_value / equity * 100

    def document_id(self) -> str:
        return self.snapshot_id

    @classmethod
    def from_item(cls, item: EquitySnapshotItem) -> list[EquitySnapshotDocument]:
        positions = [p for p in item.positions if p.qty != 0]
        long_mv = sum((p.market_value for p in positions if p.market_value > 0), Decimal(0))
        short_mv = sum((p.market_value for p in positions if p.market_value < 0), Decimal(0))
        prefix = f"{item.account}#{item.sk}"
        empty_position = dict.fromkeys(_POSITION_FIELDS)
        docs = [
            cls(
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
                **empty_position,
            )
        ]
        for p in sorted(positions, key=lambda p: p.ticker):
            cost = p.qty * p.avg_entry_price
            docs.append(
                cls(
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

SearchDocument = (
    SignalDocument | ExecutionDocument | FillDocument | RiskEventDocument | EquitySnapshotDocument
)
DOCUMENT_MODELS: Sequence[type[BaseModel]] = (
    SignalDocument,
    ExecutionDocument,
    FillDocument,
    RiskEventDocument,
    EquitySnapshotDocument,
)


def _v(value: Enum | None) -> str | None:
    return None if value is None else str(value.value)


def _f(value: object) -> float | None:
    # Index documents carry floats: OpenSearch aggregates doubles; the exact Decimal stays in DynamoDB.
    return None if value is None else float(str(value))

"""OpenSearch documents: what analysts query. The models only; `app/documents.py` maps table items to
them, explicitly, never an item indexed as-is (an item may gain a field that must not leave DynamoDB; a
document field is a decision). Which index holds which model: `tradepipe.resources.INDEXES` and
`DOCUMENT_MODELS` below.

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

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from tradepipe import resources

ACCOUNT_WIDE = "*"  # strategy / ticker / sector of a document about the whole account


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


class SignalDocument(Dimensions, StageTimes):
    """trading-signals; `_id` = signal_id, so a replayed stream record overwrites."""

    signal_id: str
    status: str
    outcome: str  # accepted (sized or later), rejected, not_filled (ENTRY_NOT_FILLED), pending (on its way)
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


SearchDocument = (
    SignalDocument | ExecutionDocument | FillDocument | RiskEventDocument | EquitySnapshotDocument
)
# The model each stream-fed index holds, by alias (the index registry: `resources.INDEXES`; performance-daily
# holds `contracts.performance.PerformanceSnapshotDocument`).
DOCUMENT_MODELS: Mapping[str, type[BaseModel]] = {
    resources.SIGNALS_INDEX.alias: SignalDocument,
    resources.EXECUTIONS_INDEX.alias: ExecutionDocument,
    resources.FILLS_INDEX.alias: FillDocument,
    resources.RISK_EVENTS_INDEX.alias: RiskEventDocument,
    resources.EQUITY_SNAPSHOTS_INDEX.alias: EquitySnapshotDocument,
}

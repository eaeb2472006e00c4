"""The ports one adapter serves together, handed out the same way by every backend.

Every risk-state aggregate lives in one table (DynamoDB's risk-state table, SQLite's `risk_state`), so one
adapter serves all their ports; a signal's record, its feed and its lookup are one store. A backend names
those two adapters (`_risk_state`, `_signals`); these views give each port out, so the backends cannot drift
in which adapter serves which port."""

from __future__ import annotations

from typing import TYPE_CHECKING

# Type-only, as in backends/aws.py: the webhook's cold start loads no port it does not use.
if TYPE_CHECKING:
    from tradepipe.ports.risk_state import (
        EntryReservations,
        EquitySnapshotStore,
        NoticeLedger,
        OrderRateStore,
        PositionReports,
        QueuedCloses,
        QueuedEntries,
        RiskState,
        SymbolHistoryStore,
        TickerLeases,
        TradingStateStore,
    )
    from tradepipe.ports.stores import SignalFeed, SignalLookup, SignalRecords, SignalStore


class SharedStoreViews:
    @property
    def _signals(self) -> SignalRecords:
        raise NotImplementedError

    @property
    def _risk_state(self) -> RiskState:
        raise NotImplementedError

    @property
    def signal_store(self) -> SignalStore:
        return self._signals

    @property
    def signal_feed(self) -> SignalFeed:
        return self._signals

    @property
    def signal_lookup(self) -> SignalLookup:
        return self._signals

    @property
    def trading_state(self) -> TradingStateStore:
        return self._risk_state

    @property
    def symbol_history(self) -> SymbolHistoryStore:
        return self._risk_state

    @property
    def order_rate(self) -> OrderRateStore:
        return self._risk_state

    @property
    def reservations(self) -> EntryReservations:
        return self._risk_state

    @property
    def position_reports(self) -> PositionReports:
        return self._risk_state

    @property
    def queued_entries(self) -> QueuedEntries:
        return self._risk_state

    @property
    def queued_closes(self) -> QueuedCloses:
        return self._risk_state

    @property
    def ticker_leases(self) -> TickerLeases:
        return self._risk_state

    @property
    def equity_snapshots(self) -> EquitySnapshotStore:
        return self._risk_state

    @property
    def notice_ledger(self) -> NoticeLedger:
        return self._risk_state

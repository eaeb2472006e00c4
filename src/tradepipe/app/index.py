"""index_changes: table changes -> OpenSearch documents, one bulk request per batch.

| table stream | item | documents (index, via its alias) |
|---|---|---|
| signals | SignalItem | trading-signals (one per signal) + risk-events for the caps that bit on it |
| orders | OrderItem (+ its signal) | trade-executions |
| fills | FillItem (+ its signal) | fills |
| risk-state, `STATE#<account>` | TradingStateItem | risk-events, one per switch the change added |
| risk-state, `EQUITY#<account>` | EquitySnapshotItem | equity-snapshots: the account + one per position |

Other risk-state items (symbol history, order counters, queued entries, reservations) are working state:
they are skipped. Every document id is derived from the record's key or content, so a replayed stream
record overwrites the same documents.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from tradepipe import resources
from tradepipe.app.documents import (
    cap_events,
    equity_documents,
    execution_document,
    fill_document,
    new_switches,
    signal_document,
    switch_event,
)
from tradepipe.contracts.documents import SearchDocument
from tradepipe.contracts.items import (
    EQUITY_PK_PREFIX,
    STATE_PK_PREFIX,
    EquitySnapshotItem,
    FillItem,
    OrderItem,
    SignalItem,
    TradingStateItem,
)
from tradepipe.ports.search import IndexAction, SearchIndex
from tradepipe.ports.stores import SignalLookup, TableChange

log = logging.getLogger(__name__)


def _action(index: str, doc: SearchDocument) -> IndexAction:
    return IndexAction(index, doc.document_id(), doc.model_dump(mode="json"))


def signal_ids_to_look_up(changes: Sequence[TableChange]) -> list[str]:
    """Execution and fill documents copy their signal's stage times (and a fill its strategy)."""
    wanted: list[str] = []
    for change in changes:
        if change.event_name == "REMOVE" or change.new_image is None:
            continue
        if change.table_base_name in (resources.ORDERS_TABLE.base_name, resources.FILLS_TABLE.base_name):
            signal_id = change.new_image.get("signal_id")
            if isinstance(signal_id, str) and signal_id:
                wanted.append(signal_id)
    return wanted


def to_actions(change: TableChange, signals: Mapping[str, SignalItem] | None = None) -> list[IndexAction]:
    """Empty for changes analytics do not keep: TTL removals keep their last documents as history."""
    if change.event_name == "REMOVE" or change.new_image is None:
        return []
    signals = signals or {}
    table = change.table_base_name
    if table == resources.SIGNALS_TABLE.base_name:
        item = SignalItem.model_validate(change.new_image)
        actions = [_action(resources.SIGNALS_INDEX.alias, signal_document(item))]
        caps = cap_events(item)
        old = None if change.old_image is None else SignalItem.model_validate(change.old_image)
        # Only when the caps first appear: later status changes of the same signal add no events.
        if caps and (old is None or cap_events(old) != caps):
            actions += [_action(resources.RISK_EVENTS_INDEX.alias, doc) for doc in caps]
        return actions
    if table == resources.ORDERS_TABLE.base_name:
        order = OrderItem.model_validate(change.new_image)
        document = execution_document(order, signals.get(order.signal_id))
        return [_action(resources.EXECUTIONS_INDEX.alias, document)]
    if table == resources.FILLS_TABLE.base_name:
        fill = FillItem.model_validate(change.new_image)
        signal = None if fill.signal_id is None else signals.get(fill.signal_id)
        return [_action(resources.FILLS_INDEX.alias, fill_document(fill, signal))]
    if table == resources.RISK_STATE_TABLE.base_name:
        pk = str(change.new_image.get(resources.RISK_STATE_TABLE.partition_key, ""))
        if pk.startswith(STATE_PK_PREFIX):
            state = TradingStateItem.model_validate(change.new_image)
            before = None if change.old_image is None else TradingStateItem.model_validate(change.old_image)
            return [
                _action(resources.RISK_EVENTS_INDEX.alias, switch_event(state.account, entry))
                for entry in new_switches(state, before)
            ]
        if pk.startswith(EQUITY_PK_PREFIX):
            snapshot = EquitySnapshotItem.model_validate(change.new_image)
            return [
                _action(resources.EQUITY_SNAPSHOTS_INDEX.alias, doc) for doc in equity_documents(snapshot)
            ]
    return []


@dataclass(frozen=True)
class IndexDeps:
    search: SearchIndex
    # Executions and fills copy their signal's stage times; None: no lookup (they carry nulls).
    signals: SignalLookup | None = None


_TABLE_KEYS = {t.base_name: (t.partition_key, t.sort_key) for t in resources.TABLES}


def _record_key(change: TableChange) -> tuple[str, ...] | None:
    partition, sort = _TABLE_KEYS.get(change.table_base_name, (None, None))
    image = change.new_image
    if partition is None or image is None or partition not in image:
        return None
    return (change.table_base_name, str(image[partition]), str(image.get(sort, "")) if sort else "")


def coalesce(changes: Sequence[TableChange]) -> list[TableChange]:
    """One change per record: its last image, with its first old image, under its first sequence number.

    One alert writes its signal four or five times in a fraction of a second (RECEIVED, ENQUEUED, SIZED,
    SUBMITTED, FILLED) and its order three or four: a batch holding them indexes each record once, as it
    ends, instead of overwriting the same document again and again. What a change added (caps that bit, a
    trading-state switch) is still new - old, now over the whole batch. The first sequence number is the
    one a failure reports, so the retry starts before every change that was folded in. Removals make no
    document and pass through."""
    kept: dict[tuple[str, ...], int] = {}
    out: list[TableChange] = []
    for change in changes:
        key = None if change.event_name == "REMOVE" else _record_key(change)
        if key is None:
            out.append(change)
            continue
        at = kept.get(key)
        if at is None:
            kept[key] = len(out)
            out.append(change)
            continue
        first = out[at]
        out[at] = TableChange(
            change.table_base_name,
            "INSERT" if first.event_name == "INSERT" else change.event_name,
            first.sequence_number,
            change.new_image,
            first.old_image,
        )
    return out


def index_changes(changes: Sequence[TableChange], deps: IndexDeps) -> list[str]:
    """Returns the sequence numbers that failed and must be retried."""
    changes = coalesce(changes)
    wanted = signal_ids_to_look_up(changes)
    # A lookup failure raises: the whole batch is retried (nothing was written yet).
    found = deps.signals.get_many(wanted) if (deps.signals is not None and wanted) else {}
    actions: list[IndexAction] = []
    seq_by_doc: dict[str, str] = {}
    failed: list[str] = []
    for change in changes:
        try:
            produced = to_actions(change, found)
        except ValidationError:
            # A record that can never map is a bug, not a transient fault: retrying it would block the
            # shard, so it is logged loudly and skipped.
            log.exception("unmappable stream record", extra={"sequence_number": change.sequence_number})
            continue
        for action in produced:
            actions.append(action)
            seq_by_doc[f"{action.index}/{action.doc_id}"] = change.sequence_number
    if actions:
        for doc_key in deps.search.bulk(actions):
            if seq_by_doc[doc_key] not in failed:
                failed.append(seq_by_doc[doc_key])
    return failed

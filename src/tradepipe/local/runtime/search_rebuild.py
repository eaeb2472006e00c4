"""OpenSearch is derived data: the runtime's database is the record. At start the workers apply the templates
and, when the indices are missing or hold fewer signals than the store (osmem keeps nothing across restarts;
a cluster may have been wiped), rebuild them from the store; `tradepipe reindex` does the same on demand.

A rebuild feeds every stored item through the indexer's own mapping as an INSERT, then moves the indexer's
checkpoint to where the change feed stood when the rebuild began: changes that raced the rebuild are applied
again, which is harmless because a document's id is its record's key."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from tradepipe import resources
from tradepipe.adapters.sqlite.feeds import ChangeFeed, Checkpoints
from tradepipe.app.index import TableChange, index_changes
from tradepipe.contracts.documents import SIGNALS_ALIAS
from tradepipe.local.runtime.wiring import SqliteBackend

log = logging.getLogger(__name__)
BATCH = 500

_SOURCES = (
    ("signals", resources.SIGNALS_TABLE.base_name, ""),
    ("orders", resources.ORDERS_TABLE.base_name, ""),
    ("fills", resources.FILLS_TABLE.base_name, ""),
    ("risk_state", resources.RISK_STATE_TABLE.base_name, "WHERE pk LIKE 'STATE#%' OR pk LIKE 'EQUITY#%'"),
)


def _rows(backend: SqliteBackend) -> Iterator[TableChange]:
    conn = backend.db.connection()
    n = 0
    for table, base_name, where in _SOURCES:
        for (raw,) in conn.execute(f"SELECT item FROM {table} {where}"):  # noqa: S608 - our own table names
            n += 1
            image = json.loads(raw, parse_float=Decimal, parse_int=Decimal)
            yield TableChange(base_name, "INSERT", str(n), image, None)


def indexed_signals(client: Any) -> int | None:
    """Documents behind the signals alias, or None when the alias does not exist."""
    if not client.indices.exists_alias(name=SIGNALS_ALIAS):
        return None
    return int(client.count(index=SIGNALS_ALIAS)["count"])


def needs_rebuild(backend: SqliteBackend) -> bool:
    indexed = indexed_signals(backend.search_client)
    return indexed is None or indexed < backend.signals.count()


def rebuild(backend: SqliteBackend) -> int:
    """Index every stored item again; returns how many records were fed."""
    search = backend.search_index
    search.ensure_templates()
    feed = ChangeFeed(backend.db, "indexer")
    row = backend.db.connection().execute("SELECT MAX(seq) FROM changes").fetchone()
    start_seq = int(row[0] or 0)
    batch: list[TableChange] = []
    fed = 0
    for change in _rows(backend):
        batch.append(change)
        if len(batch) >= BATCH:
            fed += _apply(batch, backend)
            batch = []
    fed += _apply(batch, backend)
    Checkpoints(backend.db).set(feed.consumer, start_seq)
    log.warning("search indices rebuilt from the store: %d records", fed)
    return fed


def _apply(batch: list[TableChange], backend: SqliteBackend) -> int:
    if not batch:
        return 0
    failed = index_changes(batch, backend.search_index, signals=backend.signals)
    if failed:
        raise RuntimeError(f"rebuild: {len(failed)} documents failed to index")
    return len(batch)

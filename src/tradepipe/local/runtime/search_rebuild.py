"""OpenSearch is derived data: the runtime's database is the record. At start the workers apply the templates
and, when the indices are missing or hold fewer signals than the store (osmem keeps nothing across restarts;
a cluster may have been wiped), rebuild them from the store; `tradepipe reindex` does the same on demand.

A rebuild feeds every stored item through the indexer's own use case as an INSERT, then moves the indexer's
checkpoint to where the change feed stood when the rebuild began: changes that raced the rebuild are applied
again, which is harmless because a document's id is its record's key."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from typing import Any

from tradepipe import composition, resources
from tradepipe.adapters.sqlite.feeds import ChangeFeed, Checkpoints
from tradepipe.app.index import index_changes
from tradepipe.ports.stores import TableChange
from tradepipe.settings import get_settings

log = logging.getLogger(__name__)
BATCH = 500
INDEXER = "indexer"

_SOURCES = (
    ("signals", resources.SIGNALS_TABLE.base_name, ""),
    ("orders", resources.ORDERS_TABLE.base_name, ""),
    ("fills", resources.FILLS_TABLE.base_name, ""),
    ("risk_state", resources.RISK_STATE_TABLE.base_name, "WHERE pk LIKE 'STATE#%' OR pk LIKE 'EQUITY#%'"),
)


@cache
def _client() -> Any:
    from tradepipe.adapters.opensearch import build_client

    settings = get_settings()
    return build_client(settings.opensearch_endpoint, settings.opensearch_auth, settings.region)


def ensure_templates() -> None:
    """Locally the runtime is the deployer: it applies the index templates and aliases (SearchSetup's job on
    AWS) before the indexer writes through them."""
    from tradepipe.adapters.opensearch import OpenSearchIndex

    OpenSearchIndex(_client()).ensure_templates()


def _rows() -> Iterator[TableChange]:
    conn = composition.sqlite_backend().db.connection()
    n = 0
    for table, base_name, where in _SOURCES:
        for (raw,) in conn.execute(f"SELECT item FROM {table} {where}"):  # noqa: S608 - our own table names
            n += 1
            image = json.loads(raw, parse_float=Decimal, parse_int=Decimal)
            yield TableChange(base_name, "INSERT", str(n), image, None)


def needs_rebuild() -> bool:
    client = _client()
    if not client.indices.exists_alias(name=resources.SIGNALS_INDEX.alias):
        return True
    indexed = int(client.count(index=resources.SIGNALS_INDEX.alias)["count"])
    return indexed < composition.sqlite_backend().signals.count()


def rebuild() -> int:
    """Index every stored item again; returns how many records were fed."""
    ensure_templates()
    backend = composition.sqlite_backend()
    feed = ChangeFeed(backend.db, INDEXER)
    row = backend.db.connection().execute("SELECT MAX(seq) FROM changes").fetchone()
    start_seq = int(row[0] or 0)
    deps = composition.index_deps()
    batch: list[TableChange] = []
    fed = 0
    for change in _rows():
        batch.append(change)
        if len(batch) >= BATCH:
            fed += _apply(batch, deps)
            batch = []
    fed += _apply(batch, deps)
    Checkpoints(backend.db).set(feed.consumer, start_seq)
    log.warning("search indices rebuilt from the store: %d records", fed)
    return fed


def _apply(batch: list[TableChange], deps: Any) -> int:
    if not batch:
        return 0
    failed = index_changes(batch, deps)
    if failed:
        raise RuntimeError(f"rebuild: {len(failed)} documents failed to index")
    return len(batch)

"""A runtime database written before the reconciler's index of open orders (schema version 1) is upgraded
in place: the orders not known to be done are followed, the settled ones are not (migration 2)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tradepipe.adapters.sqlite import database
from tradepipe.adapters.sqlite.database import Database, Durability
from tradepipe.adapters.sqlite.records import SqliteOrderStore
from tradepipe.adapters.sqlite.schema import MIGRATIONS

_INSERT = (
    "INSERT INTO orders (client_order_id, signal_id, mode, symbol, status, item) VALUES (?, ?, ?, ?, ?, ?)"
)
_ORDER = (
    '{{"client_order_id":"{coid}","intent_id":"{coid}:open","signal_id":"{coid}","mode":"paper",'
    '"strategy":"s","symbol":"IBM","side":"BUY","qty":"10","order_class":"bracket","status":"{status}",'
    '"created_at":"2026-11-02T15:00:00+00:00","updated_at":"2026-11-02T15:00:00+00:00"}}'
)


def _version_one(state_dir: Path, orders: dict[str, str]) -> None:
    state_dir.mkdir(mode=0o700)
    path = state_dir / database.DB_FILE
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for statement in database._statements(MIGRATIONS[0][1]):
        conn.execute(statement)
    conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    for coid, status in orders.items():
        conn.execute(
            _INSERT,
            (coid, coid, "paper", "IBM", status, _ORDER.format(coid=coid, status=status)),
        )
    conn.close()


def _add_simple_filled(state_dir: Path, coid: str) -> None:
    conn = sqlite3.connect(state_dir / database.DB_FILE, isolation_level=None)
    item = _ORDER.format(coid=coid, status="filled").replace('"bracket"', '"simple"')
    conn.execute(
        _INSERT,
        (coid, coid, "paper", "IBM", "filled", item),
    )
    conn.close()


def test_version_one_database_when_opened_then_orders_not_known_done_are_followed(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    _version_one(
        state_dir,
        {"gtc-bracket": "filled", "resting": "new", "never-sent": "pending_submit", "gone": "canceled"},
    )
    _add_simple_filled(state_dir, "closed")

    store = SqliteOrderStore(Database.open(state_dir, Durability.PROCESS))

    # A filled bracket entry may still have working legs: followed, and the next run settles or keeps it.
    assert [o.client_order_id for o in store.working("paper")] == ["gtc-bracket", "never-sent", "resting"]

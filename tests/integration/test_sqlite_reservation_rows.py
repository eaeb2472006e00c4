"""The SQLite reservation book as rows (adapters/sqlite/reservation_rows.py): a write touches only what
changed, the Book kept in the process is never trusted past another writer or a rolled-back write, and a
database that held the book as one RESERVE# item (schema v3) is moved to rows with the same book."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.test_store_parity import RES_NOW, _entry, _reserve
from tradepipe.adapters.risk_keys import book_attributes, book_from
from tradepipe.adapters.sqlite import database
from tradepipe.adapters.sqlite.database import Database, Durability
from tradepipe.adapters.sqlite.risk_state import SqliteRiskStateStore
from tradepipe.adapters.sqlite.schema import MIGRATIONS
from tradepipe.domain.risk.reservations import Granted


def _store(state_dir: Path) -> SqliteRiskStateStore:
    return SqliteRiskStateStore(Database.open(state_dir, Durability.PROCESS))


def _fill(store: SqliteRiskStateStore, n: int) -> None:
    for i in range(n):
        granted = _reserve(store, "paper", _entry(f"r{i}", qty=1), now=RES_NOW + timedelta(seconds=i / 100))
        assert isinstance(granted, Granted)


def test_a_reserve_or_a_release_writes_only_the_rows_it_changes(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _fill(store, 50)
    written: list[str] = []
    store._db.connection().set_trace_callback(written.append)
    try:
        _reserve(store, "paper", _entry("new", qty=1), now=RES_NOW + timedelta(seconds=1))
        store.release("paper", "r3", RES_NOW + timedelta(seconds=2))
    finally:
        store._db.connection().set_trace_callback(None)

    writes = [
        s.split()[0] + " " + s.split()[2] for s in written if s.split()[0] in ("INSERT", "UPDATE", "DELETE")
    ]
    assert writes == [
        "INSERT reservations",  # the new reservation
        "INSERT reservation_times",  # its order-rate slot
        "INSERT reservation_books",  # the token
        "INSERT reservations",  # r3 released (an upsert)
        "INSERT reservation_books",
    ]
    book = store.book("paper")
    assert len(book.reservations) == 51
    assert next(r for r in book.reservations if r.reservation_id == "r3").released_at is not None


def test_what_another_process_writes_is_read_and_a_rolled_back_write_is_never_read(tmp_path: Path) -> None:
    ours, theirs = _store(tmp_path), _store(tmp_path)
    _fill(ours, 3)
    assert [r.reservation_id for r in theirs.book("paper").reservations] == ["r0", "r1", "r2"]

    _reserve(theirs, "paper", _entry("theirs", qty=1), now=RES_NOW + timedelta(seconds=1))
    assert [r.reservation_id for r in ours.book("paper").reservations][-1] == "theirs"

    def failing_unit_of_work() -> None:  # the risk stage's, failing after its reserve
        with ours._db.transaction():
            _reserve(ours, "paper", _entry("rolled-back", qty=1), now=RES_NOW + timedelta(seconds=2))
            raise RuntimeError("the send failed")

    with pytest.raises(RuntimeError):
        failing_unit_of_work()
    assert "rolled-back" not in [r.reservation_id for r in ours.book("paper").reservations]
    # A later write of another process (a new token) is read as written, not as the rolled-back book.
    _reserve(theirs, "paper", _entry("later", qty=1), now=RES_NOW + timedelta(seconds=3))
    assert [r.reservation_id for r in ours.book("paper").reservations][-2:] == ["theirs", "later"]


def test_a_version_three_database_moves_its_book_item_to_rows(tmp_path: Path) -> None:
    # Written as v3 wrote it: the whole book in one RESERVE# item of risk_state.
    source = _store(tmp_path / "source")
    _fill(source, 4)
    source.release("paper", "r1", RES_NOW + timedelta(seconds=1))
    source.hold_at_broker("paper", "r2", RES_NOW + timedelta(days=1), RES_NOW + timedelta(seconds=1))
    book = source.book("paper")
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o700)
    conn = sqlite3.connect(state_dir / database.DB_FILE, isolation_level=None)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for _version, script in MIGRATIONS[:3]:
        for statement in database._statements(script):
            conn.execute(statement)
    conn.execute("INSERT INTO meta VALUES ('schema_version', '3')")
    item = {**book_attributes(book), "version": 7, "pk": "RESERVE#paper", "sk": "RESERVE"}
    conn.execute(
        "INSERT INTO risk_state (pk, sk, expires_at, item) VALUES ('RESERVE#paper', 'RESERVE', NULL, ?)",
        (json.dumps(item),),
    )
    conn.close()

    moved = _store(state_dir)

    assert moved.book("paper") == book == book_from(item)
    left = moved._db.connection().execute("SELECT count(*) FROM risk_state WHERE sk = 'RESERVE'").fetchone()
    assert left == (0,)
    granted = _reserve(moved, "paper", _entry("after", qty=1), now=RES_NOW + timedelta(seconds=2))
    assert isinstance(granted, Granted)
    assert granted.reservation.qty == Decimal(1)

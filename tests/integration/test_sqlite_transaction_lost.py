"""A unit of work whose transaction SQLite rolls back on its own (a full disk, an I/O error) under a part
whose failure a caller caught (`app/notices.py::announce` catches every error of a notice) stops there: its
later writes must not each commit alone, outside it (a SIZED record and its intent without their
reservation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradepipe.adapters.sqlite.database import Database, TransactionLost


def test_writes_after_sqlite_rolled_the_unit_back_are_refused_and_nothing_is_committed(
    tmp_path: Path,
) -> None:
    db = Database.open(tmp_path)
    db.connection().execute("CREATE TABLE t (v TEXT)")

    def unit() -> None:
        with db.transaction() as conn:
            conn.execute("INSERT INTO t VALUES ('reservation')")
            try:
                with db.transaction() as part:
                    part.execute("ROLLBACK")  # what SQLite does itself on SQLITE_FULL or SQLITE_IOERR
                    raise OSError("the notice's write failed")
            except Exception:  # noqa: S110 - as announce does: a notice never fails the decision
                pass
            with db.transaction() as later:
                later.execute("INSERT INTO t VALUES ('intent')")

    with pytest.raises(TransactionLost):
        unit()

    assert db.connection().execute("SELECT v FROM t").fetchall() == []
    with db.transaction() as conn:  # the connection goes on working
        conn.execute("INSERT INTO t VALUES ('next')")
    assert db.connection().execute("SELECT v FROM t").fetchall() == [("next",)]

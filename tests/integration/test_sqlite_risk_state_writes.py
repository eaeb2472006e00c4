"""The SQLite risk state takes a turn on the writer lock only when it writes: every risk decision asks for
the high-water mark, and the intake's group commit queues behind each write transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradepipe.adapters.sqlite.database import Database
from tradepipe.adapters.sqlite.risk_state import SqliteRiskStateStore


class CountingDatabase(Database):
    """Counts the write transactions that begin (savepoints inside one are not turns on the lock)."""

    writes = 0

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        self.writes += not self.in_transaction
        with super().transaction() as conn:
            yield conn


def test_a_mark_at_or_above_the_equity_is_answered_without_a_write_transaction(tmp_path: Path) -> None:
    db = CountingDatabase(tmp_path / "tradepipe.db")
    db.migrate()
    store = SqliteRiskStateStore(db)
    assert store.raise_high_water_mark("paper", Decimal("100000")) == Decimal("100000")
    before = db.writes

    kept = [store.raise_high_water_mark("paper", Decimal(e)) for e in ("99000", "100000", "42")]

    assert kept == [Decimal("100000")] * 3
    assert db.writes == before


def test_a_new_high_is_still_written(tmp_path: Path) -> None:
    db = CountingDatabase(tmp_path / "tradepipe.db")
    db.migrate()
    store = SqliteRiskStateStore(db)
    store.raise_high_water_mark("paper", Decimal("100000"))

    assert store.raise_high_water_mark("paper", Decimal("100001.25")) == Decimal("100001.25")
    assert store.trading_state("paper").high_water_mark == Decimal("100001.25")

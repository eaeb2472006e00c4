"""Counters per UTC day: what the Lambdas send CloudWatch as EMF metrics, kept in the runtime's database
so the
live page, `tradepipe local`'s summary and the local alarms read the same figures whichever process
counted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tradepipe.adapters.sqlite.database import Database


def utc_day(at: datetime | None = None) -> str:
    return (at or datetime.now(UTC)).astimezone(UTC).date().isoformat()


def add_counts(conn: Any, day: str, counts: Mapping[str, int]) -> None:
    conn.executemany(
        "INSERT INTO metrics (day, name, count) VALUES (?, ?, ?) "
        "ON CONFLICT (day, name) DO UPDATE SET count = count + excluded.count",
        [(day, name, n) for name, n in counts.items() if n],
    )


class SqliteMetrics:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, counts: Mapping[str, int], at: datetime | None = None) -> None:
        with self._db.transaction() as conn:
            add_counts(conn, utc_day(at), counts)

    def on_day(self, day: str) -> Counter[str]:
        rows = self._db.connection().execute("SELECT name, count FROM metrics WHERE day = ?", (day,))
        return Counter({name: int(n) for name, n in rows})

"""RecordsSource (analytics' read port) over the runtime's database: every signal, order and fill."""

from __future__ import annotations

from tradepipe.adapters.sqlite.database import Database
from tradepipe.analytics.records import FillItem, Records
from tradepipe.contracts.items import OrderItem, SignalItem


class SqliteRecords:
    def __init__(self, db: Database) -> None:
        self._db = db

    def read(self) -> Records:
        conn = self._db.connection()
        return Records(
            signals=[
                SignalItem.model_validate_json(raw) for (raw,) in conn.execute("SELECT item FROM signals")
            ],
            orders=[OrderItem.model_validate_json(raw) for (raw,) in conn.execute("SELECT item FROM orders")],
            fills=[FillItem.model_validate_json(raw) for (raw,) in conn.execute("SELECT item FROM fills")],
        )

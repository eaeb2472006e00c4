"""Strategy-owned lots (ports/lots.py) on the runtime's database: rows of the risk-state table in the DynamoDB
store's layout (adapters/lots.py), each method one write transaction. The rows feed no change (the
risk-state triggers only feed switches and equity samples)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from tradepipe.adapters.lots import lot_from, lot_item, oldest_first
from tradepipe.adapters.risk_keys import lot_sk, lots_pk
from tradepipe.adapters.sqlite.database import Database
from tradepipe.adapters.sqlite.records import dumps
from tradepipe.domain.lots import Lot


class SqliteLotStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def open_lot(self, lot: Lot) -> bool:
        item = lot_item(lot)
        with self._db.transaction() as conn:
            inserted = conn.execute(
                "INSERT INTO risk_state (pk, sk, expires_at, item) VALUES (?, ?, NULL, ?) "
                "ON CONFLICT (pk, sk) DO NOTHING",
                (item["pk"], item["sk"], dumps(item)),
            ).rowcount
        return bool(inserted)

    def lots(self, account: str, ticker: str) -> list[Lot]:
        rows = self._db.connection().execute(
            "SELECT item FROM risk_state WHERE pk = ?", (lots_pk(account, ticker),)
        )
        return oldest_first([lot_from(json.loads(raw)) for (raw,) in rows])

    def resize_lot(
        self, account: str, ticker: str, strategy: str, lot_id: str, qty: Decimal, stop_price: Decimal | None
    ) -> bool:
        pk, sk = lots_pk(account, ticker), lot_sk(strategy, lot_id)
        with self._db.transaction() as conn:
            row = conn.execute("SELECT item FROM risk_state WHERE pk = ? AND sk = ?", (pk, sk)).fetchone()
            if row is None:
                return False
            if qty == 0:
                conn.execute("DELETE FROM risk_state WHERE pk = ? AND sk = ?", (pk, sk))
                return True
            item: dict[str, Any] = json.loads(row[0])
            item["qty"] = qty
            item.pop("stop_price", None)
            if stop_price is not None:
                item["stop_price"] = stop_price
            conn.execute("UPDATE risk_state SET item = ? WHERE pk = ? AND sk = ?", (dumps(item), pk, sk))
        return True

    def close_lots(self, account: str, ticker: str, strategy: str) -> list[Lot]:
        pk = lots_pk(account, ticker)
        with self._db.transaction() as conn:
            rows = conn.execute("SELECT sk, item FROM risk_state WHERE pk = ?", (pk,)).fetchall()
            closing = [(sk, json.loads(raw)) for sk, raw in rows if json.loads(raw)["strategy"] == strategy]
            for sk, _ in closing:
                conn.execute("DELETE FROM risk_state WHERE pk = ? AND sk = ?", (pk, sk))
        return oldest_first([lot_from(item) for _, item in closing])

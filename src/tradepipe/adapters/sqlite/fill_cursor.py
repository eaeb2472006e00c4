"""The reconciler's fill cursor (ports/fill_cursor.py) on the runtime's database: one risk-state row in the
DynamoDB store's layout (adapters/fill_cursor.py). The row feeds no change (the risk-state triggers only
feed switches and equity samples)."""

from __future__ import annotations

import json
from datetime import datetime

from tradepipe.adapters.risk_keys import FILL_CURSOR_SK, fill_cursor_pk, parse_time, stored_time
from tradepipe.adapters.sqlite.database import Database
from tradepipe.adapters.sqlite.records import dumps


class SqliteFillCursorStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def fill_cursor(self, account: str) -> datetime | None:
        row = (
            self._db.connection()
            .execute(
                "SELECT item FROM risk_state WHERE pk = ? AND sk = ?",
                (fill_cursor_pk(account), FILL_CURSOR_SK),
            )
            .fetchone()
        )
        return None if row is None else parse_time(json.loads(row[0]).get("after"))

    def advance_fill_cursor(self, account: str, to: datetime) -> None:
        pk, after = fill_cursor_pk(account), stored_time(to)
        item = {"pk": pk, "sk": FILL_CURSOR_SK, "after": after}
        with self._db.transaction() as conn:
            # Forward only, as the DynamoDB store's condition: stored times compare as strings.
            conn.execute(
                "INSERT INTO risk_state (pk, sk, expires_at, item) VALUES (?, ?, NULL, ?) "
                "ON CONFLICT (pk, sk) DO UPDATE SET item = excluded.item "
                "WHERE json_extract(risk_state.item, '$.after') < ?",
                (pk, FILL_CURSOR_SK, dumps(item), after),
            )

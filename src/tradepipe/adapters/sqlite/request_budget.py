"""The account's request budget (ports/request_budget.py) on the runtime's database: one row of the
risk-state table (`BUDGET#<account>` / `BUDGET`, adapters/risk_keys.py), read and written in one
`BEGIN IMMEDIATE` transaction, so processes and threads taking at once are serialized by SQLite's write
lock. The row feeds no change (the risk-state triggers only feed switches and equity samples)."""

from __future__ import annotations

import json
from datetime import datetime

from tradepipe.adapters.risk_keys import BUDGET_SK, budget_pk
from tradepipe.adapters.sqlite.database import Database
from tradepipe.domain.request_budget import BudgetRule, reserve


class SqliteRequestBudget:
    def __init__(self, db: Database, rule: BudgetRule) -> None:
        self._db = db
        self.rule = rule

    def take(self, account: str, n: int, now: datetime, max_wait_s: float) -> float:
        pk = budget_pk(account)
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT item FROM risk_state WHERE pk = ? AND sk = ?", (pk, BUDGET_SK)
            ).fetchone()
            due = None if row is None else float(json.loads(row[0])["due"])
            granted = reserve(due, n, now.timestamp(), self.rule, max_wait_s)
            if granted.due is not None:
                conn.execute(
                    "INSERT INTO risk_state (pk, sk, expires_at, item) VALUES (?, ?, NULL, ?) "
                    "ON CONFLICT (pk, sk) DO UPDATE SET item = excluded.item",
                    (pk, BUDGET_SK, json.dumps({"pk": pk, "sk": BUDGET_SK, "due": granted.due})),
                )
        return granted.wait_s

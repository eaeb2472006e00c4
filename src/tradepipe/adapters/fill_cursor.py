"""The reconciler's fill cursor (ports/fill_cursor.py) in the risk-state table (adapters/risk_keys.py:
pk `CURSOR#<account>`, sk `FILLS`), and its in-memory twin. The mark only moves forward: a conditional
write, so a slow run finishing after a newer one cannot move it back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from tradepipe.adapters.risk_keys import FILL_CURSOR_SK, fill_cursor_pk, parse_time, stored_time


class MemoryFillCursorStore:
    def __init__(self) -> None:
        self.marks: dict[str, datetime] = {}

    def fill_cursor(self, account: str) -> datetime | None:
        return self.marks.get(account)

    def advance_fill_cursor(self, account: str, to: datetime) -> None:
        current = self.marks.get(account)
        if current is None or current < to:
            self.marks[account] = to


class DynamoFillCursorStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def fill_cursor(self, account: str) -> datetime | None:
        item = self._table.get_item(
            Key={"pk": fill_cursor_pk(account), "sk": FILL_CURSOR_SK}, ConsistentRead=True
        ).get("Item")
        return None if item is None else parse_time(item.get("after"))

    def advance_fill_cursor(self, account: str, to: datetime) -> None:
        try:
            self._table.update_item(
                Key={"pk": fill_cursor_pk(account), "sk": FILL_CURSOR_SK},
                UpdateExpression="SET #a = :to",
                # Stored times are fixed-width UTC ISO strings: string order is time order.
                ConditionExpression="attribute_not_exists(#a) OR #a < :to",
                ExpressionAttributeNames={"#a": "after"},
                ExpressionAttributeValues={":to": stored_time(to)},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

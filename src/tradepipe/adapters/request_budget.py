"""The account's request budget (ports/request_budget.py) in memory and in DynamoDB.

DynamoDB: one item per account in the risk-state table (`BUDGET#<account>` / `BUDGET`, adapters/risk_keys.py)
holding the bucket's mark `due` (domain/request_budget.py). A take is one conditional UpdateItem:
- busy bucket (`due` at or after now): `SET due = due + :cost` if `due` is between now and the latest mark
  the caller may wait for. DynamoDB adds atomically, so concurrent callers each get their own slot and none
  retries;
- idle bucket (no item, or `due` before now): `SET due = :now + :cost` if it is still idle.
The condition that fails says which case holds (the old item comes back with the failure), so a take is one
write in the common case and never more than three. Nothing is read first.
"""

from __future__ import annotations

import threading
from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from tradepipe.adapters.risk_keys import BUDGET_SK, budget_pk
from tradepipe.domain.request_budget import BudgetRule, reserve
from tradepipe.resources import RISK_STATE_TABLE

_PK = RISK_STATE_TABLE.partition_key
_SK = RISK_STATE_TABLE.sort_key or "sk"
_MAX_ATTEMPTS = 6  # three suffice (busy, idle, busy); a little slack for a pathological interleaving


def _number(value: float) -> Decimal:
    # Microseconds: exact in DynamoDB's decimal arithmetic, far below any interval of the rule.
    return Decimal(f"{value:.6f}")


class MemoryRequestBudget:
    """One process's budget: unit tests and the backtest."""

    def __init__(self, rule: BudgetRule) -> None:
        self.rule = rule
        self._due: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, account: str, n: int, now: datetime, max_wait_s: float) -> float:
        with self._lock:
            granted = reserve(self._due.get(account), n, now.timestamp(), self.rule, max_wait_s)
            if granted.due is not None:
                self._due[account] = granted.due
            return granted.wait_s


class BudgetExhausted(Exception):
    """The take kept losing its conditions: a fault a retry (the message's redelivery) can fix."""


class DynamoRequestBudget:
    def __init__(self, table: Any, rule: BudgetRule) -> None:
        self._table = table
        self.rule = rule

    def take(self, account: str, n: int, now: datetime, max_wait_s: float) -> float:
        rule, at = self.rule, now.timestamp()
        cost = n * rule.interval_s
        ahead = rule.burst * rule.interval_s  # how far `due` may lead now with no wait
        key = {_PK: budget_pk(account), _SK: BUDGET_SK}
        busy = True  # bursts are when it matters: try the busy case first
        for _ in range(_MAX_ATTEMPTS):
            try:
                if busy:
                    new = self._table.update_item(
                        Key=key,
                        UpdateExpression="SET #due = #due + :cost",
                        ConditionExpression="#due >= :now AND #due <= :latest",
                        ExpressionAttributeNames={"#due": "due"},
                        ExpressionAttributeValues={
                            ":cost": _number(cost),
                            ":now": _number(at),
                            # The latest mark before this take that still keeps the wait within max_wait_s.
                            ":latest": _number(at + ahead + max_wait_s - cost),
                        },
                        ReturnValues="UPDATED_NEW",
                        ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    )
                else:
                    granted = reserve(None, n, at, rule, max_wait_s)
                    if granted.due is None:
                        return granted.wait_s  # more than the bucket holds: never grantable in one take
                    new = self._table.update_item(
                        Key=key,
                        UpdateExpression="SET #due = :due",
                        ConditionExpression="attribute_not_exists(#due) OR #due < :now",
                        ExpressionAttributeNames={"#due": "due"},
                        ExpressionAttributeValues={":due": _number(granted.due), ":now": _number(at)},
                        ReturnValues="UPDATED_NEW",
                        ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                old: dict[str, Any] = dict(exc.response.get("Item") or {})  # type: ignore[call-overload]
                due = old.get("due")
                # The failure's item is in the low-level shape ({"N": "..."}): the resource layer leaves
                # error responses alone.
                stored = None if due is None else float(due["N"] if isinstance(due, dict) else due)
                if stored is None or stored < at:
                    busy = False
                    continue
                if busy:
                    # Too far ahead: nothing taken; say when the slots would come free.
                    return reserve(stored, n, at, rule, float("inf")).wait_s
                busy = True
                continue
            return max(0.0, float(new["Attributes"]["due"]) - ahead - at)
        raise BudgetExhausted(
            f"request budget for {account}: no slot after {_MAX_ATTEMPTS} conditional writes"
        )

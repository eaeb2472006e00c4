"""The risk-state table in DynamoDB (layout: adapters/risk_keys.py).

Every write that two invocations can race on is atomic or conditional: two risk invocations in different
FIFO groups (tickers) share the account's STATE# item. Counters use ADD, the high-water mark a conditional
SET (it only rises), a state switch an optimistic version check (its history is rewritten whole to stay
bounded), an exit a transaction conditional on the exit being new (a redelivered exit counts once), and the
open's drain a conditional delete (a queued entry is handed out once). ClientError codes become outcomes
here and nowhere else.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from tradepipe.adapters.dynamodb import to_item
from tradepipe.adapters.risk_keys import (
    DEFAULT_STATE,
    HISTORY_LIMIT,
    LEASE_SK,
    NOTICE_SK,
    RATE_SK,
    RESERVE_SK,
    STATE_SK,
    SYMBOL_SK,
    StateChange,
    book_attributes,
    book_from,
    epoch_minute,
    epoch_now,
    lease_pk,
    lease_times,
    notice_expires_at,
    notice_pk,
    parse_time,
    queued_close_pk,
    queued_pk,
    rate_expires_at,
    rate_pk,
    reserve_pk,
    state_pk,
    stored_time,
    symbol_pk,
)
from tradepipe.contracts.items import EquitySnapshotItem
from tradepipe.domain.model import Rejected
from tradepipe.domain.risk.reservations import SETTLE, Book, Granted, at_broker
from tradepipe.ports.risk_state import StoredTradingState
from tradepipe.resources import RISK_STATE_TABLE

_PK = RISK_STATE_TABLE.partition_key
_SK = RISK_STATE_TABLE.sort_key or "sk"
_TTL = RISK_STATE_TABLE.ttl_attribute or "expires_at"
_CONDITION_FAILED = "ConditionalCheckFailedException"
_TRANSACTION_CANCELED = "TransactionCanceledException"
_ZERO = Decimal(0)
_ONE = Decimal(1)


class RiskStateConflict(Exception):
    """A state switch kept losing its version check: a fault a retry (the message's redelivery) can fix."""


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is_condition_failure(exc: ClientError) -> bool:
    return _error_code(exc) == _CONDITION_FAILED


def _first_action_failed_its_condition(exc: ClientError) -> bool:
    """A cancelled transaction whose first action (the guard) failed its condition."""
    if _error_code(exc) != _TRANSACTION_CANCELED:
        return False
    reasons = exc.response.get("CancellationReasons") or []
    return bool(reasons) and reasons[0].get("Code") == "ConditionalCheckFailed"


def _state_from(item: dict[str, Any] | None) -> StoredTradingState:
    item = item or {}
    return StoredTradingState(
        state=str(item.get("state", DEFAULT_STATE)),
        high_water_mark=Decimal(item.get("high_water_mark", _ZERO)),
        losing_streak=int(item.get("losing_streak", 0)),
        changed_at=parse_time(item.get("changed_at")),
        rule=None if item.get("rule") is None else str(item["rule"]),
        detail=None if item.get("detail") is None else str(item["detail"]),
    )


def _change_from(entry: dict[str, Any]) -> StateChange:
    at = parse_time(entry["at"])
    if at is None:
        raise ValueError("a history entry without a time")
    return StateChange(
        from_state=str(entry["from_state"]),
        to_state=str(entry["to_state"]),
        rule=str(entry["rule"]),
        detail=str(entry["detail"]),
        at=at,
    )


class DynamoRiskStateStore:
    def __init__(self, table: Any, *, max_switch_attempts: int = 5, max_reserve_attempts: int = 25) -> None:
        self._table = table
        self._max_switch_attempts = max_switch_attempts
        # Entries of one account race on its RESERVE# item: each round of a race lets one writer through,
        # so this many attempts outlast that many concurrent assessments.
        self._max_reserve_attempts = max_reserve_attempts

    # --- per account: trading state, high-water mark, losing streak -------------------------------------

    def trading_state(self, account: str) -> StoredTradingState:
        return _state_from(self._get(state_pk(account), STATE_SK))

    def trading_state_history(self, account: str) -> list[StateChange]:
        """The last HISTORY_LIMIT switches, oldest first."""
        item = self._get(state_pk(account), STATE_SK) or {}
        return [_change_from(entry) for entry in item.get("history", [])]

    def set_trading_state(
        self, account: str, state: str, rule: str, detail: str, at: datetime
    ) -> StoredTradingState:
        for _ in range(self._max_switch_attempts):
            item = self._get(state_pk(account), STATE_SK) or {}
            version = int(item.get("version", 0))
            change = {
                "from_state": str(item.get("state", DEFAULT_STATE)),
                "to_state": state,
                "rule": rule,
                "detail": detail,
                "at": stored_time(at),
            }
            history = [*item.get("history", []), change][-HISTORY_LIMIT:]
            names = {
                "#state": "state",
                "#changed_at": "changed_at",
                "#rule": "rule",
                "#detail": "detail",
                "#history": "history",
                "#version": "version",
            }
            values: dict[str, Any] = {
                ":state": state,
                ":at": change["at"],
                ":rule": rule,
                ":detail": detail,
                ":history": history,
                ":next": version + 1,
            }
            if version:
                values[":version"] = version
            try:
                new = self._table.update_item(
                    Key=self._key(state_pk(account), STATE_SK),
                    UpdateExpression="SET #state = :state, #changed_at = :at, #rule = :rule, "
                    "#detail = :detail, #history = :history, #version = :next",
                    # The item may exist without a version (a high-water mark or a streak came first).
                    ConditionExpression="#version = :version"
                    if version
                    else "attribute_not_exists(#version)",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                )
            except ClientError as exc:
                if _is_condition_failure(exc):
                    continue  # another switch landed between the read and the write: re-read
                raise
            return _state_from(new["Attributes"])
        raise RiskStateConflict(
            f"trading state of {account!r}: {self._max_switch_attempts} version conflicts"
        )

    def raise_high_water_mark(self, account: str, equity: Decimal) -> Decimal:
        try:
            self._table.update_item(
                Key=self._key(state_pk(account), STATE_SK),
                UpdateExpression="SET #hwm = :equity",
                ConditionExpression="attribute_not_exists(#hwm) OR #hwm < :equity",
                ExpressionAttributeNames={"#hwm": "high_water_mark"},
                ExpressionAttributeValues={":equity": equity},
            )
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise
            # The stored mark is at least `equity`: it only rises.
            return self.trading_state(account).high_water_mark
        return equity

    # --- per account#ticker#strategy: exits and entries ---------------------------------------------------

    def reset_losing_streak(self, account: str) -> None:
        self._table.update_item(
            Key=self._key(state_pk(account), STATE_SK),
            UpdateExpression="SET #streak = :zero",
            ExpressionAttributeNames={"#streak": "losing_streak"},
            ExpressionAttributeValues={":zero": 0},
        )

    def record_exit(
        self, account: str, ticker: str, strategy: str, at: datetime, stop_out: bool, pnl: Decimal | None
    ) -> int:
        """The exit is recorded once: a redelivery with the same (or an older) `at` changes nothing, so a
        loss cannot extend the streak twice. A pnl of zero or None leaves the streak as it is."""
        sets = ["#exit = :at"]
        names = {"#exit": "last_exit_at"}
        if stop_out:
            sets.append("#stop = :at")
            names["#stop"] = "last_stop_out_at"
        guard = {
            "Key": self._key(symbol_pk(account, ticker, strategy), SYMBOL_SK),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": "attribute_not_exists(#exit) OR #exit < :at",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {":at": stored_time(at)},
        }
        streak = self._streak_update(account, pnl)
        try:
            if streak is None:
                self._table.update_item(**guard)
            else:
                self._table.meta.client.transact_write_items(
                    TransactItems=[
                        {"Update": {"TableName": self._table.name, **guard}},
                        {"Update": {"TableName": self._table.name, **streak}},
                    ]
                )
        except ClientError as exc:
            if not (_is_condition_failure(exc) or _first_action_failed_its_condition(exc)):
                raise
        return self.trading_state(account).losing_streak

    def _streak_update(self, account: str, pnl: Decimal | None) -> dict[str, Any] | None:
        if pnl is None or pnl == 0:
            return None
        key = self._key(state_pk(account), STATE_SK)
        if pnl < 0:
            return {
                "Key": key,
                "UpdateExpression": "ADD #streak :one",
                "ExpressionAttributeNames": {"#streak": "losing_streak"},
                "ExpressionAttributeValues": {":one": _ONE},
            }
        return {
            "Key": key,
            "UpdateExpression": "SET #streak = :zero",
            "ExpressionAttributeNames": {"#streak": "losing_streak"},
            "ExpressionAttributeValues": {":zero": _ZERO},
        }

    def record_entry(self, account: str, ticker: str, strategy: str, bar_time: datetime) -> None:
        self._table.update_item(
            Key=self._key(symbol_pk(account, ticker, strategy), SYMBOL_SK),
            UpdateExpression="SET #bar = :bar",
            ExpressionAttributeNames={"#bar": "last_entry_bar"},
            ExpressionAttributeValues={":bar": stored_time(bar_time)},
        )

    def symbol_history(
        self, account: str, ticker: str, strategy: str
    ) -> tuple[datetime | None, datetime | None, datetime | None]:
        item = self._get(symbol_pk(account, ticker, strategy), SYMBOL_SK) or {}
        return (
            parse_time(item.get("last_exit_at")),
            parse_time(item.get("last_stop_out_at")),
            parse_time(item.get("last_entry_bar")),
        )

    # --- per account: order rate ----------------------------------------------------------------------------

    def count_order(self, account: str, at: datetime) -> int:
        minute = epoch_minute(at)
        new = self._table.update_item(
            Key=self._key(rate_pk(account, minute), RATE_SK),
            UpdateExpression="ADD #orders :one SET #expires = :expires",
            ExpressionAttributeNames={"#orders": "orders", "#expires": _TTL},
            ExpressionAttributeValues={":one": _ONE, ":expires": rate_expires_at(minute)},
            ReturnValues="UPDATED_NEW",
        )
        return int(new["Attributes"]["orders"]) + self._orders_in(account, minute - 1)

    def orders_last_minute(self, account: str, at: datetime) -> int:
        minute = epoch_minute(at)
        return self._orders_in(account, minute) + self._orders_in(account, minute - 1)

    def _orders_in(self, account: str, minute: int) -> int:
        item = self._get(rate_pk(account, minute), RATE_SK) or {}
        return int(item.get("orders", 0))

    # --- per account#ticker: entries queued for the open ---------------------------------------------------

    def report_position(self, account: str, ticker: str, qty: Decimal, at: datetime) -> None:
        self._table.put_item(
            Item={_PK: f"REPORTED#{account}", _SK: ticker, "qty": qty, "at": stored_time(at)}
        )

    def reported_positions(self, account: str) -> dict[str, tuple[Decimal, datetime]]:
        items = self._table.query(KeyConditionExpression=Key(_PK).eq(f"REPORTED#{account}"))["Items"]
        return {str(i[_SK]): (Decimal(i["qty"]), datetime.fromisoformat(str(i["at"]))) for i in items}

    def queue_entry(self, account: str, ticker: str, signal_id: str, at: datetime) -> str | None:
        """Returns the signal_id replaced; None when nothing was queued (or it was this same signal)."""
        old = self._table.put_item(
            Item={_PK: queued_pk(account), _SK: ticker, "signal_id": signal_id, "at": stored_time(at)},
            ReturnValues="ALL_OLD",
        ).get("Attributes")
        replaced = None if old is None else str(old["signal_id"])
        return None if replaced == signal_id else replaced

    def take_queued(self, account: str) -> list[tuple[str, str]]:
        """Each entry is deleted only if it still holds the signal read, so two drains never hand out the
        same entry, and an entry replaced mid-drain stays queued for the next one. Ordered by ticker."""
        taken: list[tuple[str, str]] = []
        for item in self._query(queued_pk(account)):
            ticker, signal_id = str(item[_SK]), str(item["signal_id"])
            try:
                self._table.delete_item(
                    Key=self._key(queued_pk(account), ticker),
                    ConditionExpression="#sid = :sid",
                    ExpressionAttributeNames={"#sid": "signal_id"},
                    ExpressionAttributeValues={":sid": signal_id},
                )
            except ClientError as exc:
                if _is_condition_failure(exc):
                    continue
                raise
            taken.append((ticker, signal_id))
        return taken

    def drop_queued_entry(self, account: str, ticker: str) -> str | None:
        old = self._table.delete_item(Key=self._key(queued_pk(account), ticker), ReturnValues="ALL_OLD")
        item = old.get("Attributes")
        return None if item is None else str(item["signal_id"])

    # --- per account#ticker: closes queued for the open (an exit after hours) ------------------------------

    def queue_close(self, account: str, ticker: str, signal_id: str, at: datetime) -> str:
        """A conditional put: the first close queued for the ticker keeps the slot."""
        try:
            self._table.put_item(
                Item={
                    _PK: queued_close_pk(account),
                    _SK: ticker,
                    "signal_id": signal_id,
                    "at": stored_time(at),
                },
                ConditionExpression=f"attribute_not_exists({_PK}) OR #sid = :sid",
                ExpressionAttributeNames={"#sid": "signal_id"},
                ExpressionAttributeValues={":sid": signal_id},
            )
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise
            held = self._get(queued_close_pk(account), ticker)
            if held is not None:
                return str(held["signal_id"])
            return self.queue_close(account, ticker, signal_id, at)  # dropped in between: take the slot
        return signal_id

    def queued_closes(self, account: str) -> dict[str, str]:
        return {str(i[_SK]): str(i["signal_id"]) for i in self._query(queued_close_pk(account))}

    def drop_queued_close(self, account: str, ticker: str, signal_id: str) -> None:
        try:
            self._table.delete_item(
                Key=self._key(queued_close_pk(account), ticker),
                ConditionExpression="#sid = :sid",
                ExpressionAttributeNames={"#sid": "signal_id"},
                ExpressionAttributeValues={":sid": signal_id},
            )
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise

    # --- per account#ticker: who works on the position (executor or reconciler) ------------------------

    def acquire_lease(self, account: str, ticker: str, holder: str, now: datetime, ttl_s: float) -> bool:
        """A conditional put: free (no item), expired, or already this holder's (extended)."""
        until, expires_at = lease_times(now, ttl_s)
        try:
            self._table.put_item(
                Item={
                    _PK: lease_pk(account, ticker),
                    _SK: LEASE_SK,
                    "holder": holder,
                    "lease_until": until,
                    _TTL: expires_at,
                },
                ConditionExpression=f"attribute_not_exists({_PK}) OR #until < :now OR #holder = :holder",
                ExpressionAttributeNames={"#until": "lease_until", "#holder": "holder"},
                ExpressionAttributeValues={":now": epoch_now(now), ":holder": holder},
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    # --- per account: reservations ------------------------------------------------------------------------
    # DynamoDB applies each write to an item atomically and evaluates its condition against the item as it
    # is at that moment: a write conditional on the version read is the whole read-decide-write step, and
    # every write of the item bumps the version, so a reservation decided on a stale book never lands.

    def reserve(self, account: str, decide: Callable[[Book], Granted | Rejected]) -> Granted | Rejected:
        for attempt in range(self._max_reserve_attempts):
            item = self._get(reserve_pk(account), RESERVE_SK) or {}
            result = decide(book_from(item))
            if isinstance(result, Rejected):
                return result
            if self._write_book(account, item, result.book):
                return result
            time.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # noqa: S311 - jitter, not security
        raise RiskStateConflict(
            f"reservations of {account!r}: {self._max_reserve_attempts} version conflicts"
        )

    def release(self, account: str, reservation_id: str, at: datetime) -> bool:
        # One conditional update, as `Book.released` does it: kept for SETTLE, marked with its release.
        try:
            self._table.update_item(
                Key=self._key(reserve_pk(account), RESERVE_SK),
                UpdateExpression="SET #res.#id.#released = :at, #res.#id.#expires = :until ADD #version :one",
                ConditionExpression="attribute_exists(#res.#id) AND attribute_not_exists(#res.#id.#released)",
                ExpressionAttributeNames={
                    "#res": "reservations",
                    "#id": reservation_id,
                    "#released": "released_at",
                    "#expires": "expires_at",
                    "#version": "version",
                },
                ExpressionAttributeValues={
                    ":one": _ONE,
                    ":at": stored_time(at),
                    ":until": stored_time(at + SETTLE),
                },
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def hold_at_broker(self, account: str, reservation_id: str, until: datetime, at: datetime) -> bool:
        for _ in range(self._max_reserve_attempts):
            item = self._get(reserve_pk(account), RESERVE_SK) or {}
            moved = at_broker(book_from(item), reservation_id, until, at)
            if moved is None:
                return False
            if self._write_book(account, item, moved):
                return True
        raise RiskStateConflict(
            f"reservations of {account!r}: {self._max_reserve_attempts} version conflicts"
        )

    def book(self, account: str) -> Book:
        return book_from(self._get(reserve_pk(account), RESERVE_SK))

    def _write_book(self, account: str, read: dict[str, Any], book: Book) -> bool:
        """Store `book` if the item is still at the version `read` had; False when another write won."""
        version = int(read.get("version", 0))
        attributes = book_attributes(book)
        values: dict[str, Any] = {
            ":res": attributes["reservations"],
            ":times": attributes["order_times"],
            ":next": version + 1,
        }
        if version:
            values[":version"] = version
        try:
            self._table.update_item(
                Key=self._key(reserve_pk(account), RESERVE_SK),
                UpdateExpression="SET #res = :res, #times = :times, #version = :next",
                ConditionExpression="#version = :version" if version else "attribute_not_exists(#version)",
                ExpressionAttributeNames={
                    "#res": "reservations",
                    "#times": "order_times",
                    "#version": "version",
                },
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def release_lease(self, account: str, ticker: str, holder: str) -> None:
        try:
            self._table.delete_item(
                Key=self._key(lease_pk(account, ticker), LEASE_SK),
                ConditionExpression="#holder = :holder",
                ExpressionAttributeNames={"#holder": "holder"},
                ExpressionAttributeValues={":holder": holder},
            )
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise

    # --- per account: equity snapshots (the reconciler's samples; the stream indexes them) ---------------

    def record_equity_snapshot(self, item: EquitySnapshotItem) -> None:
        """A plain put: the key is the account and the sample's minute, so a second run in the same minute
        (an on-demand reconcile) replaces the sample instead of adding one."""
        self._table.put_item(Item=to_item(item.model_dump(mode="python")))

    # --- notices announced once (a silent stretch) ------------------------------------------------------

    def first_notice(self, key: str, at: datetime, keep_for: timedelta) -> bool:
        """A conditional put: the key is new, or its note has expired (TTL removes items up to two days
        late, so the expiry is checked here rather than trusted to be gone)."""
        try:
            self._table.put_item(
                Item={
                    **self._key(notice_pk(key), NOTICE_SK),
                    "at": stored_time(at),
                    _TTL: notice_expires_at(at, keep_for),
                },
                ConditionExpression="attribute_not_exists(#pk) OR #ttl <= :now",
                ExpressionAttributeNames={"#pk": _PK, "#ttl": _TTL},
                ExpressionAttributeValues={":now": int(at.timestamp())},
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    # --- plumbing ----------------------------------------------------------------------------------------

    @staticmethod
    def _key(pk: str, sk: str) -> dict[str, str]:
        return {_PK: pk, _SK: sk}

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._table.get_item(Key=self._key(pk, sk), ConsistentRead=True).get(
            "Item"
        )
        return found

    def _query(self, pk: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key(_PK).eq(pk), "ConsistentRead": True}
        while True:
            page = self._table.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

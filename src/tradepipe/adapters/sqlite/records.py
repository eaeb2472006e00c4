"""Signals, orders and fills on SQLite: the same contracts as the DynamoDB stores (conditional puts,
status moves
only from allowed statuses, the feed newest first), each method one transaction that joins the caller's
unit of
work when there is one."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel

from tradepipe.adapters.sqlite.database import Database
from tradepipe.contracts.items import OrderItem, OrderLeg, OrderUpdate, SignalItem, StatusUpdate
from tradepipe.domain.lifecycle import allowed_from
from tradepipe.domain.model import SignalStatus
from tradepipe.ports.broker import FillView
from tradepipe.ports.stores import DaySlice, FeedKey, SignalFilter


def to_json_value(value: Any) -> Any:
    """Python value -> what the item column stores: decimal strings (exact), ISO times, no None."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    return value


def dumps(values: Mapping[str, Any]) -> str:
    return json.dumps(to_json_value(dict(values)), separators=(",", ":"))


SignalRow = tuple[str, str, str, str, int, str]  # the signals table's columns, in INSERT order


def signal_row(item: SignalItem) -> SignalRow:
    received = item.received_at.astimezone(UTC)
    return (
        item.signal_id,
        item.status.value,
        received.date().isoformat(),
        received.isoformat(),
        item.expires_at,
        item.model_dump_json(exclude_none=True),
    )


def insert_signal(conn: Any, row: Sequence[Any]) -> bool:
    """The signal's record, unless its id is recorded already (the store's dedupe): whether it was new."""
    cur = conn.execute(
        "INSERT INTO signals (signal_id, status, received_day, received_at, expires_at, item) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (signal_id) DO NOTHING",
        tuple(row),
    )
    return bool(cur.rowcount == 1)


def signal_recorded(conn: Any, signal_id: str) -> bool:
    return conn.execute("SELECT 1 FROM signals WHERE signal_id = ?", (signal_id,)).fetchone() is not None


class SqliteSignalStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record_new(self, item: SignalItem) -> bool:
        with self._db.transaction() as conn:
            return insert_signal(conn, signal_row(item))

    def get(self, signal_id: str) -> SignalItem | None:
        row = (
            self._db.connection()
            .execute("SELECT item FROM signals WHERE signal_id = ?", (signal_id,))
            .fetchone()
        )
        return None if row is None else SignalItem.model_validate_json(row[0])

    def get_many(self, signal_ids: Sequence[str]) -> dict[str, SignalItem]:
        wanted = sorted(set(signal_ids))
        found: dict[str, SignalItem] = {}
        conn = self._db.connection()
        for start in range(0, len(wanted), 500):  # below SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(f"SELECT item FROM signals WHERE signal_id IN ({marks})", chunk)  # noqa: S608
            for (raw,) in rows:
                item = SignalItem.model_validate_json(raw)
                found[item.signal_id] = item
        return found

    def advance(self, signal_id: str, update: StatusUpdate) -> bool:
        """Conditional on the current status being one the lifecycle allows the move from; one transaction,
        so a concurrent move of the same signal waits for this one and then finds it moved on."""
        entry = update.entry
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT status, item FROM signals WHERE signal_id = ?", (signal_id,)
            ).fetchone()
            if row is None or SignalStatus(row[0]) not in allowed_from(entry.status):
                return False
            item = json.loads(row[1])
            item.update(to_json_value(update.fields.changes()))
            item["status"] = entry.status.value
            item["updated_at"] = entry.at.isoformat()
            item.setdefault("history", []).append(to_json_value(entry))
            conn.execute(
                "UPDATE signals SET status = ?, item = ? WHERE signal_id = ?",
                (entry.status.value, json.dumps(item, separators=(",", ":")), signal_id),
            )
        return True

    def newest_first(
        self,
        day: str,
        filters: SignalFilter,
        *,
        since: datetime | None,
        after: FeedKey | None,
        limit: int,
        max_reads: int,
    ) -> DaySlice:
        clauses, params = ["received_day = ?"], [day]
        if since is not None:
            clauses.append("received_at >= ?")
            params.append(since.astimezone(UTC).isoformat())
        if after is not None:
            clauses.append("(received_at, signal_id) < (?, ?)")
            params.extend([after.received_at, after.signal_id])
        if filters.status is not None:
            clauses.append("status = ?")
            params.append(filters.status.value)
        for name in ("ticker", "strategy", "mode"):
            value = getattr(filters, name)
            if value is not None:
                clauses.append(f"json_extract(item, '$.{name}') = ?")
                params.append(value.value if isinstance(value, Enum) else value)
        rows = (
            self._db.connection()
            .execute(
                f"SELECT received_at, signal_id, item FROM signals WHERE {' AND '.join(clauses)} "  # noqa: S608
                "ORDER BY received_at DESC, signal_id DESC LIMIT ?",
                (*params, limit + 1),
            )
            .fetchall()
        )
        items = [SignalItem.model_validate_json(raw) for _, _, raw in rows[:limit]]
        resume = FeedKey(rows[limit - 1][0], rows[limit - 1][1]) if len(rows) > limit else None
        return DaySlice(items, resume, 1)

    def sweep_expired(self, now: datetime | None = None) -> int:
        """DynamoDB's TTL: a signal past `expires_at` stops being a dedupe key (its documents stay
        indexed)."""
        epoch = int((now or datetime.now(UTC)).timestamp())
        with self._db.transaction() as conn:
            return int(conn.execute("DELETE FROM signals WHERE expires_at < ?", (epoch,)).rowcount)

    def count(self) -> int:
        return int(self._db.connection().execute("SELECT COUNT(*) FROM signals").fetchone()[0])


class SqliteOrderStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record_intent(self, item: OrderItem) -> bool:
        with self._db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO orders "
                "(client_order_id, signal_id, mode, symbol, status, item, working_account) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_order_id) DO NOTHING",
                (
                    item.client_order_id,
                    item.signal_id,
                    item.mode.value,
                    item.symbol,
                    item.status,
                    item.model_dump_json(exclude_none=True),
                    item.mode.value,  # followed by the reconciler from the start
                ),
            )
        return cur.rowcount == 1

    def get(self, client_order_id: str) -> OrderItem | None:
        row = (
            self._db.connection()
            .execute("SELECT item FROM orders WHERE client_order_id = ?", (client_order_id,))
            .fetchone()
        )
        return None if row is None else OrderItem.model_validate_json(row[0])

    def update(self, client_order_id: str, update: OrderUpdate) -> None:
        values = to_json_value(update.changes())
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT item FROM orders WHERE client_order_id = ?", (client_order_id,)
            ).fetchone()
            if row is None:
                # The DynamoDB store's attribute_exists condition: an update never creates an order.
                raise KeyError(f"order {client_order_id} is not recorded")
            item = json.loads(row[0]) | values
            conn.execute(
                "UPDATE orders SET status = ?, item = ? WHERE client_order_id = ?",
                (item.get("status"), json.dumps(item, separators=(",", ":")), client_order_id),
            )

    def working(self, account: str) -> list[OrderItem]:
        rows = (
            self._db.connection()
            .execute("SELECT item FROM orders WHERE working_account = ? ORDER BY client_order_id", (account,))
            .fetchall()
        )
        return [OrderItem.model_validate_json(raw) for (raw,) in rows]

    def record_working(self, client_order_id: str, account: str, legs: Sequence[OrderLeg]) -> None:
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT item FROM orders WHERE client_order_id = ?", (client_order_id,)
            ).fetchone()
            if row is None:
                raise KeyError(f"order {client_order_id} is not recorded")
            item = json.loads(row[0]) | {"legs": [leg.model_dump() for leg in legs]}
            conn.execute(
                "UPDATE orders SET working_account = ?, item = ? WHERE client_order_id = ?",
                (account, json.dumps(item, separators=(",", ":")), client_order_id),
            )

    def record_done(self, client_order_id: str) -> None:
        # The item is unchanged (no change record for the indexer): only the index column is cleared.
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE orders SET working_account = NULL WHERE client_order_id = ?", (client_order_id,)
            )


class SqliteFillStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record_fill(
        self, fill: FillView, mode: str, client_order_id: str | None, signal_id: str | None
    ) -> bool:
        signed = fill.qty if fill.side == "buy" else -fill.qty
        pk = f"{mode}#{fill.symbol}"
        item = {
            "pk": pk,
            "execution_id": fill.execution_id,
            "mode": mode,
            "symbol": fill.symbol,
            "side": fill.side,
            "qty": fill.qty,
            "signed_qty": signed,
            "price": fill.price,
            "at": fill.at,
            "broker_order_id": fill.broker_order_id,
            "client_order_id": client_order_id,
            "signal_id": signal_id,
        }
        with self._db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO fills (pk, execution_id, signed_qty, item) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (pk, execution_id) DO NOTHING",
                (pk, fill.execution_id, str(signed), dumps(item)),
            )
        return cur.rowcount == 1

    def net_quantity(self, mode: str, symbol: str) -> Decimal:
        rows = self._db.connection().execute(
            "SELECT signed_qty FROM fills WHERE pk = ?", (f"{mode}#{symbol}",)
        )
        return sum((Decimal(q) for (q,) in rows), Decimal(0))

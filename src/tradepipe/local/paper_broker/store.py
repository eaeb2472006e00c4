"""Where the paper broker keeps its state: nowhere (unit tests), or its own SQLite file, so a restarted
broker finds its orders, positions, cash, fills, market cursor, clock marks and day trades as Alpaca would.

SQLite in WAL mode with `synchronous=FULL`: every request that changed something is one transaction,
committed (and fsynced) before the answer leaves, so an order a client was told about survives a crash.
A test broker's few hundred writes a minute make FULL's cost (about a millisecond a commit here) moot.
Only what changed is written: orders open at the start of the request or created in it (a closed order
never changes again), the positions, new fills and day trades, and the account's row.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, Protocol, TypeVar, get_args, get_origin

from tradepipe.local.paper_broker.state import Account, BrokerState, DayTrade, Fill, Order, Position

SCHEMA_VERSION = 1
FILE_NAME = "paper-broker.sqlite3"
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS positions (symbol TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fills (n INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS day_trades (n INTEGER PRIMARY KEY, body TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Market:
    """The market's saved position: the feed's cursor and the prices set on top of it."""

    cursor: date
    overrides: dict[str, Decimal]


@dataclass(frozen=True)
class Saved:
    state: BrokerState
    market: Market


class BrokerStore(Protocol):
    def load(self) -> Saved | None: ...

    def save(self, state: BrokerState, market: Market, orders: Iterable[Order]) -> None: ...

    def clear(self) -> None: ...

    def close(self) -> None: ...


class MemoryStore:
    """Keeps nothing: the state lives and dies with the process (unit tests, `PaperBroker()`)."""

    def load(self) -> Saved | None:
        return None

    def save(self, state: BrokerState, market: Market, orders: Iterable[Order]) -> None:
        return None

    def clear(self) -> None:
        return None

    def close(self) -> None:
        return None


class SqliteStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        # The engine serializes every use under its own lock; the server's threads share this connection.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        version = self._meta("schema_version")
        if version is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(version) != SCHEMA_VERSION:
            raise RuntimeError(f"{path}: schema version {version}, this broker reads {SCHEMA_VERSION}")
        # What each order was when last saved, as a tuple of its field values: comparing these skips
        # encoding the open orders a request did not change (every request touches every open order, so
        # encoding them all was most of the broker's CPU per request, growing with open orders).
        self._saved_orders: dict[str, tuple[Any, ...]] = {}
        self._saved_rows: dict[str, str] = {}
        self._fills_saved = 0
        self._day_trades_saved = 0

    @classmethod
    def in_dir(cls, state_dir: Path) -> SqliteStore:
        return cls(state_dir / FILE_NAME)

    def load(self) -> Saved | None:
        with self._lock:
            account = self._meta("account")
            if account is None:
                return None
            state = BrokerState(account=decode(Account, json.loads(account)))
            for (body,) in self._db.execute("SELECT body FROM orders ORDER BY seq"):
                order = decode(Order, json.loads(body))
                state.orders[order.id] = order
                state.by_client_id[order.client_order_id] = order.id
                self._saved_orders[order.id] = _snapshot(order)
            for (body,) in self._db.execute("SELECT body FROM positions"):
                position = decode(Position, json.loads(body))
                state.positions[position.symbol] = position
            state.fills = [
                decode(Fill, json.loads(b)) for (b,) in self._db.execute("SELECT body FROM fills ORDER BY n")
            ]
            state.day_trades = [
                decode(DayTrade, json.loads(b))
                for (b,) in self._db.execute("SELECT body FROM day_trades ORDER BY n")
            ]
            self._fills_saved, self._day_trades_saved = len(state.fills), len(state.day_trades)
            books = json.loads(self._meta("books") or "{}")
            state.next_seq = int(books.get("next_seq", 0))
            state.opened_on = {s: date.fromisoformat(d) for s, d in books.get("opened_on", {}).items()}
            state.next_close = _when(books.get("next_close"))
            state.next_extended_close = _when(books.get("next_extended_close"))
            market_row = json.loads(self._meta("market") or "{}")
            market = Market(
                date.fromisoformat(market_row["cursor"]),
                {s: Decimal(p) for s, p in market_row.get("overrides", {}).items()},
            )
            self._saved_rows = {
                "account": account,
                "books": self._meta("books") or "",
                "market": self._meta("market") or "",
            }
            return Saved(state, market)

    def save(self, state: BrokerState, market: Market, orders: Iterable[Order]) -> None:
        """Write what differs from the last save, in one transaction (nothing when nothing changed)."""
        with self._lock:
            order_rows = []
            changed_orders: dict[str, tuple[Any, ...]] = {}
            for order in orders:
                snapshot = _snapshot(order)
                if self._saved_orders.get(order.id) != snapshot:
                    order_rows.append((order.id, order.seq, json.dumps(encode(order), sort_keys=True)))
                    changed_orders[order.id] = snapshot
            rows = {
                "account": json.dumps(encode(state.account), sort_keys=True),
                "books": json.dumps(
                    {
                        "next_seq": state.next_seq,
                        "opened_on": {s: d.isoformat() for s, d in state.opened_on.items()},
                        "next_close": _text(state.next_close),
                        "next_extended_close": _text(state.next_extended_close),
                    },
                    sort_keys=True,
                ),
                "market": json.dumps(
                    {
                        "cursor": market.cursor.isoformat(),
                        "overrides": {s: str(p) for s, p in market.overrides.items()},
                    },
                    sort_keys=True,
                ),
                "positions": json.dumps(
                    [encode(p) for _, p in sorted(state.positions.items())], sort_keys=True
                ),
            }
            changed_rows = {k: v for k, v in rows.items() if self._saved_rows.get(k) != v}
            new_fills = state.fills[self._fills_saved :]
            new_trades = state.day_trades[self._day_trades_saved :]
            if not (order_rows or changed_rows or new_fills or new_trades):
                return
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("INSERT OR REPLACE INTO orders VALUES (?, ?, ?)", order_rows)
                for key in ("account", "books", "market"):
                    if key in changed_rows:
                        db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, changed_rows[key]))
                if "positions" in changed_rows:
                    db.execute("DELETE FROM positions")
                    db.executemany(
                        "INSERT INTO positions VALUES (?, ?)",
                        [(s, json.dumps(encode(p))) for s, p in state.positions.items()],
                    )
                db.executemany(
                    "INSERT INTO fills VALUES (?, ?)",
                    [(self._fills_saved + i, json.dumps(encode(f))) for i, f in enumerate(new_fills)],
                )
                db.executemany(
                    "INSERT INTO day_trades VALUES (?, ?)",
                    [(self._day_trades_saved + i, json.dumps(encode(t))) for i, t in enumerate(new_trades)],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self._saved_orders.update(changed_orders)
            self._saved_rows.update(changed_rows)
            self._fills_saved += len(new_fills)
            self._day_trades_saved += len(new_trades)

    def clear(self) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            for table in ("orders", "positions", "fills", "day_trades"):
                self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            self._db.execute("DELETE FROM meta WHERE key != 'schema_version'")
            self._db.execute("COMMIT")
            self._saved_orders.clear()
            self._saved_rows.clear()
            self._fills_saved = self._day_trades_saved = 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _when(raw: str | None) -> datetime | None:
    return None if raw is None else datetime.fromisoformat(raw)


# --- records <-> JSON ---------------------------------------------------------------------------------


def encode(record: Any) -> dict[str, Any]:
    return {name: _plain(getattr(record, name)) for name in _field_names(type(record))}


def _snapshot(record: Any) -> tuple[Any, ...]:
    """Field values, comparable and immune to later changes: lists as tuples, decimals as their text (1.0 and
    1.00 are equal numbers but different JSON)."""
    return tuple(
        tuple(value) if type(value) is list else str(value) if type(value) is Decimal else value
        for value in map(record.__getattribute__, _field_names(type(record)))
    )


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        if not is_dataclass(cls):
            raise TypeError(f"not a record: {cls.__name__}")
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def decode(cls: type[T], data: dict[str, Any]) -> T:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{name: _typed(hints[name], raw) for name, raw in data.items() if name in known})


def _typed(tp: Any, raw: Any) -> Any:
    if raw is None:
        return None
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in get_args(tp) if a is not type(None)]
        return _typed(inner, raw)
    if origin is list:
        (item,) = get_args(tp)
        return [_typed(item, r) for r in raw]
    if tp is Decimal:
        return Decimal(raw)
    if tp is datetime:
        return datetime.fromisoformat(raw)
    if tp is date:
        return date.fromisoformat(raw)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(raw)
    return raw

"""The risk-state table on SQLite, in the DynamoDB store's single-table layout (adapters/risk_keys.py) so the
indexer reads both the same way. Where DynamoDB needs conditional writes, version checks and transactions to
stay right under concurrent invocations, each method here is one SQLite write transaction: the same outcomes,
because SQLite serializes writers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tradepipe.adapters.risk_keys import (
    DEFAULT_STATE,
    HISTORY_LIMIT,
    LEASE_SK,
    LEASE_SWEEP_AFTER_S,
    NOTICE_SK,
    RATE_SK,
    STATE_SK,
    SYMBOL_SK,
    StateChange,
    epoch_minute,
    lease_pk,
    notice_expires_at,
    notice_pk,
    parse_time,
    queued_close_pk,
    queued_pk,
    rate_expires_at,
    rate_pk,
    state_pk,
    stored_time,
    symbol_pk,
)
from tradepipe.adapters.sqlite.database import Database
from tradepipe.adapters.sqlite.records import dumps, to_json_value
from tradepipe.adapters.sqlite.reservation_rows import ReservationRows
from tradepipe.contracts.items import EquitySnapshotItem
from tradepipe.domain.model import Rejected
from tradepipe.domain.risk.reservations import Book, Granted, at_broker
from tradepipe.ports.risk_state import StoredTradingState

_ZERO = Decimal(0)


def _state_from(item: dict[str, Any] | None) -> StoredTradingState:
    item = item or {}
    return StoredTradingState(
        state=str(item.get("state", DEFAULT_STATE)),
        high_water_mark=Decimal(str(item.get("high_water_mark", _ZERO))),
        losing_streak=int(item.get("losing_streak", 0)),
        changed_at=parse_time(item.get("changed_at")),
        rule=None if item.get("rule") is None else str(item["rule"]),
        detail=None if item.get("detail") is None else str(item["detail"]),
    )


class SqliteRiskStateStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._books = ReservationRows()  # the reservation book: only the rows that changed are written

    # --- plumbing ----------------------------------------------------------------------------------------

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        row = (
            self._db.connection()
            .execute("SELECT item FROM risk_state WHERE pk = ? AND sk = ?", (pk, sk))
            .fetchone()
        )
        return None if row is None else dict(json.loads(row[0]))

    def _put(self, conn: Any, pk: str, sk: str, item: dict[str, Any], expires_at: int | None = None) -> None:
        conn.execute(
            "INSERT INTO risk_state (pk, sk, expires_at, item) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (pk, sk) DO UPDATE SET expires_at = excluded.expires_at, item = excluded.item",
            (pk, sk, expires_at, dumps({**item, "pk": pk, "sk": sk})),
        )

    def _read_in(self, conn: Any, pk: str, sk: str) -> dict[str, Any]:
        row = conn.execute("SELECT item FROM risk_state WHERE pk = ? AND sk = ?", (pk, sk)).fetchone()
        return {} if row is None else dict(json.loads(row[0]))

    # --- per account: trading state, high-water mark, losing streak -------------------------------------

    def trading_state(self, account: str) -> StoredTradingState:
        return _state_from(self._get(state_pk(account), STATE_SK))

    def trading_state_history(self, account: str) -> list[StateChange]:
        item = self._get(state_pk(account), STATE_SK) or {}
        return [
            StateChange(
                e["from_state"], e["to_state"], e["rule"], e["detail"], datetime.fromisoformat(e["at"])
            )
            for e in item.get("history", [])
        ]

    def set_trading_state(
        self, account: str, state: str, rule: str, detail: str, at: datetime
    ) -> StoredTradingState:
        pk = state_pk(account)
        with self._db.transaction() as conn:
            item = self._read_in(conn, pk, STATE_SK)
            change = {
                "from_state": str(item.get("state", DEFAULT_STATE)),
                "to_state": state,
                "rule": rule,
                "detail": detail,
                "at": stored_time(at),
            }
            item.update(
                state=state,
                changed_at=change["at"],
                rule=rule,
                detail=detail,
                history=[*item.get("history", []), change][-HISTORY_LIMIT:],
                version=int(item.get("version", 0)) + 1,
            )
            self._put(conn, pk, STATE_SK, item)
        return _state_from(item)

    def raise_high_water_mark(self, account: str, equity: Decimal) -> Decimal:
        pk = state_pk(account)
        # Read first: a mark only ever rises, so one at or above `equity` answers without a write. Every
        # risk decision asks, and a write transaction is a turn on the writer lock the intake's group commit
        # queues behind; the mark rises only on a new equity high.
        stored = (self._get(pk, STATE_SK) or {}).get("high_water_mark")
        if stored is not None and Decimal(str(stored)) >= equity:
            return Decimal(str(stored))
        with self._db.transaction() as conn:
            item = self._read_in(conn, pk, STATE_SK)
            stored = item.get("high_water_mark")
            if stored is not None and Decimal(str(stored)) >= equity:
                return Decimal(str(stored))
            item["high_water_mark"] = equity
            self._put(conn, pk, STATE_SK, item)
        return equity

    def reset_losing_streak(self, account: str) -> None:
        pk = state_pk(account)
        with self._db.transaction() as conn:
            item = self._read_in(conn, pk, STATE_SK)
            item["losing_streak"] = 0
            self._put(conn, pk, STATE_SK, item)

    # --- per account#ticker#strategy: exits and entries ---------------------------------------------------

    def record_exit(
        self, account: str, ticker: str, strategy: str, at: datetime, stop_out: bool, pnl: Decimal | None
    ) -> int:
        """Recorded once: a redelivery with the same (or an older) `at` changes nothing."""
        when = stored_time(at)
        spk = symbol_pk(account, ticker, strategy)
        with self._db.transaction() as conn:
            symbol = self._read_in(conn, spk, SYMBOL_SK)
            state = self._read_in(conn, state_pk(account), STATE_SK)
            if symbol.get("last_exit_at") is None or str(symbol["last_exit_at"]) < when:
                symbol["last_exit_at"] = when
                if stop_out:
                    symbol["last_stop_out_at"] = when
                self._put(conn, spk, SYMBOL_SK, symbol)
                if pnl is not None and pnl != 0:
                    state["losing_streak"] = int(state.get("losing_streak", 0)) + 1 if pnl < 0 else 0
                    self._put(conn, state_pk(account), STATE_SK, state)
        return int(state.get("losing_streak", 0))

    def record_entry(self, account: str, ticker: str, strategy: str, bar_time: datetime) -> None:
        spk = symbol_pk(account, ticker, strategy)
        with self._db.transaction() as conn:
            symbol = self._read_in(conn, spk, SYMBOL_SK)
            symbol["last_entry_bar"] = stored_time(bar_time)
            self._put(conn, spk, SYMBOL_SK, symbol)

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
        pk = rate_pk(account, minute)
        with self._db.transaction() as conn:
            item = self._read_in(conn, pk, RATE_SK)
            item["orders"] = int(item.get("orders", 0)) + 1
            expires = rate_expires_at(minute)
            item["expires_at"] = expires
            self._put(conn, pk, RATE_SK, item, expires)
            previous = int(self._read_in(conn, rate_pk(account, minute - 1), RATE_SK).get("orders", 0))
        return int(item["orders"]) + previous

    def orders_last_minute(self, account: str, at: datetime) -> int:
        minute = epoch_minute(at)
        return sum(
            int((self._get(rate_pk(account, m), RATE_SK) or {}).get("orders", 0))
            for m in (minute, minute - 1)
        )

    # --- what strategies say they hold; entries queued for the open ------------------------------------

    def report_position(self, account: str, ticker: str, qty: Decimal, at: datetime) -> None:
        with self._db.transaction() as conn:
            self._put(conn, f"REPORTED#{account}", ticker, {"qty": qty, "at": stored_time(at)})

    def reported_positions(self, account: str) -> dict[str, tuple[Decimal, datetime]]:
        rows = self._db.connection().execute(
            "SELECT sk, item FROM risk_state WHERE pk = ?", (f"REPORTED#{account}",)
        )
        out: dict[str, tuple[Decimal, datetime]] = {}
        for sk, raw in rows:
            item = json.loads(raw)
            out[sk] = (Decimal(str(item["qty"])), datetime.fromisoformat(item["at"]))
        return out

    def queue_entry(self, account: str, ticker: str, signal_id: str, at: datetime) -> str | None:
        pk = queued_pk(account)
        with self._db.transaction() as conn:
            old = self._read_in(conn, pk, ticker)
            self._put(conn, pk, ticker, {"signal_id": signal_id, "at": stored_time(at)})
        replaced = old.get("signal_id")
        return None if replaced is None or replaced == signal_id else str(replaced)

    def take_queued(self, account: str) -> list[tuple[str, str]]:
        pk = queued_pk(account)
        with self._db.transaction() as conn:
            rows = conn.execute("SELECT sk, item FROM risk_state WHERE pk = ? ORDER BY sk", (pk,)).fetchall()
            conn.execute("DELETE FROM risk_state WHERE pk = ?", (pk,))
        return [(sk, str(json.loads(raw)["signal_id"])) for sk, raw in rows]

    def drop_queued_entry(self, account: str, ticker: str) -> str | None:
        pk = queued_pk(account)
        with self._db.transaction() as conn:
            old = self._read_in(conn, pk, ticker)
            conn.execute("DELETE FROM risk_state WHERE pk = ? AND sk = ?", (pk, ticker))
        return None if not old else str(old["signal_id"])

    # --- closes queued for the open (an exit after hours) -------------------------------------------------

    def queue_close(self, account: str, ticker: str, signal_id: str, at: datetime) -> str:
        pk = queued_close_pk(account)
        with self._db.transaction() as conn:
            held = self._read_in(conn, pk, ticker)
            if held:
                return str(held["signal_id"])
            self._put(conn, pk, ticker, {"signal_id": signal_id, "at": stored_time(at)})
        return signal_id

    def queued_closes(self, account: str) -> dict[str, str]:
        rows = self._db.connection().execute(
            "SELECT sk, item FROM risk_state WHERE pk = ?", (queued_close_pk(account),)
        )
        return {sk: str(json.loads(raw)["signal_id"]) for sk, raw in rows}

    def drop_queued_close(self, account: str, ticker: str, signal_id: str) -> None:
        pk = queued_close_pk(account)
        with self._db.transaction() as conn:
            if self._read_in(conn, pk, ticker).get("signal_id") == signal_id:
                conn.execute("DELETE FROM risk_state WHERE pk = ? AND sk = ?", (pk, ticker))

    # --- per-ticker leases (executor / reconciler) --------------------------------------------------------

    def acquire_lease(self, account: str, ticker: str, holder: str, now: datetime, ttl_s: float) -> bool:
        pk, at = lease_pk(account, ticker), now.timestamp()
        with self._db.transaction() as conn:
            current = self._read_in(conn, pk, LEASE_SK)
            if current and current["holder"] != holder and float(current["lease_until"]) > at:
                return False
            until = round(at + ttl_s, 3)
            self._put(
                conn, pk, LEASE_SK, {"holder": holder, "lease_until": until}, int(until) + LEASE_SWEEP_AFTER_S
            )
        return True

    def release_lease(self, account: str, ticker: str, holder: str) -> None:
        pk = lease_pk(account, ticker)
        with self._db.transaction() as conn:
            if self._read_in(conn, pk, LEASE_SK).get("holder") == holder:
                conn.execute("DELETE FROM risk_state WHERE pk = ? AND sk = ?", (pk, LEASE_SK))

    # --- per account: reservations (each one BEGIN IMMEDIATE transaction: SQLite serializes writers, so
    # the read, the decision and the write are one step across threads and processes) -----------------

    def reserve(self, account: str, decide: Callable[[Book], Granted | Rejected]) -> Granted | Rejected:
        with self._db.transaction() as conn:
            book = self._books.read(conn, account)
            result = decide(book)
            if isinstance(result, Granted):
                self._books.write(conn, account, book, result.book)
        return result

    def release(self, account: str, reservation_id: str, at: datetime) -> bool:
        return self._rewrite(account, lambda book: book.released(reservation_id, at))

    def hold_at_broker(self, account: str, reservation_id: str, until: datetime, at: datetime) -> bool:
        return self._rewrite(account, lambda book: at_broker(book, reservation_id, until, at))

    def book(self, account: str) -> Book:
        return self._books.read(self._db.connection(), account)

    def _rewrite(self, account: str, change: Callable[[Book], Book | None]) -> bool:
        with self._db.transaction() as conn:
            book = self._books.read(conn, account)
            changed = change(book)
            if changed is None:
                return False
            self._books.write(conn, account, book, changed)
        return True

    # --- equity snapshots
    # ------------------------------------------------------------------------------------

    def record_equity_snapshot(self, item: EquitySnapshotItem) -> None:
        with self._db.transaction() as conn:
            self._put(conn, item.pk, item.sk, to_json_value(item), item.expires_at)

    # --- notices announced once -----------------------------------------------------------------------

    def first_notice(self, key: str, at: datetime, keep_for: timedelta) -> bool:
        pk = notice_pk(key)
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT expires_at FROM risk_state WHERE pk = ? AND sk = ?", (pk, NOTICE_SK)
            ).fetchone()
            if row is not None and row[0] is not None and row[0] > int(at.timestamp()):
                return False
            expires_at = notice_expires_at(at, keep_for)
            self._put(conn, pk, NOTICE_SK, {"at": stored_time(at), "expires_at": expires_at}, expires_at)
        return True

    def sweep_expired(self, now: datetime | None = None) -> int:
        """DynamoDB's TTL: delete rows whose `expires_at` has passed (counters, snapshots)."""
        epoch = int((now or datetime.now(UTC)).timestamp())
        with self._db.transaction() as conn:
            return int(conn.execute("DELETE FROM risk_state WHERE expires_at < ?", (epoch,)).rowcount)

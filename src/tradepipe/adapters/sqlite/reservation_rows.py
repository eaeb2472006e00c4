"""An account's reservation book as rows (schema v4): a row per reservation, a row per order time, and a
token that changes with every write.

Why rows: the book holds every entry still resting at the broker and every one released within `SETTLE`
(hundreds at a bar close), and as one record (the DynamoDB shape, `adapters/risk_state.py`) each reserve,
hold and release read, encoded and wrote all of it: ~0.3 ms of CPU per write with ~150 reservations, two
writes an alert, tens of kilobytes of WAL each. Here a write touches the rows that changed.

The Book the domain decides on is kept in the process with the token it was read or written at: a read
that finds the same token (one small row) reuses it; any other token (another process wrote, or a write of
this one was rolled back) loads the rows again. The token is random, never a counter, so a rolled-back
write's Book can never be mistaken for a later write's. What changed is told by identity, as the domain
hands back the very objects it kept (`Book.live`, `Book.released`, `fit`): a reservation object not in the
Book read is written (a new one, or one released or handed to the broker), one whose id is gone is deleted;
the same for the order times."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from tradepipe.adapters.risk_keys import book_from, reservation_attributes, stored_time
from tradepipe.domain.risk.reservations import Book, Reservation

_reserved_at = attrgetter("reserved_at")


@dataclass(frozen=True)
class _Known:
    token: str
    book: Book
    time_rows: tuple[int, ...]  # the row of each of `book.order_times`, in its order


class ReservationRows:
    """Shared by the store's threads: its state is one reference per account, each replaced whole."""

    def __init__(self) -> None:
        self._known: dict[str, _Known] = {}

    def read(self, conn: Any, account: str) -> Book:
        """The account's book as of `conn`'s transaction (a read outside one is its own snapshot)."""
        token = _token(conn, account)
        known = self._known.get(account)
        if known is not None and known.token == token:
            return known.book
        book, rows = _load(conn, account)
        if token is not None and _token(conn, account) == token:  # nothing written between the two reads
            self._known[account] = _Known(token, book, rows)
        return book

    def write(self, conn: Any, account: str, read: Book, book: Book) -> None:
        """Store `book`, which the domain made from `read` (this store's last `read` in this transaction)."""
        known = self._known.get(account)
        if known is None or known.book is not read:  # not the Book this store handed out: every row anew
            conn.execute("DELETE FROM reservations WHERE account = ?", (account,))
            conn.execute("DELETE FROM reservation_times WHERE account = ?", (account,))
            known = _Known("", Book(), ())
        in_order = _write_reservations(conn, account, known.book, book)
        rows = _write_times(conn, account, known, book.order_times)
        token = os.urandom(8).hex()
        conn.execute(
            "INSERT INTO reservation_books (account, token) VALUES (?, ?) "
            "ON CONFLICT (account) DO UPDATE SET token = excluded.token",
            (account, token),
        )
        # The Book a load of these rows gives: reservations by reserved_at, ties in the order written.
        reservations = book.reservations if in_order else tuple(sorted(book.reservations, key=_reserved_at))
        self._known[account] = _Known(token, Book(reservations, book.order_times), rows)


def _token(conn: Any, account: str) -> str | None:
    row = conn.execute("SELECT token FROM reservation_books WHERE account = ?", (account,)).fetchone()
    return None if row is None else str(row[0])


def _load(conn: Any, account: str) -> tuple[Book, tuple[int, ...]]:
    reservations = {
        rid: json.loads(item)
        for rid, item in conn.execute(
            "SELECT reservation_id, item FROM reservations WHERE account = ? ORDER BY reserved_at, seq",
            (account,),
        )
    }
    times = conn.execute(
        "SELECT seq, at FROM reservation_times WHERE account = ? ORDER BY seq", (account,)
    ).fetchall()
    book = book_from({"reservations": reservations, "order_times": [at for _seq, at in times]})
    return book, tuple(seq for seq, _at in times)


def _write_reservations(conn: Any, account: str, read: Book, book: Book) -> bool:
    """Write what changed from `read` (in reserved_at order) to `book`; whether `book` is in that order too
    (the usual writes keep it: a reserve appends the newest, a release or a hand-off replaces in place)."""
    old, new = read.reservations, book.reservations
    if new is old:
        return True
    if len(new) == len(old) + 1 and new[: len(old)] == old:  # a reserve: one more (identity, compared in C)
        _upsert(conn, account, new[-1])
        return not old or old[-1].reserved_at <= new[-1].reserved_at
    if len(new) == len(old):  # a release or a hand-off: the same reservations, some replaced
        changed = [(a, b) for a, b in zip(old, new, strict=True) if a is not b]
        if all(a.reservation_id == b.reservation_id and a.reserved_at == b.reserved_at for a, b in changed):
            for _a, b in changed:
                _upsert(conn, account, b)
            return True
    before = {id(r): r for r in old}
    kept: set[str] = set()
    for r in new:
        kept.add(r.reservation_id)
        if before.get(id(r)) is not r:  # new, or changed (a new object): written whole
            _upsert(conn, account, r)
    gone = [(account, r.reservation_id) for r in old if r.reservation_id not in kept]
    if gone:
        conn.executemany("DELETE FROM reservations WHERE account = ? AND reservation_id = ?", gone)
    return False


def _upsert(conn: Any, account: str, r: Reservation) -> None:
    conn.execute(
        "INSERT INTO reservations (account, reservation_id, reserved_at, item) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (account, reservation_id) DO UPDATE SET reserved_at = excluded.reserved_at, "
        "item = excluded.item",
        (
            account,
            r.reservation_id,
            stored_time(r.reserved_at),
            json.dumps(reservation_attributes(r), separators=(",", ":")),
        ),
    )


def _write_times(conn: Any, account: str, known: _Known, times: tuple[datetime, ...]) -> tuple[int, ...]:
    """The order times' rows: those kept (the same objects) stay, the others go, the new ones are added."""
    old = known.book.order_times
    if times is old:  # a release or a hand-off
        return known.time_rows
    if len(times) == len(old) + 1 and times[: len(old)] == old:  # a reserve within the minute: one more
        cursor = conn.execute(
            "INSERT INTO reservation_times (account, at) VALUES (?, ?)", (account, stored_time(times[-1]))
        )
        return (*known.time_rows, int(cursor.lastrowid))
    before: dict[int, list[int]] = {}
    for at, seq in zip(known.book.order_times, known.time_rows, strict=True):
        before.setdefault(id(at), []).append(seq)
    rows: list[int] = []
    for at in times:
        seqs = before.get(id(at))
        if seqs:
            rows.append(seqs.pop(0))
            continue
        cursor = conn.execute(
            "INSERT INTO reservation_times (account, at) VALUES (?, ?)", (account, stored_time(at))
        )
        rows.append(int(cursor.lastrowid))
    gone = [(seq,) for seqs in before.values() for seq in seqs]
    if gone:
        conn.executemany("DELETE FROM reservation_times WHERE seq = ?", gone)
    return tuple(rows)

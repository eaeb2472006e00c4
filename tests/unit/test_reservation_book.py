"""The SQLite store's reservation-book codec stores the same text as before and never trusts a stale cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from tradepipe.adapters.risk_keys import book_attributes, book_from
from tradepipe.adapters.sqlite.records import dumps
from tradepipe.adapters.sqlite.reservation_book import BookCodec
from tradepipe.domain.model import Side
from tradepipe.domain.risk.reservations import Book, Reservation

T0 = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)


def _r(rid: str, minutes: int, at_broker: bool = False) -> Reservation:
    at = T0 + timedelta(minutes=minutes)
    return Reservation(
        rid, "MSFT", Side.BUY, Decimal("3"), Decimal("27.95"), at, at + timedelta(days=1), at_broker
    )


def _as_before(book: Book, version: int) -> str:
    return dumps({**book_attributes(book), "version": version, "pk": "RESERVE#paper", "sk": "BOOK"})


def test_the_text_written_is_what_the_store_wrote_before_and_reads_back_as_the_same_book() -> None:
    codec = BookCodec()
    # Out of reserved_at order, as two threads reserving at nearly the same time can leave it.
    book = Book((_r("a", 2), _r("b", 1, at_broker=True), _r("c", 3)), (T0, T0 + timedelta(seconds=5)))
    for version in (1, 2):  # the second write reuses every reservation's attributes
        text = codec.write("RESERVE#paper", "BOOK", book, version)
        assert text == _as_before(book, version)
        assert codec.read(text) == (book_from(json.loads(text)), version)
        assert [r.reservation_id for r in codec.read(text)[0].reservations] == ["b", "a", "c"]


def test_a_book_another_process_wrote_is_parsed_not_taken_from_the_cache() -> None:
    ours, theirs = BookCodec(), BookCodec()
    ours.read(ours.write("RESERVE#paper", "BOOK", Book((_r("a", 1),)), 1))
    elsewhere = theirs.write("RESERVE#paper", "BOOK", Book((_r("a", 1), _r("b", 2))), 2)

    book, version = ours.read(elsewhere)

    assert version == 2
    assert [r.reservation_id for r in book.reservations] == ["a", "b"]
    assert ours.read(None) == (Book(), 0)


def test_order_times_reused_across_reserves_releases_and_holds_still_store_the_same_text() -> None:
    """A reserve keeps the last times (less those out of the window) and adds its own; a release or a hold
    keeps the very tuple; another process's book has other objects for the same instants; a time in another
    zone is the same instant as a UTC one. Each write stores what the store wrote before, and a read of it
    gives the Book a parse would."""
    from dataclasses import replace

    from tradepipe.domain.risk.reservations import RATE_WINDOW, at_broker

    codec, other = BookCodec(), BookCodec()
    book, version = Book(), 0
    elsewhere = timezone(timedelta(hours=-5))
    for i in range(40):
        now = T0 + timedelta(seconds=7 * i)
        live = book.live(now)
        at = now.astimezone(elsewhere) if i % 13 == 5 else now  # a time in another zone, now and then
        r = Reservation(f"r{i}", "MSFT", Side.BUY, Decimal(1), Decimal("27.95"), at, at + timedelta(days=1))
        steps = [Book((*live.reservations, r), (*live.order_times, at))]  # a reserve
        if i % 3 == 0:
            released = steps[-1].released(f"r{i - 1}", now)  # a release: the very same times
            steps.append(steps[-1] if released is None else released)
        if i % 4 == 1:
            held = at_broker(steps[-1], f"r{i}", now + timedelta(days=1), now)
            assert held is not None
            steps.append(held)
        if i % 11 == 10:  # another process wrote: the same instants, other objects
            written = other.write("RESERVE#paper", "BOOK", steps[-1], version + 1)
            steps.append(replace(steps[-1], order_times=book_from(json.loads(written)).order_times))
        for book in steps:
            version += 1
            text = codec.write("RESERVE#paper", "BOOK", book, version)
            assert text == _as_before(book, version)
            parsed = book_from(json.loads(text))
            assert codec.read(text) == (parsed, version)
            assert [t.tzinfo for t in codec.read(text)[0].order_times] == [
                t.tzinfo for t in parsed.order_times
            ]
    assert len(book.live(T0 + timedelta(seconds=7 * 39)).order_times) <= RATE_WINDOW.total_seconds() / 7 + 1

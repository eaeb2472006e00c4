"""The account's reservation book (the RESERVE# item) read and written without re-parsing or re-encoding what
did not change.

The book holds every entry still resting at the broker (a day order keeps its room for a day), so it grows
with open orders, and every reserve, hold and release rewrote all of it: each reservation parsed (two times,
two decimals) and encoded again, three times per alert. With ~300 resting entries that was the largest
single cost of the workers (py-spy: ~30% of their samples in `book_from`/`book_attributes`/`to_json_value`).

`BookCodec` remembers the text it last read or wrote with the Book it stands for, and each reservation's
JSON: a read of the same text (what this process wrote, or read, last) reuses the Book; a write encodes only
the reservations it has not seen and joins the rest as text. Any other text (another process wrote since)
is parsed in full, so the cache is never trusted beyond the text it was made from.

The order times (every entry reserved in the last minute: up to the orders-a-minute cap, ~200) were most of
a write once the reservations' JSON was reused: each time looked up, checked for UTC and joined on every
write. A release or a hand-off to the broker keeps the book's very tuple of times (`Book.released`,
`at_broker`), so their text is reused whole; a reserve keeps the same time objects, less those that left the
window at the front, plus its own at the end, so only the new ones are encoded. Both recognized by identity,
never by equality (equal instants in other zones are other objects, encoded and checked on their own). The
stored text is unchanged: `test_reservation_book.py` compares it with `book_attributes` + `dumps`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import islice
from operator import attrgetter, is_

from tradepipe.adapters.risk_keys import book_from, reservation_attributes, stored_time
from tradepipe.domain.risk.reservations import Book, Reservation

_reserved_at = attrgetter("reserved_at")


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class BookCodec:
    """Shared by the store's threads: its state is references, each replaced whole (never mutated)."""

    def __init__(self) -> None:
        self._last: tuple[str, Book, int] | None = None
        # By identity (a Book read from the cache hands the same objects back; hashing a reservation's fields
        # cost more than the lookup saves), each entry holding its reservation so the id stays its own.
        # Each holds its reservation's JSON and whether both its times are in UTC.
        self._encoded: dict[int, tuple[Reservation, str, bool]] = {}
        # The order times last written: the tuple itself, each time's JSON in its order, whether all are UTC,
        # and their joined text.
        self._order_times: tuple[tuple[datetime, ...], list[str], bool, str] = ((), [], True, "")

    def read(self, text: str | None) -> tuple[Book, int]:
        """(the book, its version) from the stored item's text (None: no item yet)."""
        if text is None:
            return book_from(None), 0
        last = self._last
        if last is not None and last[0] == text:
            return last[1], last[2]
        item = json.loads(text)
        book, version = book_from(item), int(item.get("version", 0))
        self._last = (text, book, version)
        return book, version

    def write(self, pk: str, sk: str, book: Book, version: int) -> str:
        """The item's text: what `dumps({**book_attributes(book), "version": version, "pk": pk, "sk": sk})`
        gives, each reservation's JSON reused when it was seen before."""
        known, encoded = self._encoded, {}
        utc = True
        for r in book.reservations:
            found = known.get(id(r))
            if found is None:
                attributes = reservation_attributes(r)
                found = (
                    r,
                    f"{_json(r.reservation_id)}:{_json(attributes)}",
                    all(
                        at is None or at.tzinfo is UTC
                        for at in (r.reserved_at, r.expires_at, r.at_broker_since, r.released_at)
                    ),
                )
            encoded[id(r)] = found
            utc = utc and found[2]
        self._encoded = encoded
        times_text, times_utc = self._times_json(book.order_times)
        text = (
            '{"reservations":{'
            + ",".join(fragment for _r, fragment, _utc in encoded.values())
            + '},"order_times":['
            + times_text
            + f'],"version":{_json(version)},"pk":{_json(pk)},"sk":{_json(sk)}}}'
        )
        # The Book a read of this text would give: reservations in `book_from`'s order (by the stored
        # reserved_at, a stable sort: fixed-width UTC text, so for UTC times the same order as the times
        # themselves), times in UTC. Kept only when it is that Book exactly; otherwise the next read parses.
        if utc and times_utc:
            ordered = sorted(book.reservations, key=_reserved_at)
            self._last = (text, Book(tuple(ordered), book.order_times), version)
        else:
            self._last = None
        return text

    def _times_json(self, times: tuple[datetime, ...]) -> tuple[str, bool]:
        """The order times' JSON, joined, and whether every one is in UTC."""
        last, fragments, utc, text = self._order_times
        if times is last:  # a release or a hold: the book's very times
            return text, utc
        # A reserve: the last times from some point on, each the very same object, then the new ones.
        start = next((k for k, t in enumerate(last) if t is times[0]), None) if times else None
        if (
            start is not None
            and len(last) - start <= len(times)
            and all(map(is_, islice(last, start, None), times))
        ):
            added = times[len(last) - start :]
            fragments = [*fragments[start:], *(_json(stored_time(t)) for t in added)]
            utc = all(t.tzinfo is UTC for t in (added if utc else times))
        else:  # other objects (another process wrote the book): each time's JSON looked up by its instant
            known = dict(zip(last, fragments, strict=True))
            fragments = [known.get(t) or _json(stored_time(t)) for t in times]
            utc = all(t.tzinfo is UTC for t in times)
        text = ",".join(fragments)
        self._order_times = (times, fragments, utc, text)
        return text, utc

"""`fit` and `Book.live`: the reserving write reuses the view of the account the engine was shown when the
book it reads is the very book that view was computed from, and computes it again otherwise."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tradepipe.domain.model import Rejected, Side
from tradepipe.domain.risk.context import Account, Asset, MarketClock, RiskContext, TradingState
from tradepipe.domain.risk.profile import RiskProfile
from tradepipe.domain.risk.reservations import (
    SETTLE,
    Book,
    EntryRequest,
    FiguresTooOld,
    Granted,
    Reservation,
    fit,
    with_reservations,
)

NOW = datetime(2024, 1, 2, 15, 7, tzinfo=UTC)
D = Decimal
PROFILE = RiskProfile()
CTX = RiskContext(
    account=Account(
        equity=D(100_000), last_equity=D(100_000), buying_power=D(200_000), high_water_mark=D(100_000)
    ),
    holdings={},
    state=TradingState.ACTIVE,
    clock=MarketClock(is_open=True),
    asset=Asset(),
)
RESTING = Reservation(
    "s-0", "MSFT", Side.BUY, D(10), D(400), NOW - timedelta(seconds=5), NOW + timedelta(hours=1)
)
REQUEST = EntryRequest("s-1", "AAPL", Side.BUY, D(10), D(100), D(1), timedelta(minutes=5))


def _no_buying_power(book: Book) -> RiskContext:
    """A view that would refuse any entry: proves which view `fit` judged on."""
    view = with_reservations(CTX, book, PROFILE)
    return replace(view, account=replace(view.account, buying_power=D(0)))


def test_live_book_with_nothing_expired_is_the_book_itself() -> None:
    book = Book((RESTING,), (NOW - timedelta(seconds=5),))

    assert book.live(NOW) is book
    assert book.live(NOW + timedelta(hours=2)) == Book((), ())


def test_fit_judges_on_the_callers_view_when_it_reads_the_same_book() -> None:
    book = Book((RESTING,), ())

    decided = fit(REQUEST, book, CTX, PROFILE, NOW, known=(book, _no_buying_power(book)))

    assert isinstance(decided, Rejected)


def test_fit_computes_the_view_again_when_the_book_it_reads_is_another() -> None:
    seen = Book((RESTING,), ())
    # Equal content, but read again (another writer may have replaced it): the caller's view is not trusted.
    read_in_the_write = Book((RESTING,), ())

    decided = fit(REQUEST, read_in_the_write, CTX, PROFILE, NOW, known=(seen, _no_buying_power(seen)))

    assert isinstance(decided, Granted)
    assert decided.reservation.qty == D(10)


def test_figures_settle_old_at_the_write_are_not_decided_on_and_a_redelivery_still_finds_its_own() -> None:
    # A release older than SETTLE may be gone from the book: figures read before it cannot be complemented.
    read_at = NOW - SETTLE
    old = replace(CTX, figures_read_at=read_at)
    book = Book((RESTING,), ())

    with pytest.raises(FiguresTooOld):
        fit(REQUEST, book, old, PROFILE, NOW)
    younger = replace(old, figures_read_at=read_at + timedelta(seconds=1))
    assert isinstance(fit(REQUEST, book, younger, PROFILE, NOW), Granted)
    mine = replace(RESTING, reservation_id=REQUEST.reservation_id)
    assert fit(REQUEST, Book((mine,), ()), old, PROFILE, NOW) == Granted(mine, (), Book((mine,), ()))

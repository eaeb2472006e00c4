"""Reservations: what an approved entry holds on the account until the broker's own figures include it.

The caps read the broker's holdings and buying power, which leave out orders still on their way (approved,
queued for the executor, resting at the broker). Two entries assessed at once would each see the room the
other is about to take. So approving an entry *reserves* its notional, its position slot, its order-rate
slot and its buying power on the account's one risk record, and the caps are checked against broker figures
plus the live reservations inside the same atomic write (`fit`, run by the store inside it). A reservation
is released when its order ends (rejected, cancelled, expired) or fills (the broker's position then holds
it), and carries a lease: a crash between approval and the broker cannot hold room forever.

The broker's figures the caps read may be older than a release: the risk stage keeps the account and the
positions for up to `Settings.broker_snapshot_age_s` (one read per batch). Figures read before a fill do not
hold the filled position, so a reservation released at that fill must still count for them, or two entries
assessed on either side of the fill would each get the room. A release therefore keeps the reservation for
`SETTLE`, marked with the time it was released, and it counts for figures read before that time only
(`Book.standing`); likewise an order's hand-off to the broker stops counting its buying power only for
figures read after it.

Pure: the store hands `fit` the book it read and writes back the book `fit` returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from tradepipe.domain.model import CapApplied, Rejected, RejectReason, Side
from tradepipe.domain.risk.context import Holding, RiskContext
from tradepipe.domain.risk.engine import apply_caps
from tradepipe.domain.risk.profile import RiskProfile

RATE_WINDOW = timedelta(seconds=60)
# How long a released reservation stays in the book: at least the oldest broker figures the risk stage may
# hold (Settings.broker_snapshot_age_s is at most 60 s; a test ties the two).
SETTLE = timedelta(seconds=60)
# How long an order resting at the broker may hold its room: a day order ends at the close; a GTC order
# when it fills or is cancelled, which the reconciler sees and releases. These bound only a release missed.
RESTING_LEASE = {"day": timedelta(days=1), "gtc": timedelta(days=90)}
LONGEST_RESTING = max(RESTING_LEASE.values())
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Reservation:
    """One approved entry's claim on the account (its id is the signal's)."""

    reservation_id: str
    ticker: str
    side: Side
    qty: Decimal
    entry: Decimal
    reserved_at: datetime
    expires_at: datetime  # the lease: past it the reservation no longer counts and is dropped
    # Accepted by the broker: Alpaca's buying power already leaves out open buy-long and sell-short orders
    # ("Orders at Alpaca", Buying Power), so from then on it holds no buying power here (it still holds its
    # position, gross-exposure and open-position room: holdings include it only once it fills).
    at_broker: bool = False
    at_broker_since: datetime | None = None  # when it was handed off (None: before this was recorded)
    released_at: datetime | None = None  # its order filled or ended; kept for figures read before this

    @property
    def notional(self) -> Decimal:
        return self.qty * self.entry

    def live(self, now: datetime) -> bool:
        return now < self.expires_at


@dataclass(frozen=True)
class Book:
    """An account's live reservations and the times of the entries reserved in the last minute (the
    order-rate slots: they stay counted for a minute even when their reservation is released)."""

    reservations: tuple[Reservation, ...] = ()
    order_times: tuple[datetime, ...] = ()

    def live(self, now: datetime) -> Book:
        """Only what still counts at `now`: expired leases and order times out of the window dropped. The
        book itself when nothing is dropped (the usual case), so a caller can tell the same book by identity.
        """
        # Inlined comparisons: the book holds every entry still resting at the broker (hundreds for a trader
        # with many day orders), and this runs twice per entry assessed.
        reservations = [r for r in self.reservations if now < r.expires_at]
        since = now - RATE_WINDOW
        times = [t for t in self.order_times if since < t <= now]
        if len(reservations) == len(self.reservations) and len(times) == len(self.order_times):
            return self
        return Book(tuple(reservations), tuple(times))

    def find(self, reservation_id: str) -> Reservation | None:
        return next((r for r in self.reservations if r.reservation_id == reservation_id), None)

    def released(self, reservation_id: str, at: datetime) -> Book | None:
        """Its order filled or ended at `at`: kept for `SETTLE`, counted only for figures read before `at`.
        None when it is not there or was released already. The order times are this book's very tuple."""
        found = self.find(reservation_id)
        if found is None or found.released_at is not None:
            return None
        done = replace(found, released_at=at, expires_at=at + SETTLE)
        return replace(self, reservations=tuple(done if r is found else r for r in self.reservations))

    def holding(self) -> tuple[Reservation, ...]:
        """The reservations not released: the orders still on their way or resting."""
        return tuple(r for r in self.reservations if r.released_at is None)

    def standing(self, figures_read_at: datetime | None) -> Book:
        """The reservations broker figures read at `figures_read_at` leave out (the book itself when that is
        all of them)."""
        # Left out of figures read at `figures_read_at` (None: unknown, so every one): not released, or
        # released since they were read (at the same instant: it may be after). Inlined conditions, here and
        # below: these run over the whole book for every entry assessed.
        if figures_read_at is None:
            return self
        kept = tuple(
            r for r in self.reservations if r.released_at is None or r.released_at >= figures_read_at
        )
        return self if len(kept) == len(self.reservations) else Book(kept, self.order_times)

    def reserved_notional(self) -> Decimal:
        return sum((r.notional for r in self.reservations), Decimal(0))

    def reserved_buying_power(self, figures_read_at: datetime | None = None) -> Decimal:
        """What buying power read at `figures_read_at` does not leave out yet."""
        # Left out of buying power read then: not at the broker yet, or handed off after it was read.
        return sum(
            [
                r.qty * r.entry
                for r in self.reservations
                if not r.at_broker
                or (
                    r.at_broker_since is not None
                    and (figures_read_at is None or r.at_broker_since >= figures_read_at)
                )
            ],
            Decimal(0),
        )


class FiguresTooOld(Exception):
    """The broker figures an entry was assessed on are `SETTLE` old at its reserving write: the reservations
    released since they were read may be gone from the book, so they cannot be complemented. Not a decision:
    the message is retried, and assessed again on fresh figures."""


@dataclass(frozen=True)
class EntryRequest:
    """An entry the engine approved, asking for room: its quantity can only shrink here."""

    reservation_id: str
    ticker: str
    side: Side
    qty: Decimal
    entry: Decimal
    step: Decimal  # 1 share, or the fractional step
    lease: timedelta


@dataclass(frozen=True)
class Granted:
    """The reservation made (or found: a redelivery), the caps that bit inside the write, and the book to
    store."""

    reservation: Reservation
    caps: tuple[CapApplied, ...]
    book: Book


def effective_holdings(holdings: Mapping[str, Holding], book: Book) -> dict[str, Holding]:
    """The broker's holdings as they will be once every live reservation fills. A reservation on the side
    held adds to the position; one on the other side replaces it (the executor closes before it reverses:
    Alpaca never flips a position in one order)."""
    # Running (qty, market value) per ticker, made Holdings once at the end: the book holds every entry
    # still resting at the broker, and this runs twice per entry assessed (a Holding per reservation and
    # the helpers' calls were most of the risk stage's own CPU with a few hundred resting entries).
    running: dict[str, tuple[Decimal, Decimal]] = {}
    zero = (Decimal(0), Decimal(0))
    for r in book.reservations:
        ticker = r.ticker
        held = running.get(ticker)
        if held is None:
            found = holdings.get(ticker)
            held = None if found is None else (found.qty, found.market_value)
        buy = r.side is Side.BUY
        qty, value = (r.qty, r.qty * r.entry) if buy else (-r.qty, -(r.qty * r.entry))
        if held is None or held[0] == 0 or (held[0] > 0) == buy:
            base_qty, base_value = held or zero
            running[ticker] = (base_qty + qty, base_value + value)
        else:
            running[ticker] = (qty, value)
    out = dict(holdings)
    for ticker, (qty, value) in running.items():
        out[ticker] = Holding(qty, value)
    return out


def with_reservations(ctx: RiskContext, book: Book, profile: RiskProfile) -> RiskContext:
    """The context as the caps must see it: holdings as if every reservation the figures leave out had filled
    (`Book.standing`), buying power less what they hold and the broker does not count yet (with the
    buying-power cap's cushion), and their order-rate slots."""
    cushion = 1 + profile.buying_power_cushion_pct / _HUNDRED
    read_at = ctx.figures_read_at
    standing = book.standing(read_at)
    reserved = standing.reserved_buying_power(read_at)
    account = replace(ctx.account, buying_power=ctx.account.buying_power - reserved * cushion)
    return replace(
        ctx,
        account=account,
        holdings=effective_holdings(ctx.holdings, standing),
        orders_last_minute=len(book.order_times),
    )


def fit(
    request: EntryRequest,
    book: Book,
    ctx: RiskContext,
    profile: RiskProfile,
    now: datetime,
    known: tuple[Book, RiskContext] | None = None,
) -> Granted | Rejected:
    """Run inside the reserving write (`now`: its time): the order rate and every cap against the broker's
    figures plus the live reservations. A redelivered request finds its own reservation and gets it back
    unchanged. Figures `SETTLE` old raise `FiguresTooOld`.

    `known`: a live book and `with_reservations(ctx, it, profile)`, as the caller computed them before the
    write; reused when the live book is that very book (nothing was reserved, released or expired since),
    so the usual entry walks the book once less."""
    live = book.live(now)
    mine = live.find(request.reservation_id)
    if mine is not None:
        return Granted(mine, (), live)
    read_at = ctx.figures_read_at
    if read_at is not None and now >= read_at + SETTLE:
        raise FiguresTooOld(f"broker figures read at {read_at:%H:%M:%S} are {now - read_at} old at the write")
    if len(live.order_times) >= profile.max_orders_per_minute:
        return Rejected(
            RejectReason.ORDER_RATE_LIMIT,
            f"{len(live.order_times)} entries reserved in the last minute >= {profile.max_orders_per_minute}",
        )
    seen = known[1] if known is not None and known[0] is live else with_reservations(ctx, live, profile)
    capped = apply_caps(request.ticker, request.side, request.qty, request.entry, seen, profile, request.step)
    if isinstance(capped, Rejected):
        return capped
    qty, caps = capped
    reservation = Reservation(
        reservation_id=request.reservation_id,
        ticker=request.ticker,
        side=request.side,
        qty=qty,
        entry=request.entry,
        reserved_at=now,
        expires_at=now + request.lease,
    )
    return Granted(reservation, caps, Book((*live.reservations, reservation), (*live.order_times, now)))


def at_broker(book: Book, reservation_id: str, until: datetime, at: datetime) -> Book | None:
    """The order is at the broker since `at`: its lease moves to `until` (a resting order lives longer than
    the hand-off) and buying power read after `at` counts it. None when the reservation is gone (released,
    or its lease ran out)."""
    found = book.find(reservation_id)
    if found is None or found.released_at is not None:
        return None
    since = found.at_broker_since if found.at_broker else at
    held = replace(found, expires_at=until, at_broker=True, at_broker_since=since)
    return replace(book, reservations=tuple(held if r is found else r for r in book.reservations))

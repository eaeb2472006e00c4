"""The protective-stop invariant: every open position has working stop orders covering its full quantity,
except while the executor replaces them. What covers a position, and what to do when it is not covered.

Values in, decisions out: the reconciler gathers the broker's positions and open orders and the entry that
opened the position; this module says how much is covered and whether to re-arm, flatten or only report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from tradepipe.domain.exits import tick_for
from tradepipe.domain.model import Side
from tradepipe.domain.order_status import STOP_TYPES, is_working

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class RestingOrder:
    """An open order at the broker, as far as protection is concerned."""

    client_order_id: str
    status: str  # Alpaca's
    side: Side
    order_type: str  # Alpaca's: market, limit, stop, stop_limit, trailing_stop
    qty: Decimal
    filled_qty: Decimal = _ZERO
    stop_price: Decimal | None = None
    parent_client_order_id: str | None = None  # set on a bracket/OTO exit leg

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.filled_qty


@dataclass(frozen=True)
class Coverage:
    held: Decimal  # signed: negative when short
    covered: Decimal  # by working stop orders on the closing side

    @property
    def uncovered(self) -> Decimal:
        return max(_ZERO, abs(self.held) - self.covered)

    @property
    def full(self) -> bool:
        return self.uncovered == 0


def closing_side(held: Decimal) -> Side:
    return Side.SELL if held > 0 else Side.BUY


def covering_stops(held: Decimal, orders: Sequence[RestingOrder]) -> list[RestingOrder]:
    """Working stop orders that would close (part of) the position. A bracket's stop leg works only once its
    entry is completely filled (until then it is dormant: Alpaca wakes the legs with the fill); a leg whose
    entry is not in `orders` is taken as awake (Alpaca lists an open leg with its entry), and so is an OCO's
    stop (its parent is the pair's take-profit, an exit like itself: docs "Orders at Alpaca", OCO orders)."""
    if held == 0:
        return []
    side = closing_side(held)
    status_of = {o.client_order_id: o.status for o in orders}
    # An OCO's stop is listed as the leg of its take-profit, an exit on the same side: awake from the start.
    exit_pairs = {o.client_order_id for o in orders if o.side is side and o.parent_client_order_id is None}
    return [
        o
        for o in orders
        if o.side is side
        and o.order_type in STOP_TYPES
        and is_working(o.status)
        and (
            o.parent_client_order_id in exit_pairs
            or status_of.get(o.parent_client_order_id or "", "filled") == "filled"
        )
    ]


def coverage(held: Decimal, orders: Sequence[RestingOrder]) -> Coverage:
    return Coverage(held, sum((o.remaining for o in covering_stops(held, orders)), _ZERO))


@dataclass(frozen=True)
class Owner:
    """The entry of ours that opened (the latest part of) the position, and the stop recorded for it."""

    signal_id: str
    client_order_id: str
    strategy: str
    stop: Decimal | None


@dataclass(frozen=True)
class Rearm:
    qty: Decimal  # unsigned
    stop: Decimal
    side: Side  # of the stop order


@dataclass(frozen=True)
class Flatten:
    """The price is already through the stop: close what is not covered, at the market."""

    qty: Decimal  # unsigned
    side: Side
    detail: str


@dataclass(frozen=True)
class Leave:
    """Report the position, touch nothing."""

    detail: str


Repair = Rearm | Flatten | Leave


def repair(
    cover: Coverage,
    owner: Owner | None,
    price: Decimal | None,
    avg_entry: Decimal,
    manual_stop_pct: Decimal | None = None,
) -> Repair:
    """What restores cover for an uncovered position: its recorded stop re-armed, or a close when the price
    is already through it. A position tradepipe did not open is left alone unless `manual_stop_pct` asks to
    protect it at that distance from its average entry."""
    side = closing_side(cover.held)
    if owner is None:
        if manual_stop_pct is None:
            return Leave("not opened by tradepipe: reported, not touched")
        stop = manual_stop(cover.held, avg_entry, manual_stop_pct)
    elif owner.stop is None:
        return Leave(f"its entry {owner.client_order_id} carried no stop to re-arm")
    else:
        stop = owner.stop
    if price is not None and (price <= stop if cover.held > 0 else price >= stop):
        return Flatten(cover.uncovered, side, f"price {price} is already through the stop {stop}")
    return Rearm(cover.uncovered, stop, side)


def manual_stop(held: Decimal, avg_entry: Decimal, pct: Decimal) -> Decimal:
    """`pct` percent against the position from its average entry, rounded away from it (never closer)."""
    if held > 0:
        raw = avg_entry * (1 - pct / _HUNDRED)
        return raw.quantize(tick_for(raw), rounding=ROUND_FLOOR)
    raw = avg_entry * (1 + pct / _HUNDRED)
    return raw.quantize(tick_for(raw), rounding=ROUND_CEILING)

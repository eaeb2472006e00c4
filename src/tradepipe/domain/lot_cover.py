"""Which of a position's shares are covered by a stop, lot by lot (domain/lots.py, domain/protection.py).

Every protective order of ours belongs to one lot: a bracket/OTO leg by its parent (the lot's entry, whose
client_order_id is the lot_id), a stop placed for a lot by its client_order_id, which starts with the lot's
(`app/lot_book.protective_id`). A lot is covered by its own stops only, so one strategy's legs never count
for another's shares and a repair re-arms a lot at its own stop, never on top of another lot's cover.
Stops that name no lot (placed before lots existed, or by hand) cover the uncovered lots, tightest first.

Values in, decisions out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from tradepipe.domain.lots import Lot
from tradepipe.domain.protection import Coverage, RestingOrder, covering_stops

_ZERO = Decimal(0)


def owns(lot_id: str, client_order_id: str, parent_client_order_id: str | None) -> bool:
    """The lot's entry's legs, the stops and OCOs placed for it, and an OCO's stop leg (its parent is the
    OCO's take-profit, whose id names the lot)."""
    mine = f"{lot_id}-"
    parent = parent_client_order_id or ""
    return parent == lot_id or parent.startswith(mine) or client_order_id.startswith(mine)


@dataclass(frozen=True)
class LotGap:
    lot: Lot
    cover: Coverage  # held: the lot's shares (signed); covered: by its own working stops


@dataclass(frozen=True)
class LotCover:
    gaps: tuple[LotGap, ...]  # lots not fully covered, tightest stop first
    unowned_uncovered: Decimal  # uncovered shares of the position that no lot accounts for


def lot_cover(held: Decimal, lots: Sequence[Lot], orders: Sequence[RestingOrder]) -> LotCover:
    stops = covering_stops(held, orders)
    side_lots = [lot for lot in lots if lot.qty != 0 and (lot.qty > 0) == (held > 0)]
    side_lots.sort(key=lambda lot: _tightest_first(lot, held))
    claimed: set[str] = set()
    per_lot: list[tuple[Lot, Decimal]] = []
    for lot in side_lots:
        own = [s for s in stops if owns(lot.lot_id, s.client_order_id, s.parent_client_order_id)]
        claimed.update(s.client_order_id for s in own)
        per_lot.append((lot, sum((s.remaining for s in own), _ZERO)))
    spare = sum((s.remaining for s in stops if s.client_order_id not in claimed), _ZERO)
    budget = abs(held)  # lots never ask for more cover than the broker's position has shares
    gaps: list[LotGap] = []
    for lot, covered in per_lot:
        want = min(abs(lot.qty), budget)
        budget -= want
        if covered < want and spare > 0:
            extra = min(spare, want - covered)
            covered, spare = covered + extra, spare - extra
        cover = Coverage(_signed(lot, want), covered)
        if not cover.full:
            gaps.append(LotGap(lot, cover))
    unowned = budget  # shares held beyond every lot
    return LotCover(tuple(gaps), max(_ZERO, unowned - spare))


def _signed(lot: Lot, qty: Decimal) -> Decimal:
    return qty if lot.qty > 0 else -qty


def _tightest_first(lot: Lot, held: Decimal) -> Decimal:
    if lot.stop_price is None:
        return Decimal("Infinity")
    return -lot.stop_price if held > 0 else lot.stop_price

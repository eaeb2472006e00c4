"""Strategy-owned lots: many strategies trade one Alpaca account, which holds one net position per ticker.

A lot is one strategy's filled entry on one ticker (its shares, entry price and protective stop). The
account's position in a ticker is the sum of its lots (`net_position`); a strategy's exit closes that
strategy's lots only (`plan_exit`) and the protection left on the ticker is re-sized for the lots that
remain (`protection`). Quantities are signed (+ long, - short), as the broker's positions are.

Protection rules (what a trader expects where several strategies share a position):
- every share of the net position is covered by a stop, at its own lot's stop price where the broker allows
  one stop order per price (`protection`: one leg per distinct stop, nearest to the market first);
- where one stop must cover the combined position (Alpaca's OCO exit carries a single stop leg,
  docs "Orders at Alpaca", Bracket/OCO orders), `combined_stop` is the tightest of the lots' stops (the
  highest for a long, the lowest for a short): no strategy then loses more than its own stop allowed, at
  the cost of a strategy with a wider stop being stopped out earlier;
- lots on the other side of the net position offset it (the broker nets them): the shares that remain are
  the net side's lots, tightest stops covered first;
- a lot without a stop is reported as unprotected quantity, never covered by another lot's stop silently.

Pure: values in, decisions out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from tradepipe.domain.model import Rejected, RejectReason

_ZERO = Decimal(0)


@dataclass(frozen=True)
class Lot:
    account: str
    ticker: str
    strategy: str
    lot_id: str  # the entry's client_order_id: one lot per entry, a fill seen twice is one lot
    qty: Decimal  # signed: + long, - short
    entry_price: Decimal
    stop_price: Decimal | None
    opened_at: datetime

    @property
    def is_long(self) -> bool:
        return self.qty > 0


@dataclass(frozen=True)
class StopLeg:
    """One protective stop: sell (for longs) or buy (for shorts) `qty` shares at `stop_price`."""

    stop_price: Decimal
    qty: Decimal  # unsigned
    side: str  # "sell" protects a long, "buy" a short
    strategies: tuple[str, ...]  # whose shares it protects


@dataclass(frozen=True)
class Protection:
    legs: tuple[StopLeg, ...]
    unprotected_qty: Decimal  # shares of the net position with no stop among their lots

    @property
    def covered_qty(self) -> Decimal:
        return sum((leg.qty for leg in self.legs), _ZERO)


@dataclass(frozen=True)
class ExitPlan:
    close_qty: Decimal  # signed quantity the strategy holds and the exit closes (sell it if > 0)
    closing: tuple[Lot, ...]
    remaining: tuple[Lot, ...]  # every other strategy's lots: untouched
    protection: Protection  # what must protect the remaining net position after the exit


def net_position(lots: list[Lot] | tuple[Lot, ...]) -> Decimal:
    """The account's position in the lots' ticker: the sum of its strategies' lots."""
    return sum((lot.qty for lot in lots), _ZERO)


def _tighter_first(lot: Lot) -> Decimal:
    # Longs: the highest stop is the tightest; shorts: the lowest. A lot without a stop sorts last.
    if lot.stop_price is None:
        return Decimal("Infinity")
    return -lot.stop_price if lot.is_long else lot.stop_price


def _net_side(lots: list[Lot] | tuple[Lot, ...]) -> list[Lot]:
    """The lots that make up the net position after the other side offsets it: the net side's lots with
    their quantities trimmed (widest stops first) to the net quantity."""
    net = net_position(lots)
    if net == 0:
        return []
    same = sorted((lot for lot in lots if (lot.qty > 0) == (net > 0) and lot.qty != 0), key=_tighter_first)
    left, out = abs(net), []
    for lot in same:
        if left <= 0:
            break
        take = min(abs(lot.qty), left)
        out.append(replace(lot, qty=take if net > 0 else -take))
        left -= take
    return out


def protection(lots: list[Lot] | tuple[Lot, ...]) -> Protection:
    """Stops covering the net position: one leg per distinct stop price (lots sharing a price share a leg),
    the tightest first; shares whose lots carry no stop are counted as unprotected."""
    side_lots = _net_side(lots)
    legs: dict[Decimal, tuple[Decimal, list[str]]] = {}
    unprotected = _ZERO
    for lot in side_lots:
        if lot.stop_price is None:
            unprotected += abs(lot.qty)
            continue
        qty, owners = legs.get(lot.stop_price, (_ZERO, []))
        legs[lot.stop_price] = (qty + abs(lot.qty), [*owners, lot.strategy])
    side = "sell" if net_position(lots) > 0 else "buy"
    ordered = sorted(legs.items(), key=lambda kv: -kv[0] if side == "sell" else kv[0])
    return Protection(
        legs=tuple(
            StopLeg(price, qty, side, tuple(dict.fromkeys(owners))) for price, (qty, owners) in ordered
        ),
        unprotected_qty=unprotected,
    )


def combined_stop(lots: list[Lot] | tuple[Lot, ...]) -> Decimal | None:
    """The one stop for the whole net position where only one is possible: the tightest of its lots' stops
    (module docstring). None when no lot of the net side has a stop, or there is no position."""
    stops = [lot.stop_price for lot in _net_side(lots) if lot.stop_price is not None]
    if not stops:
        return None
    return max(stops) if net_position(lots) > 0 else min(stops)


def plan_exit(lots: list[Lot] | tuple[Lot, ...], strategy: str) -> ExitPlan | Rejected:
    """A strategy's exit: close its own lots (and nobody else's), re-size the protection for the rest."""
    closing = tuple(lot for lot in lots if lot.strategy == strategy)
    remaining = tuple(lot for lot in lots if lot.strategy != strategy)
    close_qty = net_position(closing)
    if close_qty == 0:
        tickers = sorted({lot.ticker for lot in lots}) or ["?"]
        return Rejected(
            RejectReason.NO_POSITION, f"strategy {strategy} owns no shares of {', '.join(tickers)}"
        )
    return ExitPlan(close_qty, closing, remaining, protection(remaining))


def plan_flatten(lots: list[Lot] | tuple[Lot, ...]) -> ExitPlan:
    """`flatten`: every strategy's lots close, no protection remains."""
    return ExitPlan(net_position(lots), tuple(lots), (), Protection((), _ZERO))

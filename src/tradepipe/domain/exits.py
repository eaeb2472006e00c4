"""Stop-loss and take-profit prices: resolved from absolute prices or percents, on Alpaca's price grid."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from tradepipe.domain.model import Rejected, RejectReason, Side, Signal

_HUNDRED = Decimal(100)


def tick_for(price: Decimal) -> Decimal:
    """Alpaca's tick grid: $0.01 at or above $1, $0.0001 below (docs.alpaca.markets, "Orders at Alpaca",
    sub-penny increments; SEC Reg NMS Rule 612, the sub-penny rule). Prices off it are refused."""
    return Decimal("0.01") if price >= 1 else Decimal("0.0001")


def _on_grid(price: Decimal, rounding: str) -> Decimal:
    rounded = price.quantize(tick_for(price), rounding=rounding)
    # Crossing $1 changes the tick: 0.99996 rounded up is 1.0000, which is 1.00 on the coarser grid.
    return rounded.quantize(tick_for(rounded), rounding=rounding)


def round_entry(limit: Decimal, side: Side) -> Decimal:
    """A limit entry on the grid, never a worse price than asked: a buy rounds down, a sell up."""
    return _on_grid(limit, ROUND_FLOOR if side is Side.BUY else ROUND_CEILING)


def round_away(price: Decimal, entry: Decimal, side: Side) -> Decimal:
    """A stop rounded away from the entry: the risk per share can only grow, so sizing on it never
    over-risks."""
    return _on_grid(price, ROUND_FLOOR if side is Side.BUY else ROUND_CEILING)


def round_target(price: Decimal, side: Side) -> Decimal:
    """A take-profit rounded away from the entry (a buy's up, a sell's down): rounding can never pull it
    onto the entry or inside the $0.01 Alpaca asks between a leg and its base price."""
    return _on_grid(price, ROUND_CEILING if side is Side.BUY else ROUND_FLOOR)


def round_near(price: Decimal) -> Decimal:
    return price.quantize(tick_for(price), rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Exits:
    stop: Decimal | None
    target: Decimal | None


def resolve_exits(signal: Signal, entry: Decimal, side: Side) -> Exits:
    """Percent exits are measured from `entry` (the reference price of the order)."""
    long = side is Side.BUY
    stop = signal.stop_loss
    if stop is None and signal.stop_loss_percent is not None:
        factor = signal.stop_loss_percent / _HUNDRED
        stop = entry * (1 - factor) if long else entry * (1 + factor)
    target = signal.take_profit
    if target is None and signal.take_profit_percent is not None:
        factor = signal.take_profit_percent / _HUNDRED
        target = entry * (1 + factor) if long else entry * (1 - factor)
    return Exits(
        stop=None if stop is None else round_away(stop, entry, side),
        target=None if target is None else round_target(target, side),
    )


def resolve_stop_limit(signal: Signal, entry: Decimal, side: Side) -> Decimal | None:
    """A stop-limit leg's limit, on the tick grid away from the entry like the stop."""
    limit = signal.stop_limit_price
    return None if limit is None else round_away(limit, entry, side)


def risk_per_share(entry: Decimal, stop: Decimal, stop_limit: Decimal | None = None) -> Decimal:
    """What one share loses if the stop leg fills: at its stop, or for a stop-limit leg at worst its limit
    (the leg may also not fill at all past the limit; sizing cannot cover that, only the limit's distance)."""
    worst = stop if stop_limit is None else stop_limit
    return max(abs(entry - stop), abs(entry - worst))


def check_exit_sides(side: Side, entry: Decimal, exits: Exits) -> Rejected | None:
    """A BUY needs stop < entry < take-profit; a SELL the mirror image."""
    stop, target, long = exits.stop, exits.target, side is Side.BUY
    if stop is not None:
        if stop == entry:
            return Rejected(RejectReason.ZERO_STOP_DISTANCE, f"entry={entry} stop={stop}")
        if (long and stop > entry) or (not long and stop < entry):
            return Rejected(RejectReason.STOP_WRONG_SIDE, f"entry={entry} stop={stop} side={side}")
    if target is not None and ((long and target <= entry) or (not long and target >= entry)):
        return Rejected(
            RejectReason.TAKE_PROFIT_WRONG_SIDE, f"entry={entry} take_profit={target} side={side}"
        )
    return None

"""What one daily bar does to a resting order: the fill rules the backtest and the paper broker share.

A daily bar tells its open and its range, not the path between them, so each rule takes the reading that
never flatters the order's owner:

- a market order fills at the open;
- a limit order the open already crosses fills at the open (a gap gives no better price than the market
  did); otherwise it fills at its limit if the range reaches it;
- a stop the open already crosses triggers at the open (a gap fills the stop at the gap); otherwise it
  triggers at its stop price if the range reaches it;
- a stop-limit becomes a limit order from its trigger on, for the rest of the bar;
- an exit pair (a bracket's stop-loss and take-profit, one cancels the other): when both could fill on
  the same bar, the stop wins unless the take-profit filled at the open, since the bar cannot say which
  level was touched first.

Prices here are the bar's prints. What an execution costs on top (the backtest's slippage, the paper
broker's half spread) is the caller's to add. Pure: values in, decisions out.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from tradepipe.domain.model import Side


@dataclass(frozen=True)
class Bar:
    """The part of a bar the fill rules read. A single price is a bar whose open, high and low are equal."""

    open: Decimal
    high: Decimal
    low: Decimal

    @classmethod
    def at(cls, price: Decimal) -> Bar:
        return cls(price, price, price)


class ExitLeg(StrEnum):
    STOP = "stop"
    TARGET = "target"


@dataclass(frozen=True)
class StopLimitOutcome:
    triggered: bool
    fill_price: Decimal | None


def limit_fill(side: Side, limit: Decimal, bar: Bar) -> Decimal | None:
    """The price a limit order fills at on `bar`, or None when the bar never reaches it."""
    if side is Side.BUY:
        if bar.open <= limit:
            return bar.open
        return limit if bar.low <= limit else None
    if bar.open >= limit:
        return bar.open
    return limit if bar.high >= limit else None


def stop_trigger(side: Side, stop: Decimal, bar: Bar) -> Decimal | None:
    """The price at which a stop turns into a market order on `bar`, or None when it is not reached."""
    if side is Side.BUY:
        if bar.open >= stop:
            return bar.open
        return stop if bar.high >= stop else None
    if bar.open <= stop:
        return bar.open
    return stop if bar.low <= stop else None


def stop_limit_fill(
    side: Side, stop: Decimal, limit: Decimal, bar: Bar, already_triggered: bool = False
) -> StopLimitOutcome:
    """A stop-limit on `bar`: whether its stop is (or was already) triggered, and the fill if any."""
    if already_triggered:
        return StopLimitOutcome(True, limit_fill(side, limit, bar))
    triggered_at = stop_trigger(side, stop, bar)
    if triggered_at is None:
        return StopLimitOutcome(False, None)
    # From the trigger on it is a limit order for the rest of the bar.
    rest = Bar(triggered_at, max(bar.high, triggered_at), min(bar.low, triggered_at))
    return StopLimitOutcome(True, limit_fill(side, limit, rest))


def first_exit(stop_at: Decimal | None, target_at: Decimal | None, bar_open: Decimal) -> ExitLeg | None:
    """Which leg of an exit pair fills when the stop could fill at `stop_at` and the take-profit at
    `target_at` (None: not on this bar): the stop, unless only the take-profit filled at the open."""
    return pair_winner(
        None if stop_at is None else stop_at == bar_open,
        None if target_at is None else target_at == bar_open,
    )


def pair_winner(stop_at_open: bool | None, target_at_open: bool | None) -> ExitLeg | None:
    """`first_exit` for callers that price each leg on its own quote: each argument says whether that leg
    could fill (None: it could not) and whether at the bar's open."""
    if stop_at_open is None:
        return None if target_at_open is None else ExitLeg.TARGET
    if target_at_open and not stop_at_open:
        return ExitLeg.TARGET
    return ExitLeg.STOP


def exit_pair_fill(
    exit_side: Side, stop: Decimal | None, target: Decimal | None, bar: Bar
) -> tuple[ExitLeg, Decimal] | None:
    """The leg of an exit pair that fills on `bar` and its price (the stop's trigger price: the caller adds
    what a market order costs), or None. `exit_side` is the side of the exit orders (SELL for a long)."""
    stop_at = None if stop is None else stop_trigger(exit_side, stop, bar)
    target_at = None if target is None else limit_fill(exit_side, target, bar)
    leg = first_exit(stop_at, target_at, bar.open)
    if leg is ExitLeg.STOP and stop_at is not None:
        return leg, stop_at
    if leg is ExitLeg.TARGET and target_at is not None:
        return leg, target_at
    return None

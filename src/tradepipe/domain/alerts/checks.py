"""What a valid alert decides on its own, before any account, quote or profile is read: its exits are on the
right side of its entry, its stop is not its entry, and its size can be at least one share. The intake
answers these at once (422, recorded REJECTED with the reason); the risk engine keeps the same rules as its
second line (`domain.exits.check_exit_sides`, `domain.risk.engine`), for signals released from the open
queue or sent before this check existed.

Only what nothing later can change is decided here: whether live trading is enabled, an ATR stop, the
latest price (an alert without one), caps and buying power all stay with the risk stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradepipe.domain.exits import Exits, check_exit_sides, resolve_exits, risk_per_share
from tradepipe.domain.model import Action, RejectReason, Side, Signal, SizingMode

_STOP_FIELDS = {
    RejectReason.ZERO_STOP_DISTANCE: "stop_loss",
    RejectReason.STOP_WRONG_SIDE: "stop_loss",
    RejectReason.TAKE_PROFIT_WRONG_SIDE: "take_profit",
}


@dataclass(frozen=True)
class AlertRefused:
    """A valid alert that cannot trade whatever the account holds: the reason, its numbers, and the
    signal field at fault (the intake names it as the sender spelled it)."""

    reason: RejectReason
    detail: str
    field: str


def check_alert(signal: Signal) -> AlertRefused | None:
    """None when nothing in the alert alone stops it (an exit, a cancel, or an entry the risk stage must
    judge with the account's numbers)."""
    if signal.action is not Action.ENTER or signal.side is None:
        return None
    entry = signal.reference_price
    if entry is None:
        return None  # the risk stage prices it from the latest bar; nothing to compare with here
    exits = resolve_exits(signal, entry, signal.side)
    return (
        _check_sides(signal, entry, exits)
        or _check_stop_limit(signal, exits)
        or _check_size(signal, entry, exits)
    )


def _check_sides(signal: Signal, entry: Decimal, exits: Exits) -> AlertRefused | None:
    wrong = check_exit_sides(signal.side or Side.BUY, entry, exits)
    if wrong is None:
        return None
    field = _STOP_FIELDS[wrong.reason]
    if field == "stop_loss" and signal.stop_loss is None:
        field = "stop_loss_percent"
    if field == "take_profit" and signal.take_profit is None:
        field = "take_profit_percent"
    return AlertRefused(wrong.reason, wrong.detail, field)


def _check_stop_limit(signal: Signal, exits: Exits) -> AlertRefused | None:
    """A stop-limit leg's limit is at or beyond its stop, away from the entry (at or below it protecting a
    long, at or above it protecting a short): a limit on the entry's side of the stop would sell (or buy)
    only at a better price than the stop that triggered it, which the falling (rising) market has just left
    behind, so the leg would protect nothing."""
    limit, stop = signal.stop_limit_price, exits.stop
    if limit is None or stop is None:
        return None
    long = signal.side is Side.BUY
    if (long and limit > stop) or (not long and limit < stop):
        word = "at or below" if long else "at or above"
        return AlertRefused(
            RejectReason.STOP_LIMIT_WRONG_SIDE,
            f"stop-limit leg: limit {limit} must be {word} its stop {stop} (side={signal.side})",
            "stop_limit_price",
        )
    return None


def _check_size(signal: Signal, entry: Decimal, exits: Exits) -> AlertRefused | None:
    """Caps only shrink a size and whole shares are the only size an order with exit legs can have, so a
    size below one share here is below one share at the broker too."""
    value = signal.sizing_value
    if value is None or signal.sizing_mode is None:
        return None
    legs = exits.stop is not None or exits.target is not None
    if signal.sizing_mode is SizingMode.RISK_DOLLARS and exits.stop is not None:
        per_share = risk_per_share(entry, exits.stop, signal.stop_limit_price)
        if value < per_share:
            return AlertRefused(
                RejectReason.SIZE_BELOW_ONE_SHARE,
                f"risk {value} buys less than one share at {per_share} risk per share (entry {entry}, "
                f"stop {exits.stop}"
                + (f", stop limit {signal.stop_limit_price})" if signal.stop_limit_price else ")"),
                "sizing_value",
            )
    if signal.sizing_mode is SizingMode.FIXED_QUANTITY and legs and value < 1:
        return AlertRefused(
            RejectReason.SIZE_BELOW_ONE_SHARE,
            f"quantity {value} is below one share, and an order with a stop or target takes whole shares",
            "sizing_value",
        )
    return None

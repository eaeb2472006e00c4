"""Position sizing: how many shares an entry may buy or sell."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from tradepipe.domain.exits import Exits, check_exit_sides, resolve_exits
from tradepipe.domain.model import Rejected, RejectReason, Side, Signal, SizingMode


@dataclass(frozen=True)
class Sized:
    qty: int
    entry: Decimal
    exits: Exits
    risk_per_share: Decimal | None  # None when the entry has no stop
    realized_risk: Decimal | None


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def size_entry(signal: Signal) -> Sized | Rejected:
    """Risk dollars: floor(risk / |entry - stop|), rounding down so the realized risk never exceeds the
    request. Fixed quantity: whole shares, rounded down. Other modes need account data (risk stage v2)."""
    side = signal.side or Side.BUY
    entry = signal.reference_price
    if entry is None:
        return Rejected(
            RejectReason.ENTRY_PRICE_UNKNOWN, "no entry price: send entryPrice, signalPrice or price"
        )
    exits = resolve_exits(signal, entry, side)
    wrong = check_exit_sides(side, entry, exits)
    if wrong is not None:
        return wrong
    per_share = None if exits.stop is None else abs(entry - exits.stop)
    value = signal.sizing_value or Decimal(0)
    if signal.sizing_mode is SizingMode.RISK_DOLLARS:
        if per_share is None:
            return Rejected(RejectReason.STOP_UNKNOWN, f"risk sizing needs a stop; entry={entry}")
        qty = _floor(value / per_share)
        detail = f"risk={value} per_share_risk={per_share} qty={qty}"
    elif signal.sizing_mode is SizingMode.FIXED_QUANTITY:
        qty = _floor(value)
        detail = f"quantity={value} qty={qty}"
    else:
        return Rejected(
            RejectReason.SIZING_MODE_UNSUPPORTED, f"sizing mode {signal.sizing_mode} is not enabled"
        )
    if qty < 1:
        return Rejected(RejectReason.SIZE_BELOW_ONE_SHARE, detail)
    realized = None if per_share is None else per_share * qty
    return Sized(qty=qty, entry=entry, exits=exits, risk_per_share=per_share, realized_risk=realized)

"""Position sizing: how many shares put `risk_amount` at risk between entry and stop."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from tradepipe.domain.model import Rejected, RejectReason, Side, Signal, Sized


def check_exit_sides(signal: Signal) -> Rejected | None:
    """A BUY needs stop < entry < take-profit; a SELL the mirror image."""
    entry, stop, target = signal.entry_price, signal.stop_loss, signal.take_profit
    long = signal.side is Side.BUY
    if stop == entry:
        return Rejected(RejectReason.ZERO_STOP_DISTANCE, f"entry={entry} stop={stop}")
    if (long and stop > entry) or (not long and stop < entry):
        return Rejected(RejectReason.STOP_WRONG_SIDE, f"entry={entry} stop={stop} side={signal.side}")
    if target is not None and ((long and target <= entry) or (not long and target >= entry)):
        return Rejected(
            RejectReason.TAKE_PROFIT_WRONG_SIDE, f"entry={entry} take_profit={target} side={signal.side}"
        )
    return None


def size_by_risk(signal: Signal) -> Sized | Rejected:
    """qty = floor(risk / |entry - stop|): rounding down so the realized risk never exceeds the request."""
    wrong = check_exit_sides(signal)
    if wrong is not None:
        return wrong
    per_share = abs(signal.entry_price - signal.stop_loss)
    qty = int((signal.risk_amount / per_share).to_integral_value(rounding=ROUND_FLOOR))
    if qty < 1:
        return Rejected(
            RejectReason.SIZE_BELOW_ONE_SHARE,
            f"risk={signal.risk_amount} per_share_risk={per_share} qty={qty}",
        )
    return Sized(qty=qty, risk_per_share=per_share, realized_risk=per_share * Decimal(qty))

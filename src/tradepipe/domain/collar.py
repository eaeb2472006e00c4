"""Entries within their risk: a marketable limit at the alert price plus a collar, re-sized against the
current quote, and the check of the risk realized at the fill.

A market entry fills wherever the market is when it arrives; a stop sized against the alert's price then
risks more than the budget when the price has run away (the shipped backtest: 18 of 27 entries over budget,
up to +45%). Issue 19 item 3's rules, pure:

- `collar_width`: the collar in dollars per share, from the profile: a fraction of ATR when the profile sets
  one and ATR is known, else basis points of the alert price (a trader sets volatility-scaled collars where
  there is volatility data and a fixed one otherwise).
- `marketable_limit`: alert price ± collar, rounded onto Alpaca's tick grid towards the alert price (a buy
  never pays more than the collar allows, a sell never gets less). Alpaca: a limit order "will only be
  executed at your specified limit price or better" (docs "Orders at Alpaca", Limit Order); prices of
  $1.00 and above take two decimals, below four (sub-penny rule: `exits.tick_for`).
- `size_against_quote`: before sending, the quantity is re-sized for the current quote so the risk to the
  stop is within the budget there, and within budget × (1 + tolerance) should the fill come at the limit; a
  quote already past the limit is refused (`QUOTE_BEYOND_COLLAR`): the order would rest, not fill.
- `check_realized_risk`: at the fill, |fill − stop| × qty must be within budget × (1 + tolerance); the
  default tolerance is 10% (`DEFAULT_RISK_TOLERANCE`), what slippage on the stop's own tick rounding and a
  collar of a few basis points can cost without the trader calling it a breach.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from tradepipe.domain.exits import tick_for
from tradepipe.domain.model import Rejected, RejectReason, Side

_BPS = Decimal(10_000)
DEFAULT_RISK_TOLERANCE = Decimal("0.10")


@dataclass(frozen=True)
class Collar:
    bps: Decimal | None = None  # basis points of the alert price
    atr_fraction: Decimal | None = None  # fraction of ATR, used when ATR is known

    def __post_init__(self) -> None:
        for name in ("bps", "atr_fraction"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"a collar's {name} cannot be negative, got {value}")


def collar_width(price: Decimal, collar: Collar, atr: Decimal | None) -> Decimal | None:
    """Dollars per share the entry may pay beyond the alert price; None when the profile sets no collar (or
    only an ATR one and ATR is unknown)."""
    if collar.atr_fraction is not None and atr is not None and atr > 0:
        return atr * collar.atr_fraction
    if collar.bps is not None:
        return price * collar.bps / _BPS
    return None


def marketable_limit(side: Side, alert_price: Decimal, width: Decimal) -> Decimal:
    """The limit: a buy up to alert + width, a sell down to alert − width, on the tick grid, never beyond."""
    if side is Side.BUY:
        raw = alert_price + width
        return raw.quantize(tick_for(raw), rounding=ROUND_FLOOR)
    raw = alert_price - width
    if raw <= 0:
        raise ValueError(f"a collar of {width} leaves no sell price below {alert_price}")
    return raw.quantize(tick_for(raw), rounding=ROUND_CEILING)


@dataclass(frozen=True)
class Sized:
    qty: Decimal
    risk_at_quote: Decimal  # |quote - stop| x qty: within the budget
    risk_at_limit: Decimal  # |limit - stop| x qty: the most the fill can realize, within budget x (1 + tol)


def _per_share(side: Side, price: Decimal, stop: Decimal) -> Decimal:
    return price - stop if side is Side.BUY else stop - price


def size_against_quote(
    side: Side,
    qty: Decimal,
    stop: Decimal,
    risk_budget: Decimal,
    quote: Decimal,
    limit: Decimal,
    tolerance: Decimal = DEFAULT_RISK_TOLERANCE,
) -> Sized | Rejected:
    """Re-size `qty` (as sized at the alert) for the current quote (the ask for a buy, the bid for a sell):
    within the budget at the quote, and within budget x (1 + tolerance) even if the quote moves to the limit
    before the order arrives (a limit fills at its price or better); never more than sized. Refused when the
    quote is past the limit (the order would rest, not fill) or on the wrong side of the stop."""
    beyond = quote > limit if side is Side.BUY else quote < limit
    if beyond:
        return Rejected(
            RejectReason.QUOTE_BEYOND_COLLAR,
            f"{'ask' if side is Side.BUY else 'bid'} {quote} is past the limit {limit} (collar around the "
            "alert price): the entry would not fill",
        )
    at_quote, at_limit = _per_share(side, quote, stop), _per_share(side, limit, stop)
    if at_quote <= 0:
        return Rejected(
            RejectReason.STOP_WRONG_SIDE, f"stop {stop} is not beyond the quote {quote} for {side}"
        )
    fits = min(
        (risk_budget / at_quote).to_integral_value(rounding=ROUND_FLOOR),
        (risk_budget * (1 + tolerance) / at_limit).to_integral_value(rounding=ROUND_FLOOR),
    )
    new_qty = min(qty, fits)
    if new_qty < 1:
        return Rejected(
            RejectReason.SIZE_BELOW_ONE_SHARE,
            f"risk {risk_budget} at {at_quote} a share from the quote {quote} is below one share",
        )
    return Sized(new_qty, at_quote * new_qty, at_limit * new_qty)


def check_realized_risk(
    side: Side,
    fill_price: Decimal,
    stop: Decimal,
    qty: Decimal,
    risk_budget: Decimal,
    tolerance: Decimal = DEFAULT_RISK_TOLERANCE,
) -> Rejected | None:
    """None when the risk at the fill is within budget × (1 + tolerance); else the breach with its numbers
    (for the record and the alarm: the shares are bought, the breach is what the trader must see)."""
    per_share = fill_price - stop if side is Side.BUY else stop - fill_price
    realized = per_share * qty
    allowed = risk_budget * (1 + tolerance)
    if realized > allowed:
        over = (realized / risk_budget - 1) * 100
        return Rejected(
            RejectReason.RISK_OVER_BUDGET,
            f"realized risk {realized:.2f} ({qty} x {per_share}) exceeds budget {risk_budget} by {over:.1f}% "
            f"(tolerance {tolerance * 100:.0f}%)",
        )
    return None

"""Cash and positions from fills; equity, margin and buying power from positions and prices."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from tradepipe.local.paper_broker.state import ZERO, Account, Position, Side

CENT = Decimal("0.01")
# Reg T: half of a position's value must be equity; maintenance is a flat 30% (Alpaca's common rate).
INITIAL_MARGIN_RATE = Decimal("0.5")
MAINTENANCE_MARGIN_RATE = Decimal("0.3")


def apply_fill(position: Position, side: Side, qty: Decimal, price: Decimal) -> None:
    """Update quantity and cost basis: adding averages in, reducing keeps the average, crossing zero
    starts a new position at the fill price."""
    delta = qty * side.sign
    if position.qty == 0 or (position.qty > 0) == (delta > 0):
        position.cost_basis += delta * price
        position.qty += delta
        return
    if abs(delta) <= abs(position.qty):
        remaining = position.qty + delta
        position.cost_basis = ZERO if remaining == 0 else position.cost_basis * remaining / position.qty
        position.qty = remaining
        return
    position.qty += delta
    position.cost_basis = position.qty * price


def settle_cash(account: Account, side: Side, qty: Decimal, price: Decimal) -> None:
    # Cents, as a broker books them; fractional quantities would otherwise leave sub-cent cash.
    account.cash -= (qty * price * side.sign).quantize(CENT)


@dataclass(frozen=True)
class Valuation:
    cash: Decimal
    long_market_value: Decimal
    short_market_value: Decimal  # negative, as Alpaca reports it
    multiplier: Decimal

    @property
    def equity(self) -> Decimal:
        return self.cash + self.long_market_value + self.short_market_value

    @property
    def gross_exposure(self) -> Decimal:
        return self.long_market_value - self.short_market_value

    @property
    def initial_margin(self) -> Decimal:
        return (self.gross_exposure * INITIAL_MARGIN_RATE).quantize(CENT)

    @property
    def maintenance_margin(self) -> Decimal:
        return (self.gross_exposure * MAINTENANCE_MARGIN_RATE).quantize(CENT)

    @property
    def buying_power(self) -> Decimal:
        """(equity - exposure / multiplier) * multiplier: with multiplier 1 this is the cash of a long-only
        account; with 2 it is Reg T overnight buying power."""
        return max((self.equity * self.multiplier - self.gross_exposure).quantize(CENT), ZERO)


def value(account: Account, positions: Iterable[Position], price: Callable[[str], Decimal]) -> Valuation:
    long_mv = ZERO
    short_mv = ZERO
    for position in positions:
        market_value = position.qty * price(position.symbol)
        if market_value >= 0:
            long_mv += market_value
        else:
            short_mv += market_value
    return Valuation(account.cash, long_mv.quantize(CENT), short_mv.quantize(CENT), account.multiplier)

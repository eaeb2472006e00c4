"""Executions as analytics sees them: one `Fill` per broker execution, live or simulated.

Both sources map to this one shape: the fills table joined with the signal and order that caused each
execution (`analytics/records.py`), and the simulated broker of the backtest (`analytics/backtest/`). Money
stays `Decimal` here because the records are Decimal; the metrics turn it into float series at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tradepipe.domain.model import Side

ZERO = Decimal(0)


@dataclass(frozen=True)
class Fill:
    """One execution. `order_id` groups the partial fills of one order (the client_order_id), so the parts
    of one order become one trade, not several."""

    at: datetime
    mode: str
    strategy: str
    ticker: str
    side: Side
    qty: Decimal  # > 0; the side says which way
    price: Decimal
    fee: Decimal = ZERO  # commissions and fees paid on this execution, >= 0
    order_id: str = ""
    execution_id: str = ""
    signal_id: str | None = None
    # From the signal that opened the position (None on closing fills): what 1R is measured from.
    stop: Decimal | None = None
    target: Decimal | None = None
    planned_entry: Decimal | None = None  # the alert's price, which the risk stage sized from

    def __post_init__(self) -> None:
        if self.qty <= 0:
            raise ValueError(f"fill qty must be > 0, got {self.qty}")
        if self.price <= 0:
            raise ValueError(f"fill price must be > 0, got {self.price}")
        if self.fee < 0:
            raise ValueError(f"fill fee must be >= 0, got {self.fee}")

    @property
    def signed_qty(self) -> Decimal:
        return self.qty if self.side is Side.BUY else -self.qty

    @property
    def book(self) -> tuple[str, str, str]:
        """The book a fill belongs to: trades are matched within one mode, strategy and ticker."""
        return (self.mode, self.strategy, self.ticker)

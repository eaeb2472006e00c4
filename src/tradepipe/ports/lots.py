"""Which strategy owns how many shares of a ticker, at what entry and stop (domain/lots.py): the record
the executor keeps so that one strategy's exit closes its own shares and the protection is re-sized for the
rest. One store per backend, all in the risk-state table's layout (`LOTS#<account>#<ticker>` /
`<strategy>#<lot_id>`, adapters/risk_keys.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from tradepipe.domain.lots import Lot


class LotStore(Protocol):
    def open_lot(self, lot: Lot) -> bool:
        """Record a filled entry as a lot. False when that lot_id is already recorded (a fill seen twice,
        a redelivered message): the first record stands."""
        ...

    def lots(self, account: str, ticker: str) -> list[Lot]:
        """Every strategy's lots on the ticker, oldest first."""
        ...

    def resize_lot(
        self, account: str, ticker: str, strategy: str, lot_id: str, qty: Decimal, stop_price: Decimal | None
    ) -> bool:
        """Set a lot's quantity (a partial fill growing it, a partial exit shrinking it; 0 removes it) and its
        stop. False when there is no such lot."""
        ...

    def close_lots(self, account: str, ticker: str, strategy: str) -> list[Lot]:
        """Remove the strategy's lots on the ticker (its exit filled) and return them; other strategies' lots
        stay. Closing twice returns nothing the second time."""
        ...

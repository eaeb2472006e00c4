"""The risk realized at an entry's fill, checked against the budget it was sized for (issue 19).

A collared entry records its budget (the risk to the stop as sized) and the profile's tolerance on its order
record; at the fill, |fill - stop| x filled qty must stay within budget x (1 + tolerance)
(`domain/collar.py::check_realized_risk`). The collar and the executor's re-sizing against the quote keep it
there by construction; a breach (a fill beyond the limit, which Alpaca's limit rule forbids, or a stop moved
by hand) is not undone (the shares are bought; selling them at once would be a second decision the trader
did not take): it is written into the signal's FILLED entry as RISK_OVER_BUDGET, logged as an error and
announced on the EntryFilled notice (`over_budget`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from tradepipe.contracts.items import OrderItem
from tradepipe.domain.collar import check_realized_risk
from tradepipe.domain.model import Rejected, Side
from tradepipe.ports.broker import BrokerOrder

log = logging.getLogger(__name__)
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class FillRisk:
    realized: Decimal
    budget: Decimal
    breach: Rejected | None

    def note(self) -> str:
        if self.breach is not None:
            return f"; {self.breach.reason.value}: {self.breach.detail}"
        return f"; risk at fill {self.realized:.2f} of budget {self.budget:.2f}"


def fill_risk(item: OrderItem, filled_qty: Decimal, avg_price: Decimal | None) -> FillRisk | None:
    """None when the entry carries no budget (not collared, no stop) or nothing filled."""
    if item.risk_budget is None or item.stop_loss is None or avg_price is None or filled_qty <= 0:
        return None
    tolerance = (item.risk_tolerance_pct or Decimal(0)) / _HUNDRED
    per_share = avg_price - item.stop_loss if item.side is Side.BUY else item.stop_loss - avg_price
    breach = check_realized_risk(
        item.side, avg_price, item.stop_loss, filled_qty, item.risk_budget, tolerance
    )
    if breach is not None:
        log.error(
            "entry filled over its risk budget",
            extra={"client_order_id": item.client_order_id, "detail": breach.detail},
        )
    return FillRisk(per_share * filled_qty, item.risk_budget, breach)


def fill_notes(item: OrderItem, order: BrokerOrder) -> str:
    """What a FILLED entry's trail adds: a partial fill (the rest cancelled), the risk at the fill."""
    notes = ""
    if order.status == "canceled" and order.filled_qty < order.qty:
        notes += (
            f"; partial: {order.filled_qty} of {order.qty}, the rest cancelled (protection covers the filled)"
        )
    risk = fill_risk(item, order.filled_qty, order.filled_avg_price)
    return notes + ("" if risk is None else risk.note())

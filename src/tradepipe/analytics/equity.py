"""Daily equity curves: from the simulated account (the backtest records one point per session) or
rebuilt from fills (records), marking open positions at each day's close when bars are known, else at the
last fill price seen (the best price the records themselves hold)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np

from tradepipe.analytics.fills import ZERO, Fill
from tradepipe.analytics.metrics import FloatArray

_NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True)
class EquityPoint:
    """The account at one session's close."""

    day: date
    equity: Decimal
    cash: Decimal
    invested: bool  # any position open at the close


def session_day(at: datetime) -> date:
    """The US trading day a time belongs to (New York date)."""
    return at.astimezone(_NEW_YORK).date()


def equity_from_fills(
    fills: Sequence[Fill],
    initial_cash: Decimal,
    days: Sequence[date],
    closes: Mapping[str, Mapping[date, Decimal]] | None = None,
) -> list[EquityPoint]:
    """One point per day in `days` (sorted): cash after the day's fills (fees included) plus positions marked
    at the day's close from `closes`, or at the last fill price up to that day."""
    ordered = sorted(fills, key=lambda f: f.at)
    cash = initial_cash
    positions: dict[str, Decimal] = {}
    last_price: dict[str, Decimal] = {}
    out: list[EquityPoint] = []
    i = 0
    for day in days:
        while i < len(ordered) and session_day(ordered[i].at) <= day:
            fill = ordered[i]
            cash -= fill.signed_qty * fill.price + fill.fee
            positions[fill.ticker] = positions.get(fill.ticker, ZERO) + fill.signed_qty
            last_price[fill.ticker] = fill.price
            i += 1
        value = ZERO
        for ticker, qty in positions.items():
            if qty == 0:
                continue
            mark = (closes or {}).get(ticker, {}).get(day, last_price[ticker])
            value += qty * mark
        out.append(EquityPoint(day, cash + value, cash, any(q != 0 for q in positions.values())))
    return out


def daily_returns(points: Sequence[EquityPoint], initial_equity: Decimal) -> FloatArray:
    """equity_t / equity_{t-1} - 1 for each point, the first measured from `initial_equity`."""
    values = np.array([float(initial_equity), *(float(p.equity) for p in points)], dtype=np.float64)
    return np.asarray(values[1:] / values[:-1] - 1.0, dtype=np.float64)

"""Indicators for the risk engine, computed with TA-Lib on float64 arrays and returned as Decimals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import talib

from tradepipe.ports.market_data import DailyBar

ATR_QUANTUM = Decimal("0.0001")


def average_true_range(bars: Sequence[DailyBar], period: int) -> Decimal | None:
    """Wilder's ATR(`period`) at the last bar (`bars` oldest first), to 4 decimals.

    TA-Lib seeds the average with the mean of the first `period` true ranges, which start at the second bar
    (a true range needs the previous close), so the first value needs `period + 1` bars. None when there are
    fewer, or when the data yields no number (NaN in the input).
    """
    if period < 1:
        raise ValueError(f"ATR period must be >= 1, got {period}")
    if len(bars) < period + 1:
        return None
    high = np.array([float(b.h) for b in bars], dtype=np.float64)
    low = np.array([float(b.l) for b in bars], dtype=np.float64)
    close = np.array([float(b.c) for b in bars], dtype=np.float64)
    last = float(talib.ATR(high, low, close, timeperiod=period)[-1])
    if not math.isfinite(last):
        return None
    # repr() is the shortest string that round-trips: no binary noise before quantizing.
    return Decimal(repr(last)).quantize(ATR_QUANTUM, rounding=ROUND_HALF_EVEN)

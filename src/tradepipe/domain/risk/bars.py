"""Which bar an alert belongs to, from its time and TradingView's {{interval}} (5, 60, 1D, D, 1W, 30S...)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_INTERVAL = re.compile(r"^(\d*)([SHDWM]?)$")
# TradingView: digits alone are minutes, M is months (approximated as 30 days).
_UNIT_SECONDS = {"S": 1, "": 60, "H": 3600, "D": 86400, "W": 7 * 86400, "M": 30 * 86400}


def bar_seconds(timeframe: str) -> int | None:
    """None when the timeframe is not one TradingView renders (e.g. 'unknown')."""
    text = timeframe.strip()
    if text.endswith(("m", "min")):  # our template's 5m / 5min: minutes (TradingView's "M" is months)
        text = text.removesuffix("min").removesuffix("m")
    found = _INTERVAL.match(text.upper())
    if not found or not (found.group(1) or found.group(2)):
        return None
    return int(found.group(1) or 1) * _UNIT_SECONDS[found.group(2)]


def bar_start(alert_time: datetime, timeframe: str) -> datetime:
    """The start of the bar that contains `alert_time` (UTC-aligned)."""
    seconds = bar_seconds(timeframe)
    if seconds is None:
        return alert_time
    epoch = alert_time.timestamp()
    return alert_time - timedelta(seconds=epoch % seconds, microseconds=alert_time.microsecond)


def data_timeframe(timeframe: str) -> tuple[int, str]:
    """The bars to measure an alert's ATR on, as Alpaca's data API names them: (amount, "Min" | "Hour" |
    "Day"). Alpaca serves 1-59 minute and 1-23 hour bars; a timeframe between or beyond them uses the
    nearest coarser one that divides it, else daily (an unknown timeframe too)."""
    seconds = bar_seconds(timeframe)
    if seconds is None or seconds >= 86400:
        return 1, "Day"
    minutes = max(1, seconds // 60)
    if minutes < 60:
        return minutes, "Min"
    if minutes % 60 == 0:
        return minutes // 60, "Hour"
    return 1, "Hour"  # e.g. 90 minutes: not servable as such; hour bars are the nearest grid

"""The dedupe window of an alert that carries no time: an identical alert arriving in the same window is the
same signal, one arriving in the next window a new one.

The window is the alert's bar where we can know the bar's edges, and never spans two bars:
- intraday bars: US sessions open on the half hour (9:30 New York, an offset of 13:30 or 14:30 UTC, both
  multiples of 30 minutes), and TradingView starts each session's bars at the open. Every bar edge is then
  the open plus whole bars, so a window of gcd(bar, 30 min) seconds, aligned on the epoch, holds no bar edge
  inside it: a 1, 5, 15 or 30-minute bar is its own window, a 1-hour or 4-hour bar is split into 30-minute
  windows, a 45-minute bar into 15-minute ones;
- daily and longer bars: the day from 05:00 UTC (midnight in New York in winter, 1 am in summer), which no
  session crosses, extended hours (4 am to 8 pm New York) included; fixed in UTC rather than read from a
  time-zone database, which a Lambda image may lack;
- never less than 60 s (seconds bars, an unknown timeframe), the issue's floor: a resend within a minute is a
  duplicate even where a seconds bar ends inside that minute.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from tradepipe.domain.risk.bars import bar_seconds

_SESSION_GRID_S = 1800  # the open's offset from UTC midnight is a multiple of this
_DAY_S = 86_400
_DAY_START_S = 5 * 3600  # 05:00 UTC: between the end of one day's extended hours and the next's start
MIN_WINDOW_S = 60


def window_seconds(timeframe: str) -> int | None:
    """The window length for an intraday bar, or None for daily and longer bars (the trading day)."""
    bar = bar_seconds(timeframe)
    if bar is not None and bar >= _DAY_S:
        return None
    if bar is None or bar <= MIN_WINDOW_S:
        return MIN_WINDOW_S
    return max(math.gcd(bar, _SESSION_GRID_S), MIN_WINDOW_S)


def dedupe_window(received_at: datetime, timeframe: str) -> datetime:
    """The start of the window `received_at` falls in, in UTC."""
    seconds = window_seconds(timeframe)
    epoch = int(received_at.timestamp())
    if seconds is None:
        return datetime.fromtimestamp(epoch - (epoch - _DAY_START_S) % _DAY_S, UTC)
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)

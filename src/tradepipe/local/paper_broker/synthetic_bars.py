"""Intraday bars for the paper broker, derived from its daily bars: SYNTHETIC, and said so.

The broker ships only daily bars (public-domain WIKI prices). Alpaca's data API also serves minute and hour
bars, and the risk stage measures ATR on bars of the alert's timeframe, so the broker answers intraday
requests with bars derived from each day by one documented, seeded method:

- the regular session (09:30-16:00 New York, 390 minutes) is cut into bars of the requested length (the last
  one shorter when the length does not divide 390);
- the path through the day is a Brownian bridge from the day's open to its close, drawn from a generator
  seeded with sha256(symbol, day, minutes), so the same request always answers the same bars;
- the path is mapped into the day's range (its lowest point to the day's low, its highest to the day's
  high; the first and last points are the day's open and close exactly), so every derived bar lies inside
  the real daily bar; volume is spread evenly.

These bars have a realistic scale (their true ranges sum to about the daily range) but no real intraday
information: fine for ATR-based stop checks in tests and the demo, never for research. The answer says so
(`"synthetic": true`, a key alpaca-py ignores).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from tradepipe.local.paper_broker.market_data import DailyBar
from tradepipe.local.paper_broker.nyse_calendar import NEW_YORK

SESSION_OPEN = time(9, 30)
SESSION_MINUTES = 390
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class IntradayBar:
    t: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int


def _seed(symbol: str, day: date, minutes: int) -> int:
    digest = hashlib.sha256(f"{symbol}|{day.isoformat()}|{minutes}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _bridge(steps: int, rng: random.Random) -> list[float]:
    """A Brownian bridge from 0 to 0 in `steps` steps (steps + 1 points)."""
    walk = [0.0]
    for _ in range(steps):
        walk.append(walk[-1] + rng.gauss(0.0, 1.0))
    end = walk[-1]
    return [w - end * i / steps for i, w in enumerate(walk)]


def intraday_bars(symbol: str, bar: DailyBar, minutes: int) -> list[IntradayBar]:
    """The day's session as bars of `minutes`, oldest first (see the module's method)."""
    if minutes < 1:
        raise ValueError(f"bar length must be at least a minute, got {minutes}")
    count = -(-SESSION_MINUTES // minutes)
    rng = random.Random(_seed(symbol, bar.day, minutes))  # noqa: S311 - a seeded simulation, not security
    # Points: the open, then each bar's close; the drift line takes the path from the open to the close.
    noise = _bridge(count, rng)
    o, c, hi, lo = (float(x) for x in (bar.open, bar.close, bar.high, bar.low))
    path = [o + (c - o) * i / count + noise[i] for i in range(count + 1)]
    low_p, high_p = min(path), max(path)
    span = high_p - low_p

    def scaled(p: float) -> float:
        return o if span == 0 else lo + (p - low_p) / span * (hi - lo)

    prices = [scaled(p) for p in path]
    prices[0], prices[-1] = o, c  # the day's own open and close, exactly
    start = datetime.combine(bar.day, SESSION_OPEN, NEW_YORK)
    volume = bar.volume // count
    out: list[IntradayBar] = []
    for i in range(count):
        first, last = prices[i], prices[i + 1]
        out.append(
            IntradayBar(
                t=start + timedelta(minutes=i * minutes),
                open=_price(first, lo, hi),
                high=_price(max(first, last), lo, hi),
                low=_price(min(first, last), lo, hi),
                close=_price(last, lo, hi),
                volume=volume,
            )
        )
    return out


def intraday_json(bar: IntradayBar) -> dict[str, object]:
    """As Alpaca's bar (the keys alpaca-py's Bar needs; n and vw null: not in the source, never invented)."""
    return {
        "t": bar.t.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "o": float(bar.open),
        "h": float(bar.high),
        "l": float(bar.low),
        "c": float(bar.close),
        "v": bar.volume,
        "n": None,
        "vw": None,
    }


def _price(value: float, lo: float, hi: float) -> Decimal:
    return Decimal(str(min(max(value, lo), hi))).quantize(_CENT)


def minutes_of(timeframe: str) -> int | None:
    """Alpaca's intraday timeframe text (alpaca-py sends `5Min`, `1Hour`; `T` and `H` also accepted) in
    minutes; None for a daily one or anything else."""
    text = timeframe.strip()
    for suffix, factor in (("Min", 1), ("T", 1), ("Hour", 60), ("H", 60)):
        if text.endswith(suffix) and text[: -len(suffix)].isdigit():
            amount = int(text[: -len(suffix)])
            limit = 59 if factor == 1 else 23  # Alpaca: 1-59 minutes, 1-23 hours
            return amount * factor if 1 <= amount <= limit else None
    return None

"""Real daily bars for the paper broker: prices to fill at and history to serve.

The bars are Quandl WIKI prices (public domain) shipped in `bokeh_sampledata.stocks`: AAPL, IBM and MSFT
2000-03 to 2013-03, GOOG from 2004, FB from its 2012 listing. Real prices make fills, gaps and stop-outs
look like markets do, offline. The module's plain dicts are read (it parses its CSV with `csv`); its
pandas `data` frame is never touched, so pandas is not imported here.

The feed has a cursor: "today" is the cursor's bar and the current price is its close. Moving the cursor
is how tests and the local stack make time pass; bars after the cursor are never served (no look-ahead).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

SAMPLE_SYMBOLS: tuple[str, ...] = ("AAPL", "FB", "GOOG", "IBM", "MSFT")


class UnknownSymbol(KeyError):
    """No price for this symbol at the cursor: never listed here, or not trading yet (FB before 2012-05)."""

    def __init__(self, symbol: str) -> None:
        super().__init__(symbol)
        self.symbol = symbol

    def __str__(self) -> str:
        return f"no price for symbol {self.symbol!r}"


class EndOfData(Exception):
    """The cursor cannot move that far: the data ends (on 2013-03-01 for the sample data)."""


@dataclass(frozen=True)
class DailyBar:
    day: date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int


def load_sample_bars(symbols: Iterable[str] = SAMPLE_SYMBOLS) -> dict[str, list[DailyBar]]:
    """Bars per symbol from bokeh-sampledata, prices as exact decimals (via the floats' shortest repr)."""
    # Imported here: the module reads its 13 MB gzip on import (~0.1 s), only when a feed is built.
    from bokeh_sampledata import stocks

    out: dict[str, list[DailyBar]] = {}
    for symbol in symbols:
        raw = getattr(stocks, symbol)
        out[symbol] = [
            DailyBar(
                day=date.fromisoformat(day),
                open=Decimal(str(o)),
                high=Decimal(str(h)),
                low=Decimal(str(lo)),
                close=Decimal(str(c)),
                volume=int(v),
            )
            for day, o, h, lo, c, v in zip(
                raw["date"], raw["open"], raw["high"], raw["low"], raw["close"], raw["volume"], strict=True
            )
        ]
    return out


class PriceFeed:
    """Daily bars per symbol, a cursor date, and per-symbol price overrides for tests.

    Not locked: the broker engine owns its feed and serializes every access under its own lock.
    """

    def __init__(
        self, bars: Mapping[str, Sequence[DailyBar]] | None = None, cursor: date | None = None
    ) -> None:
        source = load_sample_bars() if bars is None else bars
        self._bars: dict[str, list[DailyBar]] = {
            s.upper(): sorted(b, key=lambda x: x.day) for s, b in source.items()
        }
        self._days_of: dict[str, list[date]] = {s: [b.day for b in bars_] for s, bars_ in self._bars.items()}
        # The trading calendar is the union of every symbol's days, so one symbol's gap does not stop time.
        self._calendar: list[date] = sorted({d for days in self._days_of.values() for d in days})
        if not self._calendar:
            raise ValueError("a price feed needs at least one bar")
        self._overrides: dict[str, Decimal] = {}
        self._cursor_index = 0
        self.move_to(cursor if cursor is not None else self.default_cursor())

    # --- the cursor ---------------------------------------------------------------------------------

    def default_cursor(self) -> date:
        """The last day every symbol has a bar (2013-03-01 for the sample data)."""
        return min(days[-1] for days in self._days_of.values() if days)

    @property
    def cursor(self) -> date:
        return self._calendar[self._cursor_index]

    @property
    def days_left(self) -> int:
        """How many bars the cursor can still move forward."""
        return len(self._calendar) - 1 - self._cursor_index

    @property
    def first_day(self) -> date:
        return self._calendar[0]

    @property
    def last_day(self) -> date:
        return self._calendar[-1]

    def move_to(self, day: date) -> None:
        """Put the cursor on `day`, or on the last trading day before it; clears price overrides."""
        index = bisect_right(self._calendar, day) - 1
        if index < 0:
            raise EndOfData(f"no bars on or before {day} (data starts {self.first_day})")
        self._cursor_index = index
        self._overrides.clear()

    def advance(self, days: int = 1) -> dict[str, Decimal]:
        """Move the cursor `days` bars forward and return the new prices; overrides give way to real bars.

        All or nothing: past the end of the data it raises EndOfData and the cursor stays put.
        """
        if days < 1:
            raise ValueError("days must be >= 1")
        target = self._cursor_index + days
        if target >= len(self._calendar):
            raise EndOfData(f"no bar {days} day(s) after {self.cursor} (data ends {self.last_day})")
        self._cursor_index = target
        self._overrides.clear()
        return self.prices()

    # --- prices -------------------------------------------------------------------------------------

    def symbols(self) -> list[str]:
        """Symbols that have a price at the cursor, sorted."""
        return sorted(s for s in self._bars if self._last_bar(s) is not None)

    def has(self, symbol: str) -> bool:
        return self._last_bar(symbol.upper()) is not None

    def price(self, symbol: str) -> Decimal:
        """The override if one is set, else the close of the symbol's latest bar at or before the cursor."""
        symbol = symbol.upper()
        if symbol in self._overrides:
            return self._overrides[symbol]
        bar = self._last_bar(symbol)
        if bar is None:
            raise UnknownSymbol(symbol)
        return bar.close

    def prices(self) -> dict[str, Decimal]:
        return {s: self.price(s) for s in self.symbols()}

    def set_price(self, symbol: str, price: Decimal) -> None:
        """Override the current price of a known symbol (until the cursor moves)."""
        symbol = symbol.upper()
        if self._last_bar(symbol) is None:
            raise UnknownSymbol(symbol)
        if price <= 0:
            raise ValueError("price must be > 0")
        self._overrides[symbol] = price

    def overrides(self) -> dict[str, Decimal]:
        return dict(self._overrides)

    def restore(self, cursor: date, overrides: Mapping[str, Decimal]) -> None:
        """Back to a saved market: the cursor and the prices set on top of its bars."""
        self.move_to(cursor)
        for symbol, price in overrides.items():
            self.set_price(symbol, price)

    def previous_close(self, symbol: str) -> Decimal:
        """The close of the bar before today's: what Alpaca calls `lastday_price`."""
        symbol = symbol.upper()
        days = self._days_of.get(symbol, [])
        index = bisect_left(days, self.cursor) - 1
        if index < 0:
            return self.price(symbol)
        return self._bars[symbol][index].close

    def bar_today(self, symbol: str) -> DailyBar | None:
        """The symbol's bar dated exactly at the cursor (None on a day it did not trade)."""
        bar = self._last_bar(symbol.upper())
        return bar if bar is not None and bar.day == self.cursor else None

    # --- history ------------------------------------------------------------------------------------

    def bars(
        self, symbol: str, start: date | None = None, end: date | None = None, limit: int | None = None
    ) -> list[DailyBar]:
        """Bars with start <= day <= end (both inclusive), oldest first, never past the cursor."""
        symbol = symbol.upper()
        if symbol not in self._bars:
            raise UnknownSymbol(symbol)
        days = self._days_of[symbol]
        last = self.cursor if end is None else min(end, self.cursor)
        lo = 0 if start is None else bisect_left(days, start)
        hi = bisect_right(days, last)
        selected = self._bars[symbol][lo:hi]
        return selected if limit is None else selected[:limit]

    def _last_bar(self, symbol: str) -> DailyBar | None:
        days = self._days_of.get(symbol)
        if not days:
            return None
        index = bisect_right(days, self.cursor) - 1
        return self._bars[symbol][index] if index >= 0 else None

"""Daily bars for backtests: the series type, the bundled real bars, and CSV files.

Bundled bars: Quandl WIKI end-of-day prices (public domain) shipped in the `bokeh-sampledata` package
(`bokeh_sampledata.stocks`): AAPL, IBM and MSFT 2000-03-01 to 2013-03-01, GOOG from 2004-08-19 (and FB from
2012-05). They are the same bars the local paper broker prices from, so backtests run offline.

The raw WIKI bars are not adjusted for splits (AAPL halves overnight on 2000-06-21 and 2005-02-28), which a
strategy would read as crashes. `adjust=True` (the default) scales open, high, low and close by the
day's adj_close / close (Quandl's split *and* dividend adjustment), then rounds to $0.0001 so every price is
a price a broker could quote and renders exactly in an alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt

BUNDLED_SOURCE = "Quandl WIKI daily prices (public domain) from the bokeh-sampledata package"
BUNDLED_TICKERS: tuple[str, ...] = ("AAPL", "GOOG", "IBM", "MSFT")
PRICE_DECIMALS = 4
_EXCHANGES = {"AAPL": "NASDAQ", "GOOG": "NASDAQ", "MSFT": "NASDAQ", "FB": "NASDAQ", "IBM": "NYSE"}

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class BarSeries:
    """One ticker's daily bars, oldest first, as float arrays (what TA-Lib takes). Dates are unique."""

    ticker: str
    dates: tuple[date, ...]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    exchange: str = ""

    def __post_init__(self) -> None:
        n = len(self.dates)
        for name in ("open", "high", "low", "close", "volume"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{self.ticker}: {name} has {len(getattr(self, name))} values for {n} dates")
        if any(b <= a for a, b in zip(self.dates, self.dates[1:], strict=False)):
            raise ValueError(f"{self.ticker}: dates must be strictly increasing")
        if n and (
            np.any(self.low > np.minimum(self.open, self.close))
            or np.any(self.high < np.maximum(self.open, self.close))
        ):
            raise ValueError(f"{self.ticker}: a bar's low/high does not contain its open and close")

    def __len__(self) -> int:
        return len(self.dates)

    def between(self, start: date | None, end: date | None) -> BarSeries:
        """Bars with start <= date <= end (both inclusive)."""
        keep = np.array(
            [(start is None or d >= start) and (end is None or d <= end) for d in self.dates], dtype=bool
        )
        return BarSeries(
            self.ticker,
            tuple(d for d, k in zip(self.dates, keep, strict=True) if k),
            self.open[keep],
            self.high[keep],
            self.low[keep],
            self.close[keep],
            self.volume[keep],
            self.exchange,
        )


def _series(
    ticker: str, dates: list[date], o: FloatArray, h: FloatArray, lo: FloatArray, c: FloatArray, v: FloatArray
) -> BarSeries:
    r = PRICE_DECIMALS
    return BarSeries(
        ticker=ticker,
        dates=tuple(dates),
        open=np.round(o, r),
        high=np.round(h, r),
        low=np.round(lo, r),
        close=np.round(c, r),
        volume=np.asarray(v, dtype=np.float64),
        exchange=_EXCHANGES.get(ticker, ""),
    )


def bundled_bars(
    ticker: str, start: date | None = None, end: date | None = None, adjust: bool = True
) -> BarSeries:
    """Real daily bars for one of BUNDLED_TICKERS (see the module docstring), start..end inclusive."""
    ticker = ticker.upper()
    if ticker not in (*BUNDLED_TICKERS, "FB"):
        raise ValueError(f"no bundled bars for {ticker}; bundled: {', '.join(BUNDLED_TICKERS)} (and FB)")
    # Imported here: the module parses its 13 MB gzip on import (~0.1 s).
    from bokeh_sampledata import stocks

    raw = getattr(stocks, ticker)
    o, h, lo, c, v, adj = (
        np.asarray(raw[k], dtype=np.float64) for k in ("open", "high", "low", "close", "volume", "adj_close")
    )
    factor = adj / c if adjust else np.ones_like(c)
    dates = [date.fromisoformat(d) for d in raw["date"]]
    # Rounding can put an adjusted open a hair outside [low, high]; clamp so every bar stays a valid bar.
    series = _series(ticker, dates, o * factor, h * factor, lo * factor, c * factor, v / factor)
    return _clamped(series).between(start, end)


def _clamped(s: BarSeries) -> BarSeries:
    high = np.maximum.reduce([s.high, s.open, s.close])
    low = np.minimum.reduce([s.low, s.open, s.close])
    return BarSeries(s.ticker, s.dates, s.open, high, low, s.close, s.volume, s.exchange)


def read_bars_csv(path: Path, ticker: str | None = None) -> BarSeries:
    """A CSV with a header: date (or Date/timestamp), open, high, low, close and optionally volume and
    ticker (names case-insensitive). The ticker is `ticker`, else the file's ticker column, else its stem."""
    import pandas as pd

    frame = pd.read_csv(path)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    date_col = next((c for c in ("date", "timestamp", "time", "datetime") if c in frame.columns), None)
    if date_col is None:
        raise ValueError(f"{path}: no date column (date, timestamp, time or datetime)")
    missing = [c for c in ("open", "high", "low", "close") if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    name = ticker or (str(frame["ticker"].iloc[0]) if "ticker" in frame.columns else path.stem)
    frame = frame.sort_values(date_col)
    dates = [d.date() for d in pd.to_datetime(frame[date_col])]
    volume = frame["volume"].to_numpy(np.float64) if "volume" in frame.columns else np.zeros(len(frame))
    return _series(
        name.upper(),
        dates,
        frame["open"].to_numpy(np.float64),
        frame["high"].to_numpy(np.float64),
        frame["low"].to_numpy(np.float64),
        frame["close"].to_numpy(np.float64),
        volume,
    )


def write_bars_csv(series: BarSeries, path: Path) -> None:
    """The CSV read_bars_csv reads back to the same series (prices at PRICE_DECIMALS)."""
    lines = ["date,open,high,low,close,volume"]
    for i, d in enumerate(series.dates):
        lines.append(
            f"{d.isoformat()},{series.open[i]:.4f},{series.high[i]:.4f},{series.low[i]:.4f},"
            f"{series.close[i]:.4f},{series.volume[i]:.0f}"
        )
    path.write_text("\n".join(lines) + "\n")

"""mplfinance PNGs, one per ticker with bars: candles (a close line past 400 sessions, where candles blur
into noise and take seconds to draw), entry and exit markers at their fill prices. For sharing a chart in a
chat, not for analysis."""

from __future__ import annotations

from pathlib import Path

from tradepipe.analytics.equity import session_day
from tradepipe.analytics.report.data import ReportData
from tradepipe.domain.model import Side

_CANDLES_UP_TO = 400


def write_pngs(data: ReportData, directory: Path) -> list[Path]:
    """Writes `<TICKER>.png` into `directory` for each ticker that has bars; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt
    import mplfinance as mpf
    import numpy as np
    import pandas as pd

    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for ticker, series in sorted(data.bars.items()):
        if not len(series):
            continue
        index = pd.DatetimeIndex([pd.Timestamp(d) for d in series.dates])
        frame = pd.DataFrame(
            {
                "Open": series.open,
                "High": series.high,
                "Low": series.low,
                "Close": series.close,
                "Volume": series.volume,
            },
            index=index,
        )
        position = {d: i for i, d in enumerate(series.dates)}
        markers = {name: np.full(len(series), np.nan) for name in ("long", "short", "exit")}
        for trade in data.performance.book.trades:
            if trade.ticker != ticker:
                continue
            entry, leave = position.get(session_day(trade.entry_at)), position.get(session_day(trade.exit_at))
            if entry is not None:
                markers["long" if trade.direction is Side.BUY else "short"][entry] = float(trade.entry_price)
            if leave is not None:
                markers["exit"][leave] = float(trade.exit_price)
        plots = [
            mpf.make_addplot(markers[name], type="scatter", marker=marker, markersize=60, color=color)
            for name, marker, color in (("long", "^", "green"), ("short", "v", "red"), ("exit", "x", "black"))
            if not np.isnan(markers[name]).all()
        ]
        path = directory / f"{ticker}.png"
        figure, _ = mpf.plot(
            frame,
            type="candle" if len(series) <= _CANDLES_UP_TO else "line",
            style="yahoo",
            title=f"{ticker} ({data.source})",
            addplot=plots or None,
            volume=bool(series.volume.any()) and len(series) <= _CANDLES_UP_TO,  # 10k volume bars: seconds
            figsize=(14, 7),
            returnfig=True,
            warn_too_much_data=len(series) + 1,
        )
        figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(figure)
        written.append(path)
    return written

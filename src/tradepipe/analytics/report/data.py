"""What a report shows, whatever produced it (the records of a running pipeline or a backtest run)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tradepipe.analytics.backtest.bars import BarSeries
from tradepipe.analytics.equity import EquityPoint
from tradepipe.analytics.fills import Fill
from tradepipe.analytics.performance import Performance
from tradepipe.contracts.items import SignalItem


@dataclass(frozen=True)
class ReportData:
    title: str
    source: str  # "records (stage local)", "backtest <run id>"
    performance: Performance
    fills: list[Fill]
    signals: list[SignalItem]
    equity: list[EquityPoint]
    bars: dict[str, BarSeries] = field(default_factory=dict)  # candlesticks; tickers without bars show fills
    notes: list[str] = field(default_factory=list)  # how the numbers were made (fill rule, marks, ...)

    @property
    def tickers(self) -> list[str]:
        return sorted({f.ticker for f in self.fills} | set(self.bars))

"""The backtest against an independent backtester (backtesting.py 0.6) on the same real bars and rule.

The rule, on both sides: SMA(10) crossing over SMA(30) (Pine's ta.crossover: above now, at or below on the
previous bar) buys 10 shares when flat; crossing under closes; every order is a market order filled at the
next bar's open; no slippage; a commission of 10 bps of the notional on each execution. backtesting.py's
own `lib.crossover` needs the previous bar strictly below, so the reference strategy spells Pine's rule
out instead.

Ours runs the full path (alert bytes -> accept_alert -> assess_signal with the bundled default profile ->
simulated broker). The risk rules that an independent backtester does not have are switched off for this
strategy (ATR stop checks and ATR-derived stops, the losing-streak, daily-loss and drawdown switches): with
them on, a rejection is the only way the two could differ, and that is tested elsewhere.

Tolerance: the same trades (count, entry and exit dates, quantities); each trade's return within 1e-9 and
total P&L within $1e-6. The only expected difference is representation: we compute in Decimal on prices
rounded to $0.0001, backtesting.py in float64 on the same numbers.
"""

from __future__ import annotations

import warnings
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import talib
from backtesting import Backtest, Strategy

from tradepipe.analytics.backtest.bars import BarSeries, bundled_bars
from tradepipe.analytics.backtest.broker import Costs
from tradepipe.analytics.backtest.runner import BacktestSpec, run_backtest
from tradepipe.analytics.backtest.strategy import SmaCrossSimple
from tradepipe.analytics.equity import session_day
from tradepipe.analytics.trades import match_trades
from tradepipe.config import load_bundled_risk_config
from tradepipe.domain.risk.profile import RiskConfig

QTY = 10
COMMISSION = 0.001  # 10 bps
RETURN_TOLERANCE = 1e-9
PNL_TOLERANCE = 1e-6


def _pine_crossover(a: np.ndarray, b: np.ndarray) -> bool:
    if len(a) < 2 or np.isnan([a[-1], a[-2], b[-1], b[-2]]).any():
        return False
    return bool(a[-1] > b[-1] and a[-2] <= b[-2])


class ReferenceSmaCross(Strategy):  # type: ignore[misc]
    def init(self) -> None:
        self.fast = self.I(talib.SMA, self.data.Close, 10)
        self.slow = self.I(talib.SMA, self.data.Close, 30)

    def next(self) -> None:
        if _pine_crossover(self.fast, self.slow) and not self.position:
            self.buy(size=QTY)
        elif _pine_crossover(self.slow, self.fast) and self.position:
            self.position.close()


def comparison_config() -> RiskConfig:
    bundled = load_bundled_risk_config()
    off = {
        "atr_stop": 0,
        "min_atr": 0,
        "max_atr": 0,
        "losing_streak_limit": None,
        "daily_loss_limit_pct": None,
        "max_drawdown_pct": None,
        # Market orders without exits, as backtesting.py's; its fills at the next open are what queueing a
        # daily close alert for the open does live.
        "stop_required": False,
        "outside_hours": "queue",
        "entry_order": "market",  # backtesting.py's market orders: no collar
    }
    return RiskConfig(version=1, default=bundled.default, strategies={SmaCrossSimple.name: off})


def reference_trades(series: BarSeries) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "Open": series.open,
            "High": series.high,
            "Low": series.low,
            "Close": series.close,
            "Volume": series.volume,
        },
        index=pd.DatetimeIndex([pd.Timestamp(d) for d in series.dates]),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # backtesting.py warns about its own defaults (e.g. finalize_trades)
        bt = Backtest(frame, ReferenceSmaCross, cash=100_000, commission=COMMISSION, trade_on_close=False)
        stats = bt.run()
    return stats["_trades"]


@pytest.mark.parametrize(
    ("ticker", "start", "end"),
    [
        ("AAPL", date(2003, 3, 1), date(2013, 3, 1)),
        ("IBM", date(2000, 3, 1), date(2013, 3, 1)),
        ("GOOG", date(2004, 8, 19), date(2013, 3, 1)),
    ],
)
def test_sma_cross_when_run_by_both_then_same_trades_and_returns(ticker: str, start: date, end: date) -> None:
    series = bundled_bars(ticker, start, end)
    spec = BacktestSpec(costs=Costs(slippage_bps=Decimal(0), commission_bps=Decimal(10)))

    ours = run_backtest([series], SmaCrossSimple(fixed_contracts=Decimal(QTY)), comparison_config(), spec)
    theirs = reference_trades(series)

    assert ours.rejected == []  # nothing the reference cannot do was refused
    trades = match_trades(ours.fills).trades
    assert len(trades) == len(theirs) > 20
    assert [session_day(t.entry_at) for t in trades] == [d.date() for d in theirs["EntryTime"]]
    assert [session_day(t.exit_at) for t in trades] == [d.date() for d in theirs["ExitTime"]]
    assert [int(t.qty) for t in trades] == [int(s) for s in theirs["Size"]]
    for trade, reference in zip(trades, theirs["ReturnPct"], strict=True):
        assert abs(float(trade.return_pct) - reference) <= RETURN_TOLERANCE
    assert abs(float(sum(t.pnl for t in trades)) - float(theirs["PnL"].sum())) <= PNL_TOLERANCE

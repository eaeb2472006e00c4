"""Python ports of the shipped Pine strategies: bars in, the alerts TradingView would send out.

A strategy only knows what TradingView knows: the bars and its own simulated position (Pine's
`strategy.position_size`, kept by TradingView's broker emulator), never what tradepipe did with its alerts.
So alerts are a pure function of the bars and the inputs, and the backtest can compute them up front.

`SmaCross` is `tradingview/strategy_v6_sma_cross.pine` (and v5): SMA(fast) crossing over SMA(slow) enters
long when flat and the risk-sized quantity is at least one share; a cross under closes the long. The entry
carries a stop `stopPct` below the close and a target `rewardR` times that distance above it (both rounded
to the tick); TradingView simulates them as a bracket that sends no alert (`disable_alert = true`), the
broker holds the real bracket. `process_orders_on_close = true`: orders fill, and alert, at the signal bar's
close, timed `timenow`, which on a daily chart is the session's close.

TradingView's emulator fills the bracket within a later bar on its assumed intrabar path: when the high is
closer to the open than the low, open -> high -> low -> close, else open -> low -> high -> close; a bar that
opens through a level fills there at the open. The port follows that rule so it goes flat (and may enter
again) on the same bars TradingView would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo

import numpy as np
import talib

from tradepipe.analytics.backtest import pine
from tradepipe.analytics.backtest.bars import BarSeries

_NEW_YORK = ZoneInfo("America/New_York")
_SESSION_CLOSE = time(16, 0)


def session_close(day: date) -> datetime:
    """16:00 New York on `day`, in UTC: when a daily bar's close alert fires."""
    return datetime.combine(day, _SESSION_CLOSE, _NEW_YORK).astimezone(UTC)


@dataclass(frozen=True)
class StrategyAlert:
    """One alert as sent: the bar it fired on and the raw body (bytes, as the webhook receives them)."""

    ticker: str
    bar_index: int
    day: date
    at: datetime
    kind: str  # entry | exit (for reading only: the pipeline decides from the body)
    body: bytes


@dataclass(frozen=True)
class SmaCrossInputs:
    """The Pine script's inputs, with its defaults."""

    fast_length: int = 10
    slow_length: int = 30
    risk_amount: Decimal = Decimal(100)
    stop_pct: Decimal = Decimal("2.0")
    reward_r: Decimal = Decimal("2.0")
    passphrase: str = ""
    trading_mode: str = "Paper"
    strategy_name: str = "sma_cross"
    timeframe: str = "1D"  # timeframe.period of a daily chart in Pine v6


def crossover(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ta.crossover: a > b now and a <= b on the previous bar (False where either is NaN)."""
    out = np.zeros(len(a), dtype=bool)
    with np.errstate(invalid="ignore"):
        out[1:] = (a[1:] > b[1:]) & (a[:-1] <= b[:-1])
    return out


def _bracket_exit(o: float, h: float, lo: float, stop: float, target: float) -> float | None:
    """Where TradingView's emulator closes a long bracket within this bar, or None (see module doc)."""
    if o <= stop:
        return o
    if o >= target:
        return o
    down_first = abs(h - o) >= abs(lo - o)  # high farther from the open than the low: low first
    for level in (stop, target) if down_first else (target, stop):
        if (level == stop and lo <= stop) or (level == target and h >= target):
            return level
    return None


class SmaCross:
    """The SMA-cross strategy; `alerts(series)` replays TradingView over the bars."""

    name = "sma_cross"
    entry_template = pine.ENTRY_TEMPLATE

    def __init__(self, inputs: SmaCrossInputs | None = None) -> None:
        self.inputs = inputs or SmaCrossInputs()

    def indicators(self, series: BarSeries) -> dict[str, np.ndarray]:
        i = self.inputs
        return {
            "fast": talib.SMA(series.close, timeperiod=i.fast_length),
            "slow": talib.SMA(series.close, timeperiod=i.slow_length),
        }

    def alerts(self, series: BarSeries) -> list[StrategyAlert]:
        ind = self.indicators(series)
        fast, slow = ind["fast"], ind["slow"]
        cross_up, cross_down = crossover(fast, slow), crossover(slow, fast)
        out: list[StrategyAlert] = []
        position = Decimal(0)
        stop = target = 0.0
        for k in range(len(series)):
            if position > 0:
                filled = _bracket_exit(series.open[k], series.high[k], series.low[k], stop, target)
                if filled is not None:
                    position = Decimal(0)  # the bracket sends no alert: the broker's own legs act
            close = Decimal(f"{series.close[k]:.4f}")
            if cross_up[k] and position == 0:
                entry = self._entry(series, k, close)
                if entry is not None:
                    alert, position, stop_d, target_d = entry
                    stop, target = float(stop_d), float(target_d)
                    out.append(alert)
            if cross_down[k] and position > 0:
                out.append(self._exit(series, k, close, position))
                position = Decimal(0)
        return out

    def levels(self, close: Decimal) -> tuple[Decimal, Decimal, Decimal]:
        """(stop, target, qty) for an entry at `close`: the script's arithmetic."""
        i = self.inputs
        stop = pine.round_to_mintick(close * (1 - i.stop_pct / 100))
        target = pine.round_to_mintick(close + i.reward_r * (close - stop))
        per_share = close - stop
        qty = (
            (i.risk_amount / per_share).to_integral_value(rounding=ROUND_FLOOR)
            if per_share > 0
            else Decimal(0)
        )
        return stop, target, qty

    def _slots(self, series: BarSeries, k: int, close: Decimal, contracts: Decimal) -> dict[str, str]:
        i = self.inputs
        return {
            "passphrase": pine.json_text(i.passphrase),
            "ticker": pine.json_text(series.ticker),
            "exchange": pine.json_text(series.exchange),
            "contracts": pine.num(contracts),
            "price": pine.num(close),
            "time": pine.iso_time(session_close(series.dates[k])),
            "strategy": pine.json_text(i.strategy_name),
            "timeframe": pine.json_text(i.timeframe),
            "mode": i.trading_mode,
            "risk": pine.num(i.risk_amount),
        }

    def _entry(
        self, series: BarSeries, k: int, close: Decimal
    ) -> tuple[StrategyAlert, Decimal, Decimal, Decimal] | None:
        stop, target, qty = self.levels(close)
        if qty < 1:
            return None
        slots = {**self._slots(series, k, close, qty), "stop": pine.num(stop), "target": pine.num(target)}
        body = pine.render(self.entry_template, slots)
        day = series.dates[k]
        return StrategyAlert(series.ticker, k, day, session_close(day), "entry", body), qty, stop, target

    def _exit(self, series: BarSeries, k: int, close: Decimal, position: Decimal) -> StrategyAlert:
        body = pine.render(pine.EXIT_TEMPLATE, self._slots(series, k, close, position))
        day = series.dates[k]
        return StrategyAlert(series.ticker, k, day, session_close(day), "exit", body)


class SmaCrossSimple(SmaCross):
    """The same crosses without a bracket and with a fixed size: enter `fixed_contracts` shares on a cross
    over, close on a cross under. Not a shipped template; it is the plain SMA cross that an independent
    backtester (backtesting.py) can run with the identical rule, which the tests compare against. Its entry
    is the shipped entry message without riskAmount, stopLoss and takeProfit, so tradepipe sizes it as
    `contracts` (FIXED_QUANTITY)."""

    name = "sma_cross_simple"
    entry_template = (
        '{"passphrase": "%passphrase%", "ticker": "%ticker%", "exchange": "%exchange%", '
        '"action": "buy", "contracts": %contracts%, "positionSize": %contracts%, "marketPosition": "long", '
        '"orderId": "Long", "price": %price%, "time": "%time%", "strategy": "%strategy%", '
        '"timeframe": "%timeframe%", "tradingMode": "%mode%"}'
    )

    def __init__(self, inputs: SmaCrossInputs | None = None, fixed_contracts: Decimal = Decimal(10)) -> None:
        super().__init__(inputs or SmaCrossInputs(strategy_name=self.name))
        self.fixed_contracts = fixed_contracts

    def levels(self, close: Decimal) -> tuple[Decimal, Decimal, Decimal]:
        # No bracket: levels TradingView can never reach, so the emulated position only ends on a cross.
        return Decimal(0), Decimal("1e12"), self.fixed_contracts


STRATEGIES: dict[str, type[SmaCross]] = {SmaCross.name: SmaCross, SmaCrossSimple.name: SmaCrossSimple}


def strategy_named(name: str) -> SmaCross:
    try:
        return STRATEGIES[name]()
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}") from None

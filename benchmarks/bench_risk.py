"""Risk decision time per signal, excluding I/O: the pure engine on a prepared context."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from benchmarks._timing import Timing, measure
from tradepipe.config import load_bundled_risk_config
from tradepipe.domain.alerts.normalize import to_signal
from tradepipe.domain.model import Action, Mode, Side, SizingMode
from tradepipe.domain.risk.context import Account, Asset, Holding, MarketClock, RiskContext, TradingState
from tradepipe.domain.risk.engine import assess

NOW = datetime(2024, 1, 2, 15, 7, tzinfo=UTC)


def run(n: int = 20_000) -> list[Timing]:
    profile = load_bundled_risk_config().profile_for("momentum_breakout")
    ctx = RiskContext(
        account=Account(Decimal(100_000), Decimal(100_500), Decimal(200_000), Decimal(101_000)),
        holdings={t: Holding(Decimal(10), Decimal(2_000)) for t in ("MSFT", "IBM", "GOOG")},
        state=TradingState.ACTIVE,
        clock=MarketClock(True),
        asset=Asset(fractionable=True),
        atr=Decimal("11.9"),
        last_price=Decimal("430.47"),
    )
    base = {
        "action": Action.ENTER,
        "side": Side.BUY,
        "ticker": "AAPL",
        "mode": Mode.PAPER,
        "strategy": "momentum_breakout",
        "timeframe": "5",
        "alert_time": NOW,
        "sizing_mode": SizingMode.RISK_DOLLARS,
        "sizing_value": Decimal(250),
        "entry_price": Decimal("430.47"),
        "stop_loss": Decimal("421.86"),
        "take_profit": None,
    }
    with_stop = to_signal(base)
    atr_stop = to_signal({**base, "stop_loss": None})
    capped = to_signal({**base, "sizing_value": Decimal(25_000)})
    return [
        measure(
            "risk decision: stop given, 2R target derived", lambda: assess(with_stop, ctx, profile, NOW), n
        ),
        measure("risk decision: stop derived from ATR", lambda: assess(atr_stop, ctx, profile, NOW), n),
        measure("risk decision: two caps bite", lambda: assess(capped, ctx, profile, NOW), n),
    ]

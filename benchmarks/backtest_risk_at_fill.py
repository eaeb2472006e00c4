"""The shipped backtest's entries: risk at the fill against the budget they were sized for, with market
entries (before issue 19) and with collared marketable limits (the shipped default).

    .venv/bin/python -m benchmarks.backtest_risk_at_fill

Runs the SMA-cross strategy over the bundled bars (AAPL, GOOG, IBM, MSFT, 2003-03-01 to 2013-03-01: the
shipped backtest test's run) with the bundled risk.toml, once with `entry_order = "market"` forced on every
profile and once as shipped, and prints the entries over their budget (at all, and beyond the tolerance).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

from tradepipe.analytics.backtest.bars import bundled_bars
from tradepipe.analytics.backtest.runner import run_backtest
from tradepipe.analytics.backtest.strategy import SmaCross
from tradepipe.analytics.risk_at_fill import entry_risks, over_budget
from tradepipe.config import load_bundled_risk_config
from tradepipe.domain.model import SignalStatus
from tradepipe.domain.risk.profile import RiskConfig

TICKERS = ("AAPL", "GOOG", "IBM", "MSFT")
START, END = date(2003, 3, 1), date(2013, 3, 1)


def _market_entries(config: RiskConfig) -> RiskConfig:
    default = config.default.model_copy(update={"entry_order": "market"})
    strategies = {name: {**o, "entry_order": "market"} for name, o in config.strategies.items()}
    return RiskConfig(version=1, default=default, strategies=strategies)


def main() -> None:
    series = [bundled_bars(t, START, END) for t in TICKERS]
    shipped = load_bundled_risk_config()
    tolerance = shipped.profile_for("sma_cross").risk_tolerance_pct
    for label, config in (
        ("market entries (before)", _market_entries(shipped)),
        ("collared (after)", shipped),
    ):
        result = run_backtest(series, SmaCross(), config)
        risks = entry_risks(result.intents, result.fills)
        over = over_budget(risks)
        beyond = over_budget(risks, tolerance)
        worst = max((r.over_pct for r in over), default=Decimal(0))
        refused = Counter(
            s.reject_reason
            for s in result.rejected
            if any(h.status is SignalStatus.SIZED for h in s.history)  # sized, refused at the open
        )
        print(
            f"{label:<26} entries filled {len(risks):>3}; over budget {len(over):>3} (worst +{worst:.1f}%); "
            f"beyond the {tolerance}% tolerance {len(beyond):>3}; refused at the open {dict(refused)}"
        )


if __name__ == "__main__":
    main()

"""Risk profiles: one default and per-strategy overrides, in one versioned file validated at deploy and load.

A bad file fails loudly (pydantic raises naming the field): it never silently trades.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Pct = Annotated[Decimal, Field(gt=0, le=100)]
Money = Annotated[Decimal, Field(gt=0)]
Multiple = Annotated[Decimal, Field(ge=0, le=100)]  # 0 turns the rule off (TOML has no null)


class RiskProfile(BaseModel):
    """Every limit is optional (None: not checked) unless it protects the account by default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Caps applied after sizing, each recorded when it bites.
    max_notional_per_position: Money | None = None
    max_equity_pct_per_position: Pct | None = Decimal(20)
    # Alpaca checks a market order's buying power at the price plus a cushion; keep the same cushion.
    buying_power_cushion_pct: Annotated[Decimal, Field(ge=0, le=50)] = Decimal(3)
    max_open_positions: Annotated[int, Field(ge=1)] | None = 10
    max_gross_exposure_pct: Annotated[Decimal, Field(gt=0, le=400)] | None = Decimal(100)
    # Alpaca allows 200 requests a minute per account; orders are a share of that.
    max_orders_per_minute: Annotated[int, Field(ge=1, le=200)] = 60
    # How long an approved entry holds its room before it reaches the broker: past it a crash between the
    # approval and the broker no longer blocks the account (an order resting at the broker holds longer).
    reservation_lease_s: Annotated[int, Field(ge=60, le=86400)] = 900

    # Trading-state switches.
    daily_loss_limit_pct: Pct | None = Decimal(3)  # vs the account's last_equity -> REDUCING
    max_drawdown_pct: Pct | None = Decimal(10)  # vs the equity high-water mark -> HALTED
    losing_streak_limit: Annotated[int, Field(ge=1)] | None = 5  # consecutive losing exits -> REDUCING

    # Per-symbol rules.
    allow_symbols: frozenset[str] | None = None  # None: any symbol not denied
    deny_symbols: frozenset[str] = frozenset()
    cooldown_after_exit_s: Annotated[int, Field(ge=0)] = 0
    cooldown_after_stop_s: Annotated[int, Field(ge=0)] = 900
    one_entry_per_bar: bool = True

    # An entry the executor cannot send within this many seconds of its sizing is rejected STALE_AT_SUBMIT
    # (60 s: the same freshness the intake demands of an alert, max_alert_lag_s). Exits are never dropped.
    max_intent_age_s: Annotated[int, Field(ge=1, le=86400)] = 60

    # Entries within their risk (issue 19, domain/collar.py). A market entry is sent as a marketable limit at
    # the alert price +/- the collar: collar_atr_fraction x ATR when ATR is known, else collar_bps of the
    # price (0.05 ATR: a stop is at least min_atr = 0.5 ATR away, so the collar costs at most 10% of the
    # risk; 10 bp without ATR). The executor re-sizes it against the latest quote; a limit not filled
    # within entry_timeout_s is cancelled (ENTRY_NOT_FILLED); the risk at the fill may exceed the budget by
    # risk_tolerance_pct at most (else RISK_OVER_BUDGET is recorded and announced). "market" sends market
    # entries as before (no collar, no re-sizing).
    entry_order: Literal["marketable_limit", "market"] = "marketable_limit"
    collar_bps: Annotated[Decimal, Field(ge=0, le=1000)] = Decimal(10)
    collar_atr_fraction: Annotated[Decimal, Field(ge=0, le=5)] | None = Decimal("0.05")  # 0: bps only
    entry_timeout_s: Annotated[int, Field(ge=1, le=86400)] = 30
    risk_tolerance_pct: Annotated[Decimal, Field(ge=0, le=100)] = Decimal(10)

    # Market clock: outside regular hours an entry is queued to the next open or rejected.
    outside_hours: Literal["queue", "reject"] = "reject"

    # Sizing.
    fractional: bool = False  # fractional shares for fractionable assets, day orders, no bracket
    risk_percent_default: Pct | None = None  # used by the risk_percent sizing mode when the alert gives none

    # Stops. Every entry has one before it is sent (from the alert, else entry -/+ atr_stop x ATR) unless
    # the profile opts out; a stop farther than max_stop_pct from the entry is refused. 20%: past a normal
    # equity stop (a few ATR), short of what only a typo, a gap or an ATR from the wrong bars produces.
    stop_required: bool = True
    max_stop_pct: Annotated[Decimal, Field(gt=0, lt=100)] | None = Decimal(20)

    # ATR (TA-Lib, on bars of the alert's timeframe) stop checks and derived exits.
    atr_period: Annotated[int, Field(ge=2, le=200)] = 14
    min_atr: Multiple | None = Decimal("0.5")  # a stop closer than min_atr x ATR is noise
    max_atr: Multiple | None = Decimal(5)  # a stop farther than max_atr x ATR is a typo or a gap
    atr_stop: Multiple | None = Decimal(2)  # an alert without a stop gets entry -/+ atr_stop x ATR
    reward_risk: Multiple | None = None  # when set, a missing take-profit is placed at reward_risk x risk

    # Live trading for this strategy: also needs the stage switch and the live secret.
    live_trading_enabled: bool = False

    @model_validator(mode="after")
    def _coherent(self) -> RiskProfile:
        if self.min_atr and self.max_atr and self.min_atr >= self.max_atr:
            raise ValueError(f"min_atr ({self.min_atr}) must be below max_atr ({self.max_atr})")
        if self.allow_symbols is not None and self.allow_symbols & self.deny_symbols:
            raise ValueError(
                f"symbols both allowed and denied: {sorted(self.allow_symbols & self.deny_symbols)}"
            )
        return self


class RiskConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1]
    default: RiskProfile
    strategies: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _overrides_valid(self) -> RiskConfig:
        for name in self.strategies:
            self.profile_for(name)  # each merged profile must validate on its own
        return self

    def profile_for(self, strategy: str) -> RiskProfile:
        overrides = self.strategies.get(strategy)
        if not overrides:
            return self.default
        return RiskProfile.model_validate({**self.default.model_dump(), **overrides})


def load_risk_config(text: str) -> RiskConfig:
    """Parse and validate the TOML risk file; raises ValueError (pydantic's, naming the field) if bad."""
    return RiskConfig.model_validate(tomllib.loads(text))

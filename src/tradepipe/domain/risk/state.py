"""Trading states and what switches them. A manual HALTED is only lifted by a manual resume."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradepipe.domain.risk.context import Account, TradingState
from tradepipe.domain.risk.profile import RiskProfile

_HUNDRED = Decimal(100)
_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


@dataclass(frozen=True)
class StateSwitch:
    """A state change with the rule that caused it and the numbers behind it."""

    to: TradingState
    rule: str  # daily_loss_limit | max_drawdown | losing_streak | manual
    detail: str


def breached(account: Account, losing_streak: int, profile: RiskProfile) -> StateSwitch | None:
    """The most severe automatic switch the account's numbers call for, if any."""
    if profile.max_drawdown_pct is not None and account.high_water_mark > 0:
        drawdown = (account.high_water_mark - account.equity) / account.high_water_mark * _HUNDRED
        if drawdown >= profile.max_drawdown_pct:
            return StateSwitch(
                TradingState.HALTED,
                "max_drawdown",
                f"drawdown {drawdown:.2f}% from high-water mark {account.high_water_mark} "
                f">= {profile.max_drawdown_pct}%",
            )
    if profile.daily_loss_limit_pct is not None and account.last_equity > 0:
        loss = (account.last_equity - account.equity) / account.last_equity * _HUNDRED
        if loss >= profile.daily_loss_limit_pct:
            return StateSwitch(
                TradingState.REDUCING,
                "daily_loss_limit",
                f"daily loss {loss:.2f}% vs last_equity {account.last_equity} "
                f">= {profile.daily_loss_limit_pct}%",
            )
    if profile.losing_streak_limit is not None and losing_streak >= profile.losing_streak_limit:
        return StateSwitch(
            TradingState.REDUCING,
            "losing_streak",
            f"{losing_streak} losing exits in a row >= {profile.losing_streak_limit}",
        )
    return None


def next_state(
    current: TradingState, account: Account, losing_streak: int, profile: RiskProfile
) -> StateSwitch | None:
    """Automatic rules only tighten: they never lift a state (a HALTED or REDUCING set by a rule or by hand
    stays until `tradepipe resume`)."""
    switch = breached(account, losing_streak, profile)
    if switch is not None and _SEVERITY[switch.to] > _SEVERITY[current]:
        return switch
    return None


def manual(to: TradingState, who: str, why: str) -> StateSwitch:
    return StateSwitch(to, "manual", f"{who}: {why}" if why else who)

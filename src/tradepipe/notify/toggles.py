"""Which events reach the trader: one switch per kind, with the defaults a trader expects.

On by default: fills, rejections (intake, risk and broker), trading-state switches, protection (a position
without full stop cover, and its re-arming), dead letters, divergences, a silent pipeline and the
single-machine runtime's alarms (its only pager). Off: duplicate
alerts (TradingView resends; nothing happened) and caps that shrank an order (the fill message shows the
quantity, and the trail keeps the cap). `TRADEPIPE_NOTIFY_EVENTS='{"duplicates": true}'` changes one; an
unknown name fails at start, so a typo never silently mutes a channel.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from tradepipe.domain.model import RejectReason

# The events are imported when a switch is first looked up, not with Settings (which holds the switches):
# the webhook's cold start reads settings and, on its accepted alerts, never looks one up.
if TYPE_CHECKING:
    from tradepipe.contracts.events import DomainEvent

RejectionKind = Literal["intake", "risk", "broker"]

_INTAKE = frozenset({RejectReason.INVALID_ALERT, RejectReason.STALE_ALERT, RejectReason.SOURCE_NOT_ALLOWED})
# Refused at the executor: Alpaca's own rejection, an order that breaks Alpaca's rules, live switched off.
_BROKER = frozenset(
    {RejectReason.BROKER_REJECTED, RejectReason.ORDER_INVALID, RejectReason.LIVE_TRADING_DISABLED}
)


class NotifyToggles(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_filled: bool = True
    exit_filled: bool = True
    intake_rejections: bool = True
    risk_rejections: bool = True
    broker_rejections: bool = True
    duplicates: bool = False
    state_switches: bool = True
    risk_caps: bool = False
    protection: bool = True
    dead_letters: bool = True
    divergence: bool = True
    silence: bool = True
    alarms: bool = True

    def wants(self, event: DomainEvent) -> bool:
        return bool(getattr(self, toggle_for(event)))


def rejection_kind(reason: RejectReason) -> RejectionKind:
    if reason in _INTAKE:
        return "intake"
    if reason in _BROKER:
        return "broker"
    return "risk"


@cache
def _toggles() -> dict[type[DomainEvent], str]:
    from tradepipe.contracts.events import (
        AlarmStateChanged,
        EntryFilled,
        ExitFilled,
        MessageDeadLettered,
        PipelineSilent,
        PositionDivergence,
        PositionRearmed,
        PositionUnprotected,
        RiskCapApplied,
        SignalDuplicate,
        TradingStateChanged,
    )

    return {
        EntryFilled: "entry_filled",
        ExitFilled: "exit_filled",
        SignalDuplicate: "duplicates",
        TradingStateChanged: "state_switches",
        RiskCapApplied: "risk_caps",
        PositionUnprotected: "protection",
        PositionRearmed: "protection",
        MessageDeadLettered: "dead_letters",
        PositionDivergence: "divergence",
        PipelineSilent: "silence",
        AlarmStateChanged: "alarms",
    }


def toggle_for(event: DomainEvent) -> str:
    """The name of the switch that governs `event`."""
    from tradepipe.contracts.events import SignalRejected

    if isinstance(event, SignalRejected):
        return f"{rejection_kind(event.reason)}_rejections"
    return _toggles()[type(event)]

"""The webhook's limits a backtest applies: its alerts go through the unchanged `app.intake.accept_alert` and
`app.assess.assess_signal` (runner.py) on in-memory adapters, so every decision is the live one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IntakeLimits:
    """The webhook's staleness window (Settings.max_alert_lag_s / max_alert_lead_s)."""

    max_lag_s: int = 60
    max_lead_s: int = 30

"""An alert's way through tradepipe's pure decisions, exactly as the webhook and the risk function take it.

The webhook (`app/intake.py::accept_alert`): decode the raw body, split the passphrase off, parse into a
`Signal`, check freshness, drop repeats by `signal_id`. The risk function (`app/assess.py::assess_signal`):
live mode needs live trading switched on for the strategy, then `domain.risk.engine.assess` with the
strategy's profile from the same `RiskConfig`. The I/O around them (tables, queues, the passphrase check
against Secrets Manager) is what the backtest replaces; every decision is the domain's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tradepipe.domain.model import Mode, Rejected, RejectReason, Signal
from tradepipe.domain.parsing import BodyNotUnderstood, decode_body, parse_alert, split_secret
from tradepipe.domain.risk.context import RiskContext
from tradepipe.domain.risk.engine import Assessment, assess
from tradepipe.domain.risk.profile import RiskProfile
from tradepipe.domain.staleness import check_freshness


@dataclass(frozen=True)
class IntakeLimits:
    """The webhook's staleness window (Settings.max_alert_lag_s / max_alert_lead_s)."""

    max_lag_s: int = 60
    max_lead_s: int = 30


def receive(raw_body: bytes, now: datetime, limits: IntakeLimits) -> Signal | Rejected:
    """The webhook's checks on one body; what it would record REJECTED comes back as a Rejected."""
    try:
        decoded, _encoding = decode_body(raw_body)
    except BodyNotUnderstood as exc:
        # Live answers 400 and records nothing; a backtest counts it under the closest code.
        return Rejected(RejectReason.INVALID_ALERT, f"body not understood: {exc}")
    _secret, body = split_secret(decoded)
    parsed = parse_alert(body)
    if isinstance(parsed, list):
        return Rejected(RejectReason.INVALID_ALERT, "; ".join(f"{e.field}: {e.message}" for e in parsed))
    stale = check_freshness(parsed.alert_time, now, limits.max_lag_s, limits.max_lead_s)
    return stale if stale is not None else parsed


def decide(signal: Signal, ctx: RiskContext, profile: RiskProfile, now: datetime) -> Assessment:
    """The risk function's decision for a signal, given the gathered context."""
    if signal.mode is Mode.LIVE and not profile.live_trading_enabled:
        return Assessment(
            Rejected(
                RejectReason.LIVE_TRADING_DISABLED,
                f"mode={signal.mode} is not enabled for strategy {signal.strategy} "
                "(needs live_trading_enabled for the stage and the strategy, and live credentials)",
            )
        )
    return assess(signal, ctx, profile, now)

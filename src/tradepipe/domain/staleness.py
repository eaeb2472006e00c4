"""Stale or future alerts: a delayed alert must not trade on an old price."""

from __future__ import annotations

from datetime import datetime

from tradepipe.domain.model import Rejected, RejectReason


def check_freshness(
    alert_time: datetime | None, now: datetime, max_lag_s: int, max_lead_s: int
) -> Rejected | None:
    """None when fresh, or when the alert carried no time (nothing to judge it by)."""
    if alert_time is None:
        return None
    age = (now - alert_time).total_seconds()
    if age > max_lag_s:
        return Rejected(RejectReason.STALE_ALERT, f"alert is {age:.0f} s old; the limit is {max_lag_s} s")
    if -age > max_lead_s:
        return Rejected(
            RejectReason.STALE_ALERT, f"alert is {-age:.0f} s in the future; the limit is {max_lead_s} s"
        )
    return None

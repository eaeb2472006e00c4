"""Stale or future alerts, and entries that waited too long to be sent: a delayed alert must not trade on an
old price."""

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


def check_intent_age(is_entry: bool, sized_at: datetime, now: datetime, max_age_s: int) -> Rejected | None:
    """At submit: an entry decided more than `max_age_s` ago (a message that failed and came back minutes
    later, a queue backed up behind the request budget) is rejected. Exits, closes and cancels go whatever
    their age: dropping one would leave the position it was meant to close."""
    if not is_entry:
        return None
    age = (now - sized_at).total_seconds()
    if age > max_age_s:
        return Rejected(
            RejectReason.STALE_AT_SUBMIT,
            f"entry was sized {age:.0f} s before submit; the limit is {max_age_s} s",
        )
    return None

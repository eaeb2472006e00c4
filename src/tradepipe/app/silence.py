"""watch_silence: the minute schedule's check that alerts still arrive (`domain/silence.py` decides).

If TradingView stops sending, or the webhook breaks before recording anything, nothing else in the pipeline
notices: no alert, no record, no error. Every minute (the risk function's schedule on AWS, the workers'
schedule on one machine) this reads the newest recorded alert (any outcome: a rejected alert still proves
the path works) and the broker's calendar for the last week, and announces `PipelineSilent` once the
market has been open `threshold_minutes` since that alert.

Once per silent stretch, not once a minute: the stretch's key (its last alert and the threshold) is noted
in the risk-state table (`NoticeLedger`) before announcing, so a new Lambda container or a restarted
runtime does not announce it again. With no alert in the week in view the stretch is "no alert in view",
announced at most once per `NOTICE_KEEP`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tradepipe.app.notices import announce
from tradepipe.contracts.events import PipelineSilent
from tradepipe.domain.silence import check_silence
from tradepipe.ports.broker import BrokerUnavailable
from tradepipe.ports.calendar import MarketCalendar
from tradepipe.ports.clock import Clock
from tradepipe.ports.messaging import EventPublisher
from tradepipe.ports.risk_state import NoticeLedger
from tradepipe.ports.stores import SignalFeed, SignalFilter

log = logging.getLogger(__name__)

# The calendar and the feed in view: a week holds at least three sessions even around the longest NYSE
# closures of this century (four weekdays after Hurricane Sandy, 2012), so a threshold of a session or two
# always fits in it.
LOOKBACK = timedelta(days=7)
NOTICE_KEEP = timedelta(days=7)  # how long a stretch's notice is remembered: "no alert in view" once a week
_MAX_READS_PER_DAY = 2  # a day's newest alert is the first item of its partition: one query, two at most


@dataclass(frozen=True)
class SilenceDeps:
    feed: SignalFeed
    calendar: MarketCalendar | None  # None: no broker credentials yet, so no calendar: nothing to judge
    notices: NoticeLedger
    events: EventPublisher
    clock: Clock
    threshold_minutes: int  # 0: switched off


def watch_silence(deps: SilenceDeps) -> PipelineSilent | None:
    """The notice announced this minute, if any."""
    if deps.threshold_minutes <= 0 or deps.calendar is None:
        return None
    now = deps.clock.now()
    since = now - LOOKBACK
    try:
        # UTC dates with a day's margin cover New York's (the calendar's) for any time of day.
        sessions = deps.calendar.sessions((since - timedelta(days=1)).date(), now.date())
    except BrokerUnavailable as exc:
        log.warning("market calendar unavailable; silence not judged this minute", extra={"error": str(exc)})
        return None
    silence = check_silence(last_alert_at(deps.feed, since, now), now, sessions, deps.threshold_minutes)
    if silence is None:
        return None
    notice = PipelineSilent(
        at=now,
        last_alert_at=silence.since,
        threshold_minutes=deps.threshold_minutes,
        silent_minutes=silence.market_minutes,
    )
    if not deps.notices.first_notice(notice.event_key(), now, NOTICE_KEEP):
        return None  # this stretch was announced already
    log.warning(
        "pipeline silent", extra={"silent_minutes": silence.market_minutes, "last_alert_at": silence.since}
    )
    announce(deps.events, notice)
    return notice


def last_alert_at(feed: SignalFeed, since: datetime, now: datetime) -> datetime | None:
    """When the newest alert still in the feed and received after `since` arrived; None if there is none."""
    day = now.astimezone(UTC).date()
    while day >= since.astimezone(UTC).date():
        found = feed.newest_first(
            day.isoformat(), SignalFilter(), since=since, after=None, limit=1, max_reads=_MAX_READS_PER_DAY
        )
        if found.items:
            received = found.items[0].received_at
            return received if received.tzinfo is not None else received.replace(tzinfo=UTC)
        day -= timedelta(days=1)
    return None

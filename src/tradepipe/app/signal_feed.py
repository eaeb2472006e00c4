"""list_signals: the read API's feed, newest first; count_day: today's numbers for the live page.

The feed walks the signals table's day partitions (index by-received-day) from today back to `since` (or
to the oldest day a record can still exist). The page token says where the last page stopped: the day
and the last item handed out. It is opaque to callers and checked on the way back in: a token that does
not decode, names a day in the future, or belongs to another query is a 400, never a 500 or a silent
restart from the top.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tradepipe.contracts.api import DayCounts, SignalPage, SignalQuery, SignalSummary
from tradepipe.contracts.items import SignalItem
from tradepipe.domain.model import TERMINAL_STATUSES, SignalStatus
from tradepipe.ports.clock import Clock
from tradepipe.ports.stores import FeedKey, SignalFeed, SignalFilter

# DynamoDB deletes expired items up to about two days late: look that much further back than the TTL.
TTL_LAG = timedelta(days=2)
# Queries one request may spend (a selective filter over a busy day): the page then comes back short,
# with a token to go on from.
MAX_READS_PER_PAGE = 16


class BadPageToken(ValueError):
    """The page token was not one this API handed out for this query."""


@dataclass(frozen=True)
class FeedDeps:
    feed: SignalFeed
    clock: Clock
    retention_s: int  # how long a signal record lives (its TTL)


class _Token(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1]
    d: date  # the day partition to go on in
    a: str | None = Field(default=None, max_length=40)  # resume after this received_at ...
    i: str | None = Field(default=None, pattern=r"^[0-9a-fx][0-9a-f]{31}$")  # ... and this signal_id
    q: str = Field(pattern=r"^[0-9a-f]{16}$")  # the query it belongs to


def _fingerprint(query: SignalQuery) -> str:
    """Filters and `since`: a token is only good for the query that produced it (the limit may change)."""
    parts = [
        None if query.since is None else query.since.astimezone(UTC).isoformat(),
        query.status,
        query.ticker,
        query.strategy,
        query.mode,
    ]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def encode_token(day: date, after: FeedKey | None, fingerprint: str) -> str:
    token = _Token(
        v=1,
        d=day,
        a=None if after is None else after.received_at,
        i=None if after is None else after.signal_id,
        q=fingerprint,
    )
    raw = token.model_dump_json(exclude_none=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(text: str, fingerprint: str, today: date) -> tuple[date, FeedKey | None]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        token = _Token.model_validate_json(raw)
    except (binascii.Error, ValueError, ValidationError) as exc:
        raise BadPageToken("page_token is not a token this API issued") from exc
    if token.q != fingerprint:
        raise BadPageToken("page_token belongs to another query: keep since and the filters unchanged")
    if token.d > today:
        raise BadPageToken("page_token names a day in the future")
    if (token.a is None) != (token.i is None):
        raise BadPageToken("page_token is not a token this API issued")
    if token.a is None or token.i is None:
        return token.d, None
    try:
        at = datetime.fromisoformat(token.a)
    except ValueError as exc:
        raise BadPageToken("page_token is not a token this API issued") from exc
    # Only the canonical form the store writes (UTC ISO) on the token's own day.
    if at.tzinfo is None or at.astimezone(UTC).isoformat() != token.a or at.date() != token.d:
        raise BadPageToken("page_token is not a token this API issued")
    return token.d, FeedKey(received_at=token.a, signal_id=token.i)


def list_signals(query: SignalQuery, deps: FeedDeps) -> SignalPage:
    """One page of the feed, newest first. Raises BadPageToken."""
    now = deps.clock.now().astimezone(UTC)
    today = now.date()
    oldest = (now - timedelta(seconds=deps.retention_s) - TTL_LAG).date()
    if query.since is not None:
        oldest = max(oldest, query.since.astimezone(UTC).date())
    fingerprint = _fingerprint(query)
    day, after = today, None
    if query.page_token:
        day, after = decode_token(query.page_token, fingerprint, today)
    filters = SignalFilter(query.status, query.ticker, query.strategy, query.mode)
    items: list[SignalItem] = []
    reads = 0
    while day >= oldest:
        found = deps.feed.newest_first(
            day.isoformat(),
            filters,
            since=query.since,
            after=after,
            limit=query.limit - len(items),
            max_reads=MAX_READS_PER_PAGE - reads,
        )
        items += found.items
        reads += found.reads
        if found.resume_after is not None:
            return _page(items, encode_token(day, found.resume_after, fingerprint))
        day, after = day - timedelta(days=1), None
        if len(items) >= query.limit or reads >= MAX_READS_PER_PAGE:
            return _page(items, encode_token(day, None, fingerprint) if day >= oldest else None)
    return _page(items, None)


def _page(items: list[SignalItem], next_token: str | None) -> SignalPage:
    return SignalPage(items=[SignalSummary.from_item(i) for i in items], next_token=next_token)


def count_day(feed: SignalFeed, now: datetime, duplicates: int | None) -> DayCounts:
    """Today's (UTC) signals by outcome, and the last hour per minute by status. Reads the whole day
    partition: meant for the local page, not for a hot path."""
    now = now.astimezone(UTC)
    day = now.date().isoformat()
    items: list[SignalItem] = []
    after: FeedKey | None = None
    while True:
        found = feed.newest_first(day, SignalFilter(), since=None, after=after, limit=500, max_reads=20)
        items += found.items
        if found.resume_after is None:
            break
        after = found.resume_after
    statuses = Counter(i.status for i in items)
    per_minute: dict[str, Counter[str]] = defaultdict(Counter)
    hour_ago = now - timedelta(hours=1)
    for item in items:
        if item.received_at >= hour_ago:
            per_minute[item.received_at.astimezone(UTC).strftime("%H:%M")][item.status.value] += 1
    return DayCounts(
        day=day,
        received=len(items),
        accepted=sum(1 for i in items if any(h.status is SignalStatus.ENQUEUED for h in i.history)),
        duplicates=duplicates,
        rejected=dict(
            Counter(i.reject_reason or "?" for i in items if i.status is SignalStatus.REJECTED).most_common()
        ),
        filled=statuses[SignalStatus.FILLED],
        open=sum(n for s, n in statuses.items() if s not in TERMINAL_STATUSES),
        per_minute={minute: dict(counts) for minute, counts in sorted(per_minute.items())},
    )

"""The read API's contracts and use case without AWS: query validation, the page token, the day walk,
today's counts; the local-only rule for the read routes and the page; `tradepipe signals --tail`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tradepipe.adapters.memory import FixedClock
from tradepipe.app.signal_feed import (
    BadPageToken,
    FeedDeps,
    count_day,
    decode_token,
    encode_token,
    list_signals,
)
from tradepipe.cli.signals import render_signal_row, tail
from tradepipe.contracts.api import SignalQuery
from tradepipe.contracts.items import SignalItem, StatusEntry
from tradepipe.domain.model import Mode, SignalStatus
from tradepipe.ports.stores import DaySlice, FeedKey, SignalFilter

NOW = datetime(2024, 3, 6, 14, 30, tzinfo=UTC)


def _item(
    n: int, at: datetime, status: SignalStatus, *history: SignalStatus, reason: str | None = None
) -> SignalItem:
    return SignalItem(
        signal_id=f"{n:032x}",
        status=status,
        received_at=at,
        updated_at=at,
        expires_at=0,
        history=[StatusEntry(status=s, at=at) for s in (SignalStatus.RECEIVED, *history, status)],
        reject_reason=reason,
    )


class DayFeed:
    """A SignalFeed over fixed day lists (newest first); remembers which days were read."""

    def __init__(self, days: dict[str, list[SignalItem]] | None = None) -> None:
        self.days = days or {}
        self.read: list[str] = []

    def newest_first(
        self,
        day: str,
        filters: SignalFilter,
        *,
        since: datetime | None,
        after: FeedKey | None,
        limit: int,
        max_reads: int,
    ) -> DaySlice:
        self.read.append(day)
        items = [i for i in self.days.get(day, []) if since is None or i.received_at >= since]
        if after is not None:
            items = [i for i in items if i.received_at.isoformat() < after.received_at]
        page = items[:limit]
        more = len(items) > limit
        last = page[-1] if more else None
        return DaySlice(
            page, None if last is None else FeedKey(last.received_at.isoformat(), last.signal_id), 1
        )


# --- the query ----------------------------------------------------------------------------------------


def test_query_when_case_and_empties_vary_then_normalized() -> None:
    query = SignalQuery.model_validate(
        {"status": "filled", "mode": "PAPER", "ticker": " msft ", "strategy": "", "limit": ""}
    )

    assert (query.status, query.mode, query.ticker, query.strategy) == (
        SignalStatus.FILLED,
        Mode.PAPER,
        "MSFT",
        None,
    )
    assert query.limit == 50


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"limit": "201"}, "limit", id="limit-over-200"),
        pytest.param({"since": "yesterday"}, "since", id="since-not-a-time"),
        pytest.param({"strategy": "a b"}, "strategy", id="strategy-with-space"),
        pytest.param({"page_token": "x" * 3000}, "page_token", id="token-too-long"),
        pytest.param({"order": "asc"}, "order", id="unknown-parameter"),
    ],
)
def test_query_when_invalid_then_error_names_the_field(params: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SignalQuery.model_validate(params)

    assert field in {str(e["loc"][0]) for e in caught.value.errors()}


# --- the token ------------------------------------------------------------------------------------------


def test_token_round_trips_day_and_position() -> None:
    after = FeedKey("2024-03-06T14:00:00+00:00", "a" * 32)

    token = encode_token(NOW.date(), after, "0123456789abcdef")

    assert decode_token(token, "0123456789abcdef", NOW.date()) == (NOW.date(), after)
    assert "2024" not in token  # opaque: callers pass it back, they do not build it


@given(st.text(max_size=200))
def test_token_when_anything_else_then_bad_page_token_never_another_error(text: str) -> None:
    with pytest.raises(BadPageToken):
        decode_token(text, "0123456789abcdef", NOW.date())


# --- the day walk ---------------------------------------------------------------------------------------


def test_list_without_since_then_walks_today_back_through_ttl_and_its_lag_only() -> None:
    feed = DayFeed()

    page = list_signals(SignalQuery(), FeedDeps(feed, FixedClock(NOW), retention_s=7 * 24 * 3600))

    assert (page.items, page.next_token) == ([], None)
    assert feed.read == [(NOW - timedelta(days=d)).date().isoformat() for d in range(10)]  # 7 days + 2 lag


def test_list_with_since_then_stops_at_its_day_and_a_full_page_hands_over_at_a_day_boundary() -> None:
    today, yesterday = NOW.date().isoformat(), (NOW - timedelta(days=1)).date().isoformat()
    feed = DayFeed(
        {
            today: [_item(1, NOW, SignalStatus.FILLED)],
            yesterday: [_item(2, NOW - timedelta(days=1), SignalStatus.FILLED)],
        }
    )
    deps = FeedDeps(feed, FixedClock(NOW), retention_s=7 * 24 * 3600)
    query = SignalQuery(limit=1, since=NOW - timedelta(days=1, hours=1))

    first = list_signals(query, deps)
    second = list_signals(query.model_copy(update={"page_token": first.next_token}), deps)

    assert [i.signal_id for i in first.items + second.items] == [f"{1:032x}", f"{2:032x}"]
    assert second.next_token is None
    assert feed.read == [today, yesterday]


# --- today's counts -------------------------------------------------------------------------------------


def test_count_day_counts_accepted_rejected_by_reason_filled_open_and_the_last_hour_per_minute() -> None:
    E, S, F = SignalStatus.ENQUEUED, SignalStatus.SIZED, SignalStatus.FILLED
    items = [
        _item(1, NOW - timedelta(minutes=1), F, E, S),
        _item(2, NOW - timedelta(minutes=1), SignalStatus.REJECTED, E, reason="TRADING_HALTED"),
        _item(3, NOW - timedelta(minutes=2), SignalStatus.REJECTED, reason="INVALID_ALERT"),  # at intake
        _item(4, NOW - timedelta(minutes=2), S, E),
        _item(5, NOW - timedelta(hours=3), F, E, S),  # today, not in the last hour
    ]
    feed = DayFeed({NOW.date().isoformat(): items})

    counts = count_day(feed, NOW, duplicates=4)

    assert (counts.received, counts.accepted, counts.duplicates, counts.filled, counts.open) == (
        5,
        4,
        4,
        2,
        1,
    )
    assert counts.rejected == {"TRADING_HALTED": 1, "INVALID_ALERT": 1}
    assert counts.per_minute == {"14:28": {"REJECTED": 1, "SIZED": 1}, "14:29": {"FILLED": 1, "REJECTED": 1}}


# --- the terminal ---------------------------------------------------------------------------------------


def _row(n: int, status: str, at: datetime) -> dict[str, Any]:
    return {
        "signal_id": f"{n:032x}",
        "status": status,
        "received_at": at.isoformat(),
        "mode": "paper",
        "side": "BUY",
        "ticker": "MSFT",
        "qty": "3",
        "filled_qty": "3" if status == "FILLED" else None,
        "filled_avg_price": "27.95" if status == "FILLED" else None,
        "reject_reason": None,
        "reject_detail": None,
    }


def test_tail_prints_the_newest_rows_then_new_signals_and_status_changes_once_each() -> None:
    t1, t2, t3 = (datetime.now(UTC) - timedelta(seconds=s) for s in (30, 20, 10))
    answers = iter(
        [
            [_row(2, "ENQUEUED", t2), _row(1, "FILLED", t1)],
            [_row(3, "ENQUEUED", t3), _row(2, "FILLED", t2)],
            [_row(3, "ENQUEUED", t3), _row(2, "FILLED", t2)],
        ]
    )
    asked: list[dict[str, str]] = []

    def fetch(params: dict[str, str]) -> dict[str, Any]:
        asked.append(params)
        return {"items": next(answers), "next_token": None}

    lines: list[str] = []
    args = argparse.Namespace(
        status=None, ticker="MSFT", strategy=None, mode=None, since=None, limit=20, interval=0
    )

    tail(args, fetch, lines.append, sleep=lambda s: None, polls=2)

    shown = [(line.split()[-1][-1], line.split()[-2]) for line in lines[1:]]
    assert shown == [("1", "FILLED"), ("2", "ENQUEUED"), ("2", "FILLED"), ("3", "ENQUEUED")]
    # The first poll re-reads from signal 2, still in flight; the next from 3. The filters stay.
    assert [a.get("since") for a in asked] == [None, t2.isoformat(), t3.isoformat()]
    assert all(a["ticker"] == "MSFT" for a in asked)


def test_render_signal_row_shows_fill_or_reason() -> None:
    at = datetime(2024, 3, 6, 14, 30, 5, tzinfo=UTC)
    filled = render_signal_row(_row(1, "FILLED", at))
    rejected = render_signal_row(
        _row(2, "REJECTED", at) | {"reject_reason": "TRADING_HALTED", "reject_detail": "paper is HALTED"}
    )

    assert filled.startswith("14:30:05  paper  BUY   MSFT    3 @ 27.95")
    assert rejected.endswith(f"REJECTED   {2:032x}  TRADING_HALTED: paper is HALTED")

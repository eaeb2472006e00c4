"""The risk-state table's single-table layout, shared by the DynamoDB store and its in-memory twin.

- trading state: pk `STATE#<account>`, sk `STATE`: state, high_water_mark, losing_streak, changed_at, rule,
  detail, history (the last HISTORY_LIMIT switches), version (optimistic lock for switches)
- symbol history: pk `SYMBOL#<account>#<ticker>#<strategy>`, sk `SYMBOL`: last_exit_at, last_stop_out_at,
  last_entry_bar
- order counter: pk `RATE#<account>#<epoch_minute>`, sk `RATE`: orders (atomic ADD), expires_at (TTL)
- queued entry: pk `QUEUED#<account>`, sk `<ticker>`: signal_id, at
- notice: pk `NOTICE#<key>`, sk `NOTICE`: at, expires_at (TTL): a notice already announced (NoticeLedger)

The queued entries share one partition per account so the open drains them with one Query; every other item
is a single row under its own partition key. Times are stored as UTC ISO strings with microseconds, so
string order is time order (conditions compare them).

The order rate is counted in per-minute buckets: the count "for the last 60 s" is the current minute's
bucket plus the previous one's. It over-counts (up to two minutes of orders), never under-counts: a cap on
it is conservative.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tradepipe.domain.signal_id import strategy_key

DEFAULT_STATE = "ACTIVE"  # a missing STATE# item: nothing has ever switched the account
HISTORY_LIMIT = 50  # switches kept on the STATE# item; the table stream carries every one
RATE_TTL = timedelta(minutes=5)  # counters expire this long after their minute ends

STATE_SK = "STATE"
SYMBOL_SK = "SYMBOL"
RATE_SK = "RATE"
NOTICE_SK = "NOTICE"


@dataclass(frozen=True)
class StateChange:
    """One trading-state switch, as kept in the STATE# item's history."""

    from_state: str
    to_state: str
    rule: str
    detail: str
    at: datetime


def state_pk(account: str) -> str:
    return f"STATE#{account}"


def symbol_pk(account: str, ticker: str, strategy: str) -> str:
    """The strategy as a key (`domain.signal_id.strategy_key`): a display name such as `Long Entry` or
    `A#B` never puts a separator in the key; names that were keys already keep theirs."""
    return f"SYMBOL#{account}#{ticker}#{strategy_key(strategy)}"


def epoch_minute(at: datetime) -> int:
    return int(at.timestamp()) // 60


def rate_pk(account: str, minute: int) -> str:
    return f"RATE#{account}#{minute}"


def rate_expires_at(minute: int) -> int:
    """Epoch seconds for DynamoDB TTL: RATE_TTL after the bucket's minute ends."""
    return (minute + 1) * 60 + int(RATE_TTL.total_seconds())


def queued_pk(account: str) -> str:
    return f"QUEUED#{account}"


def notice_pk(key: str) -> str:
    return f"NOTICE#{key}"


def notice_expires_at(at: datetime, keep_for: timedelta) -> int:
    """Epoch seconds for DynamoDB TTL (and the ledger's own check: TTL deletes up to two days late)."""
    return int((at + keep_for).timestamp())


def stored_time(at: datetime) -> str:
    """UTC, fixed width: lexicographic order is chronological order."""
    if at.tzinfo is None:
        raise ValueError("risk-state times must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(value: object) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))

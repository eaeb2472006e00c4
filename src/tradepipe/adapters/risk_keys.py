"""The risk-state table's single-table layout, shared by the DynamoDB store and its in-memory twin.

- trading state: pk `STATE#<account>`, sk `STATE`: state, high_water_mark, losing_streak, changed_at, rule,
  detail, history (the last HISTORY_LIMIT switches), version (optimistic lock for switches)
- symbol history: pk `SYMBOL#<account>#<ticker>#<strategy>`, sk `SYMBOL`: last_exit_at, last_stop_out_at,
  last_entry_bar
- order counter: pk `RATE#<account>#<epoch_minute>`, sk `RATE`: orders (atomic ADD), expires_at (TTL)
- queued entry: pk `QUEUED#<account>`, sk `<ticker>`: signal_id, at
- request budget: pk `BUDGET#<account>`, sk `BUDGET`: due (epoch seconds, domain/request_budget.py)
- strategy-owned lot: pk `LOTS#<account>#<ticker>`, sk `<strategy>#<lot_id>`: strategy, lot_id, qty (signed),
  entry_price, stop_price, opened_at (domain/lots.py); one Query lists a ticker's lots
- notice: pk `NOTICE#<key>`, sk `NOTICE`: at, expires_at (TTL): a notice already announced (NoticeLedger)
- queued close: pk `QUEUED_CLOSE#<account>`, sk `<ticker>`: signal_id, at (an exit after hours)
- fill cursor: pk `CURSOR#<account>`, sk `FILLS`: after (the newest fill the reconciler has recorded)
- ticker lease: pk `LEASE#<account>#<ticker>`, sk `LEASE`: holder, lease_until (epoch seconds, to the
  millisecond), expires_at (TTL: a lease long expired is swept)
- reservations: pk `RESERVE#<account>`, sk `RESERVE`: reservations (a map: id -> ticker, side, qty,
  entry, reserved_at, expires_at, at_broker, and once set at_broker_since and released_at), order_times
  (the entries reserved in the last minute),
  version (every write bumps it; the reserving write is conditional on the version it read)

The queued entries (and closes) share one partition per account so the open drains them with one Query;
every other item is a single row under its own partition key. Times are stored as UTC ISO strings with
microseconds, so string order is time order (conditions compare them).

The order rate is counted in per-minute buckets: the count "for the last 60 s" is the current minute's
bucket plus the previous one's. It over-counts (up to two minutes of orders), never under-counts: a cap on
it is conservative.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tradepipe.domain.model import Side
from tradepipe.domain.risk.reservations import Book, Reservation
from tradepipe.domain.signal_id import strategy_key

DEFAULT_STATE = "ACTIVE"  # a missing STATE# item: nothing has ever switched the account
HISTORY_LIMIT = 50  # switches kept on the STATE# item; the table stream carries every one
RATE_TTL = timedelta(minutes=5)  # counters expire this long after their minute ends

STATE_SK = "STATE"
SYMBOL_SK = "SYMBOL"
RATE_SK = "RATE"
BUDGET_SK = "BUDGET"
NOTICE_SK = "NOTICE"
LEASE_SK = "LEASE"
FILL_CURSOR_SK = "FILLS"
LEASE_SWEEP_AFTER_S = 3600  # an expired lease is free at once; its item is swept by TTL this much later
RESERVE_SK = "RESERVE"


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


def budget_pk(account: str) -> str:
    return f"BUDGET#{account}"


def lots_pk(account: str, ticker: str) -> str:
    return f"LOTS#{account}#{ticker}"


def lot_sk(strategy: str, lot_id: str) -> str:
    return f"{strategy}#{lot_id}"


def queued_pk(account: str) -> str:
    return f"QUEUED#{account}"


def notice_pk(key: str) -> str:
    return f"NOTICE#{key}"


def notice_expires_at(at: datetime, keep_for: timedelta) -> int:
    """Epoch seconds for DynamoDB TTL (and the ledger's own check: TTL deletes up to two days late)."""
    return int((at + keep_for).timestamp())


def queued_close_pk(account: str) -> str:
    return f"QUEUED_CLOSE#{account}"


def lease_pk(account: str, ticker: str) -> str:
    return f"LEASE#{account}#{ticker}"


def lease_times(now: datetime, ttl_s: float) -> tuple[Decimal, int]:
    """(lease_until to the millisecond, expires_at for the TTL sweep) in epoch seconds."""
    until = Decimal(str(round(now.timestamp() + ttl_s, 3)))
    return until, int(until) + LEASE_SWEEP_AFTER_S


def epoch_now(now: datetime) -> Decimal:
    return Decimal(str(round(now.timestamp(), 3)))


def reserve_pk(account: str) -> str:
    return f"RESERVE#{account}"


def book_attributes(book: Book) -> dict[str, Any]:
    """The book as the RESERVE# item's attributes (numbers as strings: the same text in DynamoDB and in
    SQLite's JSON)."""
    return {
        "reservations": {r.reservation_id: reservation_attributes(r) for r in book.reservations},
        "order_times": [stored_time(t) for t in book.order_times],
    }


def reservation_attributes(r: Reservation) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "ticker": r.ticker,
        "side": r.side.value,
        "qty": str(r.qty),
        "entry": str(r.entry),
        "reserved_at": stored_time(r.reserved_at),
        "expires_at": stored_time(r.expires_at),
        "at_broker": r.at_broker,
    }
    # Written only once set, so a reservation that never has them is stored as before they existed.
    if r.at_broker_since is not None:
        attributes["at_broker_since"] = stored_time(r.at_broker_since)
    if r.released_at is not None:
        attributes["released_at"] = stored_time(r.released_at)
    return attributes


def book_from(item: dict[str, Any] | None) -> Book:
    item = item or {}
    reservations = tuple(
        Reservation(
            reservation_id=str(rid),
            ticker=str(r["ticker"]),
            side=Side(str(r["side"])),
            qty=Decimal(str(r["qty"])),
            entry=Decimal(str(r["entry"])),
            reserved_at=datetime.fromisoformat(str(r["reserved_at"])),
            expires_at=datetime.fromisoformat(str(r["expires_at"])),
            at_broker=bool(r.get("at_broker", False)),
            at_broker_since=_optional_time(r.get("at_broker_since")),
            released_at=_optional_time(r.get("released_at")),
        )
        for rid, r in sorted(
            dict(item.get("reservations") or {}).items(), key=lambda kv: str(kv[1]["reserved_at"])
        )
    )
    times = tuple(datetime.fromisoformat(str(t)) for t in item.get("order_times") or [])
    return Book(reservations, times)


def _optional_time(value: object) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def stored_time(at: datetime) -> str:
    """UTC, fixed width: lexicographic order is chronological order."""
    if at.tzinfo is None:
        raise ValueError("risk-state times must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(value: object) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def fill_cursor_pk(account: str) -> str:
    return f"CURSOR#{account}"

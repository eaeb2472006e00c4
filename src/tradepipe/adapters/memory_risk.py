"""In-memory risk state, market data and event bus, for unit tests and the backtest.

Same semantics as the DynamoDB store (adapters/risk_state.py): a missing account reads as ACTIVE, the
high-water mark only rises, an exit is recorded once per `at`, the order rate is the current plus the
previous minute's bucket, one queued entry (and one queued close) per account#ticker, a lease free once
expired or taken again by its holder. Thread-safe, like the table.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tradepipe.adapters.risk_keys import (
    DEFAULT_STATE,
    HISTORY_LIMIT,
    StateChange,
    epoch_minute,
    notice_expires_at,
)
from tradepipe.domain.model import Rejected
from tradepipe.domain.risk.bars import data_timeframe
from tradepipe.domain.risk.reservations import Book, Granted, at_broker
from tradepipe.domain.silence import MarketSession
from tradepipe.ports.market_data import DailyBar
from tradepipe.ports.quotes import QuoteView
from tradepipe.ports.risk_state import StoredTradingState


@dataclass
class _SymbolRecord:
    last_exit_at: datetime | None = None
    last_stop_out_at: datetime | None = None
    last_entry_bar: datetime | None = None


@dataclass
class _AccountRecord:
    state: StoredTradingState = field(
        default_factory=lambda: StoredTradingState(DEFAULT_STATE, Decimal(0), 0, None, None, None)
    )
    history: list[StateChange] = field(default_factory=list)


class MemoryRiskStateStore:
    def __init__(self) -> None:
        self.reported: dict[tuple[str, str], tuple[Decimal, datetime]] = {}
        self._lock = threading.Lock()
        self._accounts: dict[str, _AccountRecord] = {}
        self._symbols: dict[tuple[str, str, str], _SymbolRecord] = {}
        self._rates: dict[tuple[str, int], int] = {}
        self._queued: dict[str, dict[str, tuple[str, datetime]]] = {}
        self._notices: dict[str, int] = {}  # key -> when its note expires (epoch seconds, as the table's TTL)
        self._queued_closes: dict[str, dict[str, str]] = {}
        self._leases: dict[tuple[str, str], tuple[str, float]] = {}  # -> (holder, until epoch s)
        self._books: dict[str, Book] = {}

    def _account(self, account: str) -> _AccountRecord:
        return self._accounts.setdefault(account, _AccountRecord())

    def trading_state(self, account: str) -> StoredTradingState:
        with self._lock:
            return self._account(account).state

    def trading_state_history(self, account: str) -> list[StateChange]:
        with self._lock:
            return list(self._account(account).history)

    def set_trading_state(
        self, account: str, state: str, rule: str, detail: str, at: datetime
    ) -> StoredTradingState:
        with self._lock:
            record = self._account(account)
            record.history = [*record.history, StateChange(record.state.state, state, rule, detail, at)][
                -HISTORY_LIMIT:
            ]
            record.state = replace(record.state, state=state, changed_at=at, rule=rule, detail=detail)
            return record.state

    def raise_high_water_mark(self, account: str, equity: Decimal) -> Decimal:
        with self._lock:
            record = self._account(account)
            if equity > record.state.high_water_mark:
                record.state = replace(record.state, high_water_mark=equity)
            return record.state.high_water_mark

    def reset_losing_streak(self, account: str) -> None:
        with self._lock:
            record = self._account(account)
            record.state = replace(record.state, losing_streak=0)

    def record_exit(
        self, account: str, ticker: str, strategy: str, at: datetime, stop_out: bool, pnl: Decimal | None
    ) -> int:
        with self._lock:
            record = self._account(account)
            symbol = self._symbols.setdefault((account, ticker, strategy), _SymbolRecord())
            if symbol.last_exit_at is not None and at <= symbol.last_exit_at:
                return record.state.losing_streak  # a redelivered (or older) exit: already counted
            symbol.last_exit_at = at
            if stop_out:
                symbol.last_stop_out_at = at
            if pnl is not None and pnl < 0:
                record.state = replace(record.state, losing_streak=record.state.losing_streak + 1)
            elif pnl is not None and pnl > 0:
                record.state = replace(record.state, losing_streak=0)
            return record.state.losing_streak

    def record_entry(self, account: str, ticker: str, strategy: str, bar_time: datetime) -> None:
        with self._lock:
            self._symbols.setdefault((account, ticker, strategy), _SymbolRecord()).last_entry_bar = bar_time

    def symbol_history(
        self, account: str, ticker: str, strategy: str
    ) -> tuple[datetime | None, datetime | None, datetime | None]:
        with self._lock:
            s = self._symbols.get((account, ticker, strategy), _SymbolRecord())
            return s.last_exit_at, s.last_stop_out_at, s.last_entry_bar

    def count_order(self, account: str, at: datetime) -> int:
        minute = epoch_minute(at)
        with self._lock:
            self._rates[(account, minute)] = self._rates.get((account, minute), 0) + 1
            return self._rates[(account, minute)] + self._rates.get((account, minute - 1), 0)

    def orders_last_minute(self, account: str, at: datetime) -> int:
        minute = epoch_minute(at)
        with self._lock:
            return self._rates.get((account, minute), 0) + self._rates.get((account, minute - 1), 0)

    def report_position(self, account: str, ticker: str, qty: Decimal, at: datetime) -> None:
        with self._lock:
            self.reported[(account, ticker)] = (qty, at)

    def reported_positions(self, account: str) -> dict[str, tuple[Decimal, datetime]]:
        return {t: v for (a, t), v in self.reported.items() if a == account}

    def queue_entry(self, account: str, ticker: str, signal_id: str, at: datetime) -> str | None:
        with self._lock:
            queue = self._queued.setdefault(account, {})
            old = queue.get(ticker)
            queue[ticker] = (signal_id, at)
            return None if old is None or old[0] == signal_id else old[0]

    def take_queued(self, account: str) -> list[tuple[str, str]]:
        with self._lock:
            queue = self._queued.pop(account, {})
            return [(ticker, queue[ticker][0]) for ticker in sorted(queue)]

    def first_notice(self, key: str, at: datetime, keep_for: timedelta) -> bool:
        with self._lock:
            expires = self._notices.get(key)
            if expires is not None and expires > int(at.timestamp()):
                return False
            self._notices[key] = notice_expires_at(at, keep_for)
            return True

    def drop_queued_entry(self, account: str, ticker: str) -> str | None:
        with self._lock:
            old = self._queued.get(account, {}).pop(ticker, None)
            return None if old is None else old[0]

    def queue_close(self, account: str, ticker: str, signal_id: str, at: datetime) -> str:
        with self._lock:
            return self._queued_closes.setdefault(account, {}).setdefault(ticker, signal_id)

    def queued_closes(self, account: str) -> dict[str, str]:
        with self._lock:
            return dict(self._queued_closes.get(account, {}))

    def drop_queued_close(self, account: str, ticker: str, signal_id: str) -> None:
        with self._lock:
            closes = self._queued_closes.get(account, {})
            if closes.get(ticker) == signal_id:
                del closes[ticker]

    def acquire_lease(self, account: str, ticker: str, holder: str, now: datetime, ttl_s: float) -> bool:
        at = now.timestamp()
        with self._lock:
            current = self._leases.get((account, ticker))
            if current is not None and current[0] != holder and current[1] > at:
                return False
            self._leases[(account, ticker)] = (holder, at + ttl_s)
            return True

    def release_lease(self, account: str, ticker: str, holder: str) -> None:
        with self._lock:
            current = self._leases.get((account, ticker))
            if current is not None and current[0] == holder:
                del self._leases[(account, ticker)]

    # --- per account: reservations (one lock: the same atomic step as the table's conditional write) -----

    def reserve(self, account: str, decide: Callable[[Book], Granted | Rejected]) -> Granted | Rejected:
        with self._lock:
            result = decide(self._books.get(account, Book()))
            if isinstance(result, Granted):
                self._books[account] = result.book
            return result

    def release(self, account: str, reservation_id: str, at: datetime) -> bool:
        with self._lock:
            released = self._books.get(account, Book()).released(reservation_id, at)
            if released is None:
                return False
            self._books[account] = released
            return True

    def hold_at_broker(self, account: str, reservation_id: str, until: datetime, at: datetime) -> bool:
        with self._lock:
            moved = at_broker(self._books.get(account, Book()), reservation_id, until, at)
            if moved is None:
                return False
            self._books[account] = moved
            return True

    def book(self, account: str) -> Book:
        with self._lock:
            return self._books.get(account, Book())


class MemoryQuotes:
    """Latest quotes per symbol, set by the test (or the backtest); None for a symbol without one."""

    def __init__(self, quotes: Mapping[str, QuoteView] | None = None) -> None:
        self.quotes: dict[str, QuoteView] = {s.upper(): q for s, q in (quotes or {}).items()}

    def latest_quote(self, symbol: str) -> QuoteView | None:
        return self.quotes.get(symbol.upper())


class MemoryMarketData:
    """Daily bars per symbol (oldest first), and intraday bars per (symbol, TradingView timeframe) when given;
    `daily_bars` and `bars` answer the newest `limit` of them. No intraday bars given: none (as a data feed
    without them would answer), never daily bars passed off as intraday."""

    def __init__(
        self,
        bars: Mapping[str, Sequence[DailyBar]] | None = None,
        intraday: Mapping[tuple[str, str], Sequence[DailyBar]] | None = None,
    ) -> None:
        self._bars: dict[str, list[DailyBar]] = {
            s.upper(): sorted(b, key=lambda x: x.t) for s, b in (bars or {}).items()
        }
        self._intraday: dict[tuple[str, tuple[int, str]], list[DailyBar]] = {
            (s.upper(), data_timeframe(tf)): sorted(b, key=lambda x: x.t)
            for (s, tf), b in (intraday or {}).items()
        }

    def bars(self, symbol: str, timeframe: str, limit: int) -> list[DailyBar]:
        frame = data_timeframe(timeframe)
        if frame == (1, "Day"):
            return self.daily_bars(symbol, limit)
        if limit < 1:
            return []
        return list(self._intraday.get((symbol.upper(), frame), [])[-limit:])

    def daily_bars(self, symbol: str, limit: int) -> list[DailyBar]:
        if limit < 1:
            return []
        return list(self._bars.get(symbol.upper(), [])[-limit:])

    def latest_close(self, symbol: str) -> Decimal | None:
        bars = self.daily_bars(symbol, 1)
        return bars[-1].c if bars else None


class MemoryCalendar:
    """A fixed list of sessions; `sessions` answers those that open on a day in the range."""

    def __init__(self, sessions: Sequence[MarketSession] = ()) -> None:
        self._sessions = sorted(sessions, key=lambda s: s.open)

    def sessions(self, start: date, end: date) -> list[MarketSession]:
        return [s for s in self._sessions if start <= s.open.date() <= end]


@dataclass(frozen=True)
class PublishedEvent:
    detail_type: str
    detail: dict[str, Any]


class MemoryEventPublisher:
    def __init__(self) -> None:
        self.events: list[PublishedEvent] = []

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        self.events.append(PublishedEvent(detail_type, dict(detail)))

    def of_type(self, detail_type: str) -> list[dict[str, Any]]:
        return [e.detail for e in self.events if e.detail_type == detail_type]

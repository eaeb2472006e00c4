"""The paper broker as its callers see it: `PaperBroker`, one method per Alpaca route or admin action.

Thread-safe: every method takes one lock, first runs every lifecycle step the clock has made due
(lifecycle.apply_due), and after the change saves what changed (store.py) before it returns. Methods speak
Alpaca's wire format (dicts ready for JSON) and raise `BrokerError` with Alpaca's status, code and message.
The work is elsewhere: acceptance (rules), book (orders and groups), lifecycle (timed steps), execution
(fills), queries (lists, activities, bars), render (JSON), store (SQLite).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from enum import Enum
from typing import Any

from tradepipe.domain.daily_bar_fills import Bar
from tradepipe.local.paper_broker import acceptance, book, execution, lifecycle, queries
from tradepipe.local.paper_broker.behaviour import BrokerBehaviour
from tradepipe.local.paper_broker.core import BrokerCore
from tradepipe.local.paper_broker.errors import BrokerError, invalid, not_found
from tradepipe.local.paper_broker.execution import Session
from tradepipe.local.paper_broker.faults import ORDER_FAULTS, SUBMIT_FAULTS, Fault, Faults
from tradepipe.local.paper_broker.market_clock import MarketClock, utc_now
from tradepipe.local.paper_broker.market_data import EndOfData, PriceFeed, UnknownSymbol
from tradepipe.local.paper_broker.nyse_calendar import trading_days_ending
from tradepipe.local.paper_broker.order_request import NewOrder, parse_new_order, parse_replacement
from tradepipe.local.paper_broker.pdt import WINDOW_BUSINESS_DAYS, day_trades_in
from tradepipe.local.paper_broker.queries import BarsQuery, OrderQuery
from tradepipe.local.paper_broker.render import (
    Json,
    account_json,
    asset_id,
    asset_json,
    fill_json,
    latest_quote_json,
    num,
    order_json,
    position_json,
    quote_json,
)
from tradepipe.local.paper_broker.rules import RuleSet, held_for_orders
from tradepipe.local.paper_broker.state import (
    RARE_STATUSES,
    ZERO,
    Account,
    BrokerState,
    Event,
    Order,
    OrderClass,
    OrderType,
    Position,
    Side,
    Status,
    TimeInForce,
)
from tradepipe.local.paper_broker.store import BrokerStore, Market, MemoryStore

DEFAULT_CASH = Decimal(100_000)
DEFAULT_MULTIPLIER = Decimal(2)


class _Draw(Enum):
    DRAW = "draw"


DRAW = _Draw.DRAW  # submit_order's default: draw the order's fault from `faults`


class PaperBroker:
    """The engine. Knobs: the `behaviour` (Alpaca-like by default), starting `cash`, margin `multiplier`
    (1 = cash account, 2 = Reg T), `shorting_enabled`, the `feed` (real daily bars, cursor 2013-03-01 by
    default), `faults` (all off), the acceptance `rules` (all on), the clock `now` (the wall clock by
    default; tests pass a ManualClock) and the `store` (memory by default; SqliteStore to persist). A store
    that holds a saved state wins over `cash` and the feed's cursor: a restarted broker resumes."""

    def __init__(
        self,
        feed: PriceFeed | None = None,
        *,
        behaviour: BrokerBehaviour | None = None,
        cash: Decimal = DEFAULT_CASH,
        multiplier: Decimal = DEFAULT_MULTIPLIER,
        shorting_enabled: bool = True,
        faults: Faults | None = None,
        rules: RuleSet | None = None,
        now: Callable[[], datetime] = utc_now,
        store: BrokerStore | None = None,
    ) -> None:
        behaviour = behaviour if behaviour is not None else BrokerBehaviour.alpaca()
        feed = feed if feed is not None else PriceFeed()
        self._lock = threading.RLock()
        self._store: BrokerStore = store if store is not None else MemoryStore()
        self._start = (feed.cursor, cash, multiplier, shorting_enabled, (faults or Faults()).to_json())
        self._core = BrokerCore(
            state=self._fresh_state(cash, now()),
            feed=feed,
            market=MarketClock(always_open=behaviour.always_open, now=now),
            behaviour=behaviour,
            faults=faults if faults is not None else Faults(),
            rules=rules if rules is not None else RuleSet(),
            now=now,
        )
        saved = self._store.load()
        if saved is not None:
            self._core.state = saved.state
            feed.restore(saved.market.cursor, saved.market.overrides)
        with self._locked():
            pass  # due steps (a restart after a pause) and the session closes, saved

    # --- settings ------------------------------------------------------------------------------------

    @property
    def behaviour(self) -> BrokerBehaviour:
        return self._core.behaviour

    @property
    def feed(self) -> PriceFeed:
        return self._core.feed

    @property
    def market_clock(self) -> MarketClock:
        return self._core.market

    @market_clock.setter
    def market_clock(self, clock: MarketClock) -> None:
        """Another market clock (a test's "closed, whatever the hour"); fills keep the engine's own time."""
        with self._lock:
            self._core.market = clock

    @property
    def faults(self) -> Faults:
        return self._core.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        with self._lock:
            self._core.faults = faults

    def set_always_open(self, always_open: bool) -> Json:
        with self._locked() as now:
            core = self._core
            core.behaviour = core.behaviour.but(always_open=always_open)
            core.market = MarketClock(always_open=always_open, now=core.now)
            core.state.next_close = core.state.next_extended_close = None
            lifecycle.arm_session_closes(core, now)
            return core.market.snapshot()

    def close(self) -> None:
        with self._lock:
            self._store.close()

    # --- admin ---------------------------------------------------------------------------------------

    def reset(self, cash: Decimal | None = None, cursor: date | None = None) -> Json:
        """Forget every order, position and fill: back to the starting cash (or `cash`), the feed's starting
        cursor (or `cursor`) and the faults the broker was built with."""
        start_cursor, start_cash, _, _, start_faults = self._start
        with self._lock:
            core = self._core
            core.feed.move_to(cursor or start_cursor)
            core.state = self._fresh_state(start_cash if cash is None else cash, core.now())
            core.faults = Faults.from_json(start_faults)
            core.draws = 0
            core.injected.clear()
            self._store.clear()
        with self._locked():
            return self._dump()

    def set_prices(self, prices: Mapping[str, Decimal]) -> Json:
        """Override current prices and execute whatever the moves trigger in the session open now."""
        with self._locked() as now:
            core = self._core
            upper = {symbol.upper(): price for symbol, price in prices.items()}
            for symbol in upper:
                if not core.feed.has(symbol):
                    raise invalid(f'asset "{symbol}" not found')
            session = execution.session_at(core, now)
            for symbol, price in upper.items():
                core.feed.set_price(symbol, price)
                execution.sweep(core, symbol, Bar.at(price), now, session)
            return self._market_json()

    def advance(self, days: int = 1) -> Json:
        """Move the feed `days` bars on, one market day at a time: day orders expire at each close, waiting
        orders reach the market at the next open, resting orders meet each new bar. All or nothing past the
        end of the data (EndOfData)."""
        if days < 1:
            raise ValueError("days must be >= 1")
        with self._locked() as now:
            core = self._core
            if days > core.feed.days_left:
                raise EndOfData(f"only {core.feed.days_left} more day(s) of bars after {core.feed.cursor}")
            for _ in range(days):
                lifecycle.end_of_market_day(core, now)
                core.feed.advance(1)
                lifecycle.open_market_day(core, now)
                for symbol in core.feed.symbols():
                    bar = core.feed.bar_today(symbol)
                    if bar is not None:
                        execution.sweep(core, symbol, Bar(bar.open, bar.high, bar.low), now, Session.REGULAR)
            return self._market_json()

    def quote(self, symbol: str) -> Json:
        with self._locked() as now:
            return quote_json(symbol.upper(), self._core.quote(symbol.upper()), now)

    def latest_quotes(self, symbols: Iterable[str]) -> Json:
        """`GET /v2/stocks/quotes/latest`: the bid and ask every fill of this broker trades at, as Alpaca's
        market-data API answers them; a symbol without data is left out (as Alpaca leaves it out)."""
        with self._locked() as now:
            found: Json = {}
            for symbol in symbols:
                try:
                    found[symbol.upper()] = latest_quote_json(self._core.quote(symbol.upper()), now)
                except UnknownSymbol:
                    continue
            return {"quotes": found}

    def set_order_status(self, order_id: str, status: str) -> Json:
        """Test hook: park an open order in one of Alpaca's rare statuses, or (`new`) give it back its
        working status."""
        wanted = Status(status)
        if wanted not in RARE_STATUSES | {Status.NEW}:
            raise invalid(f"status must be one of {sorted(s.value for s in RARE_STATUSES)} or new")
        with self._locked() as now:
            order = book.get(self._core, order_id)
            lifecycle.set_rare_status(order, wanted, now)
            return self._render(order, with_legs=True)

    def dump(self) -> Json:
        with self._locked():
            return self._dump()

    def _dump(self) -> Json:
        state = self._core.state
        return {
            **self._market_json(),
            "behaviour": self._core.behaviour.name,
            "account": self._account_json(),
            "orders": [self._render(o, with_legs=False) for o in self._orders_by_seq()],
            "positions": [self._position_json(p) for _, p in sorted(state.positions.items())],
            "fills": [fill_json(f, state.account.id) for f in state.fills],
            "faults": self._core.faults.to_json(),
            "fault_stats": self._fault_stats(),
        }

    # --- injected faults -----------------------------------------------------------------------------

    def draw_fault(self, applicable: Iterable[Fault] = SUBMIT_FAULTS) -> Fault | None:
        """One order's draw from `faults` (counted in `fault_stats()["draws"]`)."""
        with self._lock:
            self._core.draws += 1
            return self._core.faults.draw(frozenset(applicable))

    def record_fault(self, fault: Fault) -> None:
        """Count a fault as injected; the app calls it for the faults it applies around the engine."""
        with self._lock:
            self._core.injected[fault] += 1

    def fault_stats(self) -> Json:
        """Orders drawn for, faults injected by kind, and delayed events not yet applied (since reset)."""
        with self._locked():
            return self._fault_stats()

    def _fault_stats(self) -> Json:
        pending: Counter[Fault] = Counter()
        for order in self._core.state.open_orders():
            if order.event is Event.REJECT:
                pending[Fault.ASYNC_REJECT] += 1
            elif order.event is Event.NEXT_PART:
                pending[Fault.PARTIAL_FILL] += 1
        return {
            "draws": self._core.draws,
            "injected": {fault.value: self._core.injected[fault] for fault in Fault},
            "pending": {fault.value: pending[fault] for fault in sorted(ORDER_FAULTS)},
        }

    # --- account, assets, clock ----------------------------------------------------------------------

    def account(self) -> Json:
        with self._locked():
            return self._account_json()

    def assets(self) -> list[Json]:
        with self._locked():
            enabled = self._core.state.account.shorting_enabled
            return [asset_json(s, enabled) for s in self._core.feed.symbols()]

    def asset(self, symbol_or_id: str) -> Json:
        with self._locked():
            symbol = self._symbol_for(symbol_or_id)
            if symbol is None:
                raise not_found(f"asset not found for {symbol_or_id}")
            return asset_json(symbol, self._core.state.account.shorting_enabled)

    def clock(self) -> Json:
        with self._locked():
            return self._core.market.snapshot()

    def calendar(self, start: date | None, end: date | None) -> list[Json]:
        with self._locked():
            return list(self._core.market.calendar(start, end))

    # --- orders --------------------------------------------------------------------------------------

    def submit_order(self, body: Any, fault: Fault | None | _Draw = DRAW) -> Json:
        """`POST /v2/orders`: the order (with legs) as accepted: `pending_new` (or `accepted` outside its
        session) under the Alpaca behaviour, already filled when marketable under `instant`.

        `fault` is the order's draw when the caller made it (the app does, for the submit-path faults); by
        default the engine draws among the faults it injects itself (partial_fill, async_reject)."""
        new = parse_new_order(body)
        with self._locked() as now:
            if fault is DRAW:
                fault = self.draw_fault(ORDER_FAULTS)
            order = acceptance.accept(self._core, new, fault, now)
            lifecycle.apply_due(self._core, now)  # zero delays (`instant`): routed and executed now
            return self._render(order, with_legs=True)

    def get_order(self, order_id: str, nested: bool = True) -> Json:
        with self._locked():
            return self._render(book.get(self._core, order_id), with_legs=nested)

    def get_order_by_client_id(self, client_order_id: str) -> Json:
        with self._locked():
            return self._render(book.by_client_id(self._core, client_order_id), with_legs=True)

    def list_orders(self, query: OrderQuery) -> list[Json]:
        with self._locked():
            return queries.list_orders(self._core, query)

    def cancel_order(self, order_id: str) -> None:
        """`DELETE /v2/orders/{id}`: a cancel request for the order and the open rest of its group."""
        with self._locked() as now:
            lifecycle.request_cancel(self._core, book.get(self._core, order_id), now)
            lifecycle.apply_due(self._core, now)

    def cancel_all_orders(self) -> list[Json]:
        """`DELETE /v2/orders`: a cancel request per open order, one entry each (Alpaca answers 207
        Multi-Status; an order that cannot be canceled now is a 500 entry, as its docs say)."""
        with self._locked() as now:
            results: list[Json] = []
            # One entry per order open when the request came (a group's cancel reaches its legs too).
            for order in [o for o in self._core.state.open_orders() if o.status is not Status.PENDING_CANCEL]:
                if order.status is Status.PENDING_CANCEL:
                    results.append(
                        {"id": order.id, "status": 200, "body": self._render(order, with_legs=False)}
                    )
                    continue
                try:
                    lifecycle.request_cancel(self._core, order, now)
                except BrokerError as exc:
                    results.append({"id": order.id, "status": 500, "body": exc.body()})
                    continue
                results.append({"id": order.id, "status": 200, "body": self._render(order, with_legs=False)})
            lifecycle.apply_due(self._core, now)
            return results

    def replace_order(self, order_id: str, body: Any) -> Json:
        """`PATCH /v2/orders/{id}`: the replacement order (the old one turns `replaced` shortly)."""
        replacement = parse_replacement(body)
        with self._locked() as now:
            new = lifecycle.request_replace(self._core, book.get(self._core, order_id), replacement, now)
            lifecycle.apply_due(self._core, now)
            return self._render(new, with_legs=True)

    # --- positions -----------------------------------------------------------------------------------

    def positions(self) -> list[Json]:
        with self._locked():
            return [self._position_json(p) for _, p in sorted(self._core.state.positions.items())]

    def position(self, symbol_or_id: str) -> Json:
        with self._locked():
            return self._position_json(self._position(symbol_or_id))

    def close_position(
        self, symbol_or_id: str, qty: Decimal | None = None, percentage: Decimal | None = None
    ) -> Json:
        """`DELETE /v2/positions/{symbol}`: a market order for the whole position (or a `qty` or `percentage`
        of it). It goes through the same rules as any order, so shares held by open exits make it fail."""
        with self._locked() as now:
            position = self._position(symbol_or_id)
            size = abs(position.qty)
            if qty is not None and percentage is not None:
                raise invalid("only one of qty or percentage can be specified")
            if percentage is not None:
                if not ZERO < percentage <= 100:
                    raise invalid("percentage must be within (0, 100]")
                qty = (size * percentage / 100).quantize(acceptance.SHARE_PRECISION, rounding=ROUND_DOWN)
            side = Side.SELL if position.qty > 0 else Side.BUY
            new = _market_order(position.symbol, side, size if qty is None else qty)
            order = acceptance.accept(self._core, new, self.draw_fault(ORDER_FAULTS), now)
            lifecycle.apply_due(self._core, now)
            return self._render(order, with_legs=True)

    def close_all_positions(self, cancel_orders: bool = False) -> list[Json]:
        """`DELETE /v2/positions`: with `cancel_orders`, Alpaca cancels the open orders before it liquidates,
        so here those cancels complete before the closing orders are placed."""
        with self._locked() as now:
            if cancel_orders:
                for order in self._core.state.open_orders():
                    if order.status is not Status.PENDING_REPLACE:
                        lifecycle.cancel_now(self._core, order, now)
            results: list[Json] = []
            for symbol in sorted(self._core.state.positions):
                try:
                    closing = self.close_position(symbol)
                    results.append({"symbol": symbol, "status": 200, "body": closing})
                except BrokerError as exc:
                    results.append({"symbol": symbol, "status": exc.status, "body": exc.body()})
            return results

    # --- activities, bars ----------------------------------------------------------------------------

    def fill_activities(
        self,
        *,
        after: datetime | None = None,
        until: datetime | None = None,
        direction: str = "desc",
        page_size: int = queries.ACTIVITIES_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> list[Json]:
        """FILL activities, newest first by default; `page_token` is the id of the last one already seen."""
        with self._locked():
            return queries.fill_activities(
                self._core,
                after=after,
                until=until,
                direction=direction,
                page_size=page_size,
                page_token=page_token,
            )

    def bars(self, query: BarsQuery) -> Json:
        """`GET /v2/stocks/bars`: daily bars up to the cursor, symbol by symbol, paged across all symbols."""
        with self._locked():
            return queries.bars(self._core, query)

    # --- the lock, the clock and the store -----------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[datetime]:
        """The engine's lock, with every step the clock made due applied first and what changed saved after
        (also when the request is refused: the due steps happened)."""
        with self._lock:
            core = self._core
            now = core.now()
            before_seq = core.state.next_seq
            was_open = [o for o in core.state.orders.values() if o.is_open]
            try:
                lifecycle.apply_due(core, now)
                lifecycle.arm_session_closes(core, now)
                yield now
            finally:
                touched = was_open + [o for o in core.state.orders.values() if o.seq > before_seq]
                self._store.save(core.state, Market(core.feed.cursor, core.feed.overrides()), touched)

    def _fresh_state(self, cash: Decimal, now: datetime) -> BrokerState:
        _, _, multiplier, shorting_enabled, _ = self._start
        account = Account(
            cash=cash,
            last_equity=cash,
            created_at=now,
            multiplier=multiplier,
            shorting_enabled=shorting_enabled,
        )
        return BrokerState(account=account)

    # --- reading -------------------------------------------------------------------------------------

    def _account_json(self) -> Json:
        core = self._core
        today = core.market.trading_day(core.now())
        window = trading_days_ending(today, WINDOW_BUSINESS_DAYS)
        return account_json(core.state.account, core.valuation(), day_trades_in(core.state, window))

    def _market_json(self) -> Json:
        feed = self._core.feed
        return {"cursor": feed.cursor.isoformat(), "prices": {s: num(p) for s, p in feed.prices().items()}}

    def _render(self, order: Order, with_legs: bool) -> Json:
        return order_json(order, self._core.state.orders, with_legs)

    def _orders_by_seq(self) -> list[Order]:
        return sorted(self._core.state.orders.values(), key=lambda o: o.seq)

    def _symbol_for(self, symbol_or_id: str) -> str | None:
        feed = self._core.feed
        candidate = symbol_or_id.upper()
        if feed.has(candidate):
            return candidate
        return next((s for s in feed.symbols() if asset_id(s) == symbol_or_id), None)

    def _position(self, symbol_or_id: str) -> Position:
        symbol = self._symbol_for(symbol_or_id) or symbol_or_id.upper()
        position = self._core.state.positions.get(symbol)
        if position is None:
            raise not_found("position does not exist")
        return position

    def _position_json(self, position: Position) -> Json:
        core = self._core
        held, _ = held_for_orders(
            position.qty, core.state.open_orders(position.symbol), lambda o: book.hold_group(core, o)
        )
        return position_json(
            position,
            core.feed.price(position.symbol),
            core.feed.previous_close(position.symbol),
            abs(position.qty) - held,
        )


def _market_order(symbol: str, side: Side, qty: Decimal) -> NewOrder:
    return NewOrder(
        symbol=symbol,
        side=side,
        type=OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        order_class=OrderClass.SIMPLE,
        qty=qty,
        notional=None,
        limit_price=None,
        stop_price=None,
        client_order_id=None,
        extended_hours=False,
        take_profit=None,
        stop_loss=None,
        position_intent=None,
    )

"""The paper broker: accepts orders under Alpaca's rules, fills them against the price feed, keeps the books.

Thread-safe: every public method takes one reentrant lock, so HTTP handlers (uvicorn's thread) and test code
(the test's thread) can drive the same broker. Public methods speak Alpaca's wire format (dicts ready for
JSON) and raise `BrokerError` with Alpaca's status, code and message.

Fills happen at submit (market orders and marketable limits, at the feed's price), when a test sets a price,
and when the feed advances a day (against that day's bar). Exit legs of a bracket/OTO wake up when their
entry is completely filled and are first checked on the next price move; when both legs of an OCO pair could
fill on the same bar the stop-loss wins unless the take-profit filled at the open (the pessimistic reading of
a bar). Injected order faults (faults.py) add fills and rejections that come later: every public method
first applies whatever of them is due (`_locked`).
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from enum import Enum
from typing import Any

from tradepipe.local.paper_broker import rules
from tradepipe.local.paper_broker.accounting import Valuation, apply_fill, settle_cash, value
from tradepipe.local.paper_broker.errors import BrokerError, invalid, not_found, unprocessable
from tradepipe.local.paper_broker.faults import ORDER_FAULTS, SUBMIT_FAULTS, Fault, Faults
from tradepipe.local.paper_broker.market_clock import MarketClock
from tradepipe.local.paper_broker.market_data import DailyBar, EndOfData, PriceFeed, UnknownSymbol
from tradepipe.local.paper_broker.matching import Match, Tick, match
from tradepipe.local.paper_broker.order_request import (
    NewOrder,
    StopLoss,
    check_increments,
    parse_new_order,
)
from tradepipe.local.paper_broker.rules import RuleSet
from tradepipe.local.paper_broker.state import (
    ZERO,
    Account,
    BrokerState,
    Fill,
    GroupRole,
    Order,
    OrderClass,
    OrderType,
    Position,
    Side,
    Status,
    TimeInForce,
)
from tradepipe.local.paper_broker.wire import (
    NEW_YORK,
    Json,
    account_json,
    asset_id,
    asset_json,
    bar_json,
    bar_time,
    fill_json,
    num,
    order_json,
    position_json,
)

DEFAULT_CASH = Decimal(100_000)
DEFAULT_MULTIPLIER = Decimal(2)
SHARE_PRECISION = Decimal("0.000000001")  # Alpaca: up to 9 decimals of a share
DAY_ORDERS = frozenset({TimeInForce.DAY, TimeInForce.OPG, TimeInForce.CLS})
ORDERS_LIMIT_DEFAULT, ORDERS_LIMIT_MAX = 50, 500
ACTIVITIES_PAGE_DEFAULT, ACTIVITIES_PAGE_MAX = 100, 100
BARS_LIMIT_DEFAULT, BARS_LIMIT_MAX = 1000, 10_000


class _Draw(Enum):
    DRAW = "draw"


DRAW = _Draw.DRAW  # submit_order's default: draw the order's fault from `faults`


@dataclass(frozen=True)
class OrderQuery:
    """`GET /v2/orders` filters, with Alpaca's defaults."""

    status: str = "open"  # open | closed | all
    limit: int = ORDERS_LIMIT_DEFAULT
    after: datetime | None = None
    until: datetime | None = None
    direction: str = "desc"
    nested: bool = False
    side: Side | None = None
    symbols: frozenset[str] | None = None


@dataclass(frozen=True)
class BarsQuery:
    symbols: tuple[str, ...]
    start: datetime | None = None
    end: datetime | None = None
    limit: int = BARS_LIMIT_DEFAULT
    page_token: str | None = None
    descending: bool = False


class PaperBroker:
    """The engine. Knobs: starting `cash`, margin `multiplier` (1 = cash account, 2 = Reg T),
    `shorting_enabled`, the `feed` (real daily bars, cursor 2013-03-01 by default), the market `clock`
    (always open by default), `faults` (all off) and the acceptance `rules` (all on). `now` stamps records;
    `monotonic` times the injected delays (partial-fill parts, asynchronous rejections)."""

    def __init__(
        self,
        feed: PriceFeed | None = None,
        *,
        cash: Decimal = DEFAULT_CASH,
        multiplier: Decimal = DEFAULT_MULTIPLIER,
        shorting_enabled: bool = True,
        clock: MarketClock | None = None,
        faults: Faults | None = None,
        rules: RuleSet | None = None,
        now: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.feed = feed if feed is not None else PriceFeed()
        self.clock = clock if clock is not None else MarketClock()
        self.faults = faults if faults is not None else Faults()
        self.rules = rules if rules is not None else RuleSet()
        self._now = now if now is not None else self.clock.now
        self._monotonic = monotonic
        self._lock = threading.RLock()
        self._draws = 0
        self._injected: Counter[Fault] = Counter()
        self._start_cursor = self.feed.cursor
        self._start_faults = self.faults.to_json()
        self._start_cash = cash
        self._multiplier = multiplier
        self._shorting_enabled = shorting_enabled
        self.state = self._fresh_state(cash)

    # --- admin ------------------------------------------------------------------------------------

    def reset(self, cash: Decimal | None = None, cursor: date | None = None) -> Json:
        """Forget every order, position and fill: back to the starting cash (or `cash`), the feed's starting
        cursor (or `cursor`) and the faults the broker was built with."""
        with self._lock:
            self.feed.move_to(cursor or self._start_cursor)
            self.state = self._fresh_state(self._start_cash if cash is None else cash)
            self.faults = Faults.from_json(self._start_faults)
            self._draws = 0
            self._injected.clear()
            return self.dump()

    def set_prices(self, prices: Mapping[str, Decimal]) -> Json:
        """Override current prices and execute whatever the moves trigger."""
        with self._locked():
            upper = {symbol.upper(): price for symbol, price in prices.items()}
            for symbol in upper:
                if not self.feed.has(symbol):
                    raise invalid(f'asset "{symbol}" not found')
            session_open = self.clock.is_open(self._now())
            for symbol, price in upper.items():
                self.feed.set_price(symbol, price)
                self._sweep(symbol, Tick.at(price), session_open)
            return self._market_json()

    def advance(self, days: int = 1) -> Json:
        """Move the feed `days` bars on, one day at a time: day orders expire at each close, resting orders
        meet each new bar. All or nothing past the end of the data (EndOfData)."""
        if days < 1:
            raise ValueError("days must be >= 1")
        with self._locked():
            if days > self.feed.days_left:
                raise EndOfData(f"only {self.feed.days_left} more day(s) of bars after {self.feed.cursor}")
            for _ in range(days):
                self._close_the_day()
                self.feed.advance(1)
                for symbol in self.feed.symbols():
                    bar = self.feed.bar_today(symbol)
                    if bar is not None:
                        self._sweep(symbol, Tick.of(bar), session_open=True)
            return self._market_json()

    def dump(self) -> Json:
        with self._locked():
            return {
                **self._market_json(),
                "account": self.account(),
                "orders": [self._render(o, with_legs=False) for o in self._orders_by_seq()],
                "positions": self.positions(),
                "fills": [fill_json(f, self.state.account.id) for f in self.state.fills],
                "faults": self.faults.to_json(),
                "fault_stats": self.fault_stats(),
            }

    # --- injected faults ---------------------------------------------------------------------------

    def draw_fault(self, applicable: Iterable[Fault] = SUBMIT_FAULTS) -> Fault | None:
        """One order's draw from `faults` (counted in `fault_stats()["draws"]`)."""
        with self._lock:
            self._draws += 1
            return self.faults.draw(frozenset(applicable))

    def record_fault(self, fault: Fault) -> None:
        """Count a fault as injected; the app calls it for the faults it applies around the engine."""
        with self._lock:
            self._injected[fault] += 1

    def fault_stats(self) -> Json:
        """Orders drawn for, faults injected by kind, and delayed events not yet applied (since reset)."""
        with self._locked():
            pending: Counter[Fault] = Counter()
            for order_id in self.state.deferred_ids:
                order = self.state.orders[order_id]
                pending[Fault.ASYNC_REJECT if order.reject_due is not None else Fault.PARTIAL_FILL] += 1
            return {
                "draws": self._draws,
                "injected": {fault.value: self._injected[fault] for fault in Fault},
                "pending": {fault.value: pending[fault] for fault in sorted(ORDER_FAULTS)},
            }

    # --- account, assets ---------------------------------------------------------------------------

    def account(self) -> Json:
        with self._locked():
            return account_json(self.state.account, self._valuation())

    def assets(self) -> list[Json]:
        with self._locked():
            return [asset_json(s, self.state.account.shorting_enabled) for s in self.feed.symbols()]

    def asset(self, symbol_or_id: str) -> Json:
        with self._locked():
            symbol = self._symbol_for(symbol_or_id)
            if symbol is None:
                raise not_found(f"asset not found for {symbol_or_id}")
            return asset_json(symbol, self.state.account.shorting_enabled)

    # --- orders ------------------------------------------------------------------------------------

    def submit_order(self, body: Any, fault: Fault | None | _Draw = DRAW) -> Json:
        """`POST /v2/orders`: the order (with legs) as accepted, possibly already filled.

        `fault` is the order's draw when the caller made it (the app does, for the submit-path faults); by
        default the engine draws among the faults it injects itself (partial_fill, async_reject)."""
        new = parse_new_order(body)
        with self._locked():
            if fault is DRAW:
                fault = self.draw_fault(ORDER_FAULTS)
            return self._render(self._accept(new, fault), with_legs=True)

    def get_order(self, order_id: str, nested: bool = True) -> Json:
        with self._locked():
            return self._render(self._order(order_id), with_legs=nested)

    def get_order_by_client_id(self, client_order_id: str) -> Json:
        with self._locked():
            order_id = self.state.by_client_id.get(client_order_id)
            if order_id is None:
                raise not_found("order not found")
            return self._render(self.state.orders[order_id], with_legs=True)

    def list_orders(self, query: OrderQuery) -> list[Json]:
        with self._locked():
            selected = [o for o in self._orders_by_seq() if self._wanted(o, query)]
            if query.direction == "desc":
                selected.reverse()
            return [self._render(o, with_legs=query.nested) for o in selected[: query.limit]]

    def cancel_order(self, order_id: str) -> None:
        """`DELETE /v2/orders/{id}`: cancels the order with its dormant legs, or a leg with its OCO peers."""
        with self._locked():
            order = self._order(order_id)
            if not order.is_open:
                raise unprocessable(f'order is already in "{order.status.value}" state')
            self._cancel_with_linked(order)

    def cancel_all_orders(self) -> list[Json]:
        """`DELETE /v2/orders`: one entry per canceled order (Alpaca answers 207 Multi-Status)."""
        with self._locked():
            results: list[Json] = []
            for order in self.state.open_orders():
                if order.is_open:
                    self._set_closed(order, Status.CANCELED)
                    body = self._render(order, with_legs=False)
                    results.append({"id": order.id, "status": 200, "body": body})
            return results

    # --- positions ---------------------------------------------------------------------------------

    def positions(self) -> list[Json]:
        with self._locked():
            return [self._position_json(p) for _, p in sorted(self.state.positions.items())]

    def position(self, symbol_or_id: str) -> Json:
        with self._locked():
            return self._position_json(self._position(symbol_or_id))

    def close_position(
        self, symbol_or_id: str, qty: Decimal | None = None, percentage: Decimal | None = None
    ) -> Json:
        """`DELETE /v2/positions/{symbol}`: a market order for the whole position (or a `qty` or `percentage`
        of it). It goes through the same rules as any order, so shares held by open exits make it fail."""
        with self._locked():
            position = self._position(symbol_or_id)
            size = abs(position.qty)
            if qty is not None and percentage is not None:
                raise invalid("only one of qty or percentage can be specified")
            if percentage is not None:
                if not ZERO < percentage <= 100:
                    raise invalid("percentage must be within (0, 100]")
                qty = (size * percentage / 100).quantize(SHARE_PRECISION, rounding=ROUND_DOWN)
            close_qty = size if qty is None else qty
            side = Side.SELL if position.qty > 0 else Side.BUY
            new = _market_order(position.symbol, side, close_qty)
            return self._render(self._accept(new, self.draw_fault(ORDER_FAULTS)), with_legs=True)

    def close_all_positions(self, cancel_orders: bool = False) -> list[Json]:
        with self._locked():
            if cancel_orders:
                self.cancel_all_orders()
            results: list[Json] = []
            for symbol in sorted(self.state.positions):
                try:
                    order = self.close_position(symbol)
                    results.append({"symbol": symbol, "status": 200, "body": order})
                except BrokerError as exc:
                    results.append({"symbol": symbol, "status": exc.status, "body": exc.body()})
            return results

    # --- activities, bars --------------------------------------------------------------------------

    def fill_activities(
        self,
        *,
        after: datetime | None = None,
        until: datetime | None = None,
        direction: str = "desc",
        page_size: int = ACTIVITIES_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> list[Json]:
        """FILL activities, newest first by default; `page_token` is the id of the last one already seen."""
        with self._locked():
            fills = [
                f
                for f in self.state.fills
                if (after is None or f.transaction_time > after)
                and (until is None or f.transaction_time <= until)
            ]
            if direction == "desc":
                fills.reverse()
            if page_token is not None:
                ids = [f.id for f in fills]
                fills = fills[ids.index(page_token) + 1 :] if page_token in ids else []
            size = max(1, min(page_size, ACTIVITIES_PAGE_MAX))
            return [fill_json(f, self.state.account.id) for f in fills[:size]]

    def bars(self, query: BarsQuery) -> Json:
        """`GET /v2/stocks/bars`: daily bars up to the cursor, symbol by symbol, paged across all symbols."""
        with self._locked():
            start = None if query.start is None else _first_bar_day(query.start)
            end = None if query.end is None else _last_bar_day(query.end)
            rows: list[tuple[str, DailyBar]] = []
            for symbol in sorted(set(query.symbols)):
                if not self.feed.has(symbol):
                    continue  # Alpaca leaves unknown symbols out of the answer
                bars = self.feed.bars(symbol, start, end)
                rows.extend((symbol, b) for b in (reversed(bars) if query.descending else bars))
            offset = _decode_page_token(query.page_token)
            limit = max(1, min(query.limit, BARS_LIMIT_MAX))
            page = rows[offset : offset + limit]
            out: dict[str, list[Json]] = {}
            for symbol, bar in page:
                out.setdefault(symbol, []).append(bar_json(bar))
            more = offset + limit < len(rows)
            return {"bars": out, "next_page_token": _encode_page_token(offset + limit) if more else None}

    # --- acceptance --------------------------------------------------------------------------------

    def _accept(self, new: NewOrder, fault: Fault | None = None) -> Order:
        if new.client_order_id is not None and new.client_order_id in self.state.by_client_id:
            raise invalid("client_order_id must be unique")
        try:
            price = self.feed.price(new.symbol)
        except UnknownSymbol:
            raise invalid(f'asset "{new.symbol}" not found') from None
        check_increments(new)
        rules.check_exit_sides(new, price)
        qty = self._share_qty(new, price)
        self._check_account_rules(new, qty, price)
        parent = self._register(new, qty)
        if fault is Fault.ASYNC_REJECT:
            # Accepted, never routed: it waits (not matched) until the rejection arrives.
            parent.status = Status.ACCEPTED
            parent.reject_due = self._monotonic() + self.faults.async_reject_delay_s
            self.state.deferred_ids.add(parent.id)
            self._injected[fault] += 1
            return parent
        if fault is Fault.PARTIAL_FILL and self._plan_partial_fill(parent):
            self._injected[fault] += 1
        self._execute_on_arrival(parent, price)
        return parent

    def _plan_partial_fill(self, order: Order) -> bool:
        """Split a market order's quantity into parts; False when it does not apply (not a plain market order
        that may rest, or a quantity too small to split)."""
        if order.type is not OrderType.MARKET or order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            return False
        parts = self.faults.split(order.qty)
        if len(parts) < 2:
            return False
        order.fill_parts = parts
        order.part_delay_s = self.faults.partial_fill_delay_s
        return True

    @staticmethod
    def _share_qty(new: NewOrder, price: Decimal) -> Decimal:
        if new.qty is not None:
            return new.qty
        notional = new.notional or ZERO  # parsing guarantees one of qty and notional
        qty = (notional / price).quantize(SHARE_PRECISION, rounding=ROUND_DOWN)
        if qty <= 0:
            raise invalid("notional is too small")
        return qty

    def _check_account_rules(self, new: NewOrder, qty: Decimal, price: Decimal) -> None:
        open_orders = self.state.open_orders(new.symbol)
        position_qty = self._position_qty(new.symbol)
        if self.rules.wash_trade:
            rules.check_wash_trade(new, open_orders)
        if self.rules.held_qty:
            rules.check_held_qty(new.symbol, new.side, qty, position_qty, open_orders)
        if not rules.is_opening(new.side, position_qty):
            return
        if new.side is Side.SELL:
            rules.check_short_allowed(self.state.account.shorting_enabled, new.is_fractional)
        if self.rules.buying_power:
            order_value = rules.opening_value(new.side, qty, price, new.limit_price)
            reserved = rules.reserved_buying_power(
                self.state.open_orders(),
                {s: p.qty for s, p in self.state.positions.items()},
                {o.symbol: self.feed.price(o.symbol) for o in self.state.open_orders()},
            )
            rules.check_buying_power(order_value, self._valuation().buying_power, reserved)

    def _register(self, new: NewOrder, qty: Decimal) -> Order:
        """Create the order and its legs and index them; client ids are taken from here on, forever."""
        now = self._now()
        complex_order = new.order_class is not OrderClass.SIMPLE
        group_id = str(uuid.uuid4()) if complex_order else None

        def make(
            side: Side, order_type: OrderType, role: GroupRole | None, **prices: Decimal | None
        ) -> Order:
            order = Order(
                id=str(uuid.uuid4()),
                client_order_id=str(uuid.uuid4()),
                symbol=new.symbol,
                asset_id=asset_id(new.symbol),
                side=side,
                type=order_type,
                order_class=new.order_class,
                time_in_force=new.time_in_force,
                qty=qty,
                submitted_at=now,
                updated_at=now,
                seq=self.state.take_seq(),
                group_id=group_id,
                group_role=role,
                limit_price=prices.get("limit_price"),
                stop_price=prices.get("stop_price"),
            )
            self.state.orders[order.id] = order
            self.state.by_client_id[order.client_order_id] = order.id
            return order

        if new.order_class is OrderClass.OCO and new.take_profit and new.stop_loss:
            # An OCO is two exits and no entry: the take-profit limit is the top-level order.
            take_profit = new.take_profit.limit_price
            parent = make(new.side, OrderType.LIMIT, GroupRole.TAKE_PROFIT, limit_price=take_profit)
            stop_type, stop_prices = _stop_leg(new.stop_loss)
            stop = make(new.side, stop_type, GroupRole.STOP_LOSS, **stop_prices)
            stop.parent_id, stop.status = parent.id, Status.HELD
            parent.leg_ids, parent.oco_peer_ids, stop.oco_peer_ids = [stop.id], [stop.id], [parent.id]
        else:
            role = GroupRole.ENTRY if complex_order else None
            parent = make(new.side, new.type, role, limit_price=new.limit_price, stop_price=new.stop_price)
            self._attach_exit_legs(parent, new, make)
        self._adopt_request_fields(parent, new)
        return parent

    def _attach_exit_legs(self, parent: Order, new: NewOrder, make: Callable[..., Order]) -> None:
        legs: list[Order] = []
        exit_side = new.side.opposite
        if new.take_profit is not None:
            take_profit = new.take_profit.limit_price
            legs.append(make(exit_side, OrderType.LIMIT, GroupRole.TAKE_PROFIT, limit_price=take_profit))
        if new.stop_loss is not None:
            stop_type, stop_prices = _stop_leg(new.stop_loss)
            legs.append(make(exit_side, stop_type, GroupRole.STOP_LOSS, **stop_prices))
        for leg in legs:
            leg.parent_id, leg.status, leg.awaiting_parent = parent.id, Status.HELD, True
            leg.oco_peer_ids = [other.id for other in legs if other is not leg]
        parent.leg_ids = [leg.id for leg in legs]

    def _adopt_request_fields(self, parent: Order, new: NewOrder) -> None:
        if new.client_order_id is not None:
            del self.state.by_client_id[parent.client_order_id]
            parent.client_order_id = new.client_order_id
            self.state.by_client_id[new.client_order_id] = parent.id
        parent.notional = new.notional
        parent.extended_hours = new.extended_hours
        parent.position_intent = new.position_intent

    def _execute_on_arrival(self, order: Order, price: Decimal) -> None:
        session_open = self.clock.is_open(self._now())
        if order.type is OrderType.MARKET and not session_open:
            order.status = Status.ACCEPTED  # queued for the next open
            return
        group = {order.id, *order.leg_ids}
        self._sweep(order.symbol, Tick.at(price), session_open, only=group)
        if order.is_open and order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            self._cancel_with_linked(order)

    # --- execution ---------------------------------------------------------------------------------

    def _sweep(self, symbol: str, tick: Tick, session_open: bool, only: Iterable[str] | None = None) -> None:
        """Execute what `tick` reaches among the symbol's active orders: oldest first, one per OCO group."""
        wanted = None if only is None else set(only)
        candidates = [
            o
            for o in self.state.open_orders(symbol)
            if o.is_active and not o.deferred and (wanted is None or o.id in wanted)
        ]
        matches: list[tuple[Order, Match]] = []
        for order in candidates:
            found = match(order, tick, session_open)
            if found.stop_triggered and not order.stop_triggered:
                order.stop_triggered = True
                order.updated_at = self._now()
            if found.fill_price is not None:
                matches.append((order, found))
        for order, found in _one_per_oco_group(matches, tick):
            if order.is_open and found.fill_price is not None:
                self._fill(order, self._next_part(order, self._monotonic()), found.fill_price)

    def _next_part(self, order: Order, start: float) -> Decimal:
        """How much of `order` the next execution fills: all that is left, or the next part of an injected
        partial fill, in which case the one after is due `part_delay_s` after `start`."""
        if len(order.fill_parts) <= 1:
            order.fill_parts = []
            order.next_part_due = None
            self.state.deferred_ids.discard(order.id)
            return order.remaining_qty
        part = min(order.fill_parts.pop(0), order.remaining_qty)
        order.next_part_due = start + order.part_delay_s
        self.state.deferred_ids.add(order.id)
        return part

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The engine's lock, with every delayed event that is due applied first."""
        with self._lock:
            self._apply_due()
            yield

    def _apply_due(self) -> None:
        """Apply due partial-fill parts and rejections, oldest deadline first. A part that is due catches up
        from its own deadline, so a long pause applies every part that fell due in it."""
        if not self.state.deferred_ids:
            return
        now = self._monotonic()
        while True:
            ready = [
                (due, order.seq, order)
                for order in (self.state.orders[i] for i in self.state.deferred_ids)
                if (due := _deadline(order)) <= now
            ]
            if not ready:
                return
            due, _, order = min(ready, key=lambda item: (item[0], item[1]))
            if order.reject_due is not None:
                self._reject_now(order)
            else:
                self._fill_next_part_now(order, due)

    def _fill_next_part_now(self, order: Order, due: float) -> None:
        if not order.is_open:  # canceled or expired in the meantime: nothing more fills
            order.fill_parts, order.next_part_due = [], None
            self.state.deferred_ids.discard(order.id)
            return
        if not self.clock.is_open(self._now()):
            # The rest waits for the next open, where the feed's sweep fills it (part by part).
            order.next_part_due = None
            self.state.deferred_ids.discard(order.id)
            return
        self._fill(order, self._next_part(order, due), self.feed.price(order.symbol))

    def _reject_now(self, order: Order) -> None:
        order.reject_due = None
        self.state.deferred_ids.discard(order.id)
        if not order.is_open:  # canceled before the rejection arrived
            return
        now = self._now()
        for member in [order, *(self.state.orders[i] for i in order.leg_ids)]:
            if member.is_open:
                member.status = Status.REJECTED
                member.failed_at = now
                member.updated_at = now

    def _fill(self, order: Order, qty: Decimal, price: Decimal) -> None:
        """One execution of `qty` at `price` (a partial fill when qty < remaining), capped at what remains."""
        qty = min(qty, order.remaining_qty)
        if qty <= 0:
            return
        now = self._now()
        previous = order.filled_qty
        order.filled_qty = previous + qty
        prior_cost = ZERO if order.filled_avg_price is None else order.filled_avg_price * previous
        order.filled_avg_price = (prior_cost + price * qty) / order.filled_qty
        order.status = Status.FILLED if order.remaining_qty == 0 else Status.PARTIALLY_FILLED
        order.filled_at = now
        order.updated_at = now
        position = self.state.positions.setdefault(order.symbol, Position(order.symbol, order.asset_id))
        apply_fill(position, order.side, qty, price)
        settle_cash(self.state.account, order.side, qty, price)
        if position.qty == 0:
            del self.state.positions[order.symbol]
        self.state.fills.append(
            Fill(
                id=f"{now.strftime('%Y%m%d%H%M%S%f')[:-3]}::{uuid.uuid4()}",
                order_id=order.id,
                symbol=order.symbol,
                side=order.side,
                qty=qty,
                price=price,
                transaction_time=now,
                cum_qty=order.filled_qty,
                leaves_qty=order.remaining_qty,
                order_status=order.status,
            )
        )
        if order.status is Status.FILLED:
            self._after_filled(order)

    def _after_filled(self, order: Order) -> None:
        for peer_id in order.oco_peer_ids:
            peer = self.state.orders[peer_id]
            if peer.is_open:
                self._set_closed(peer, Status.CANCELED)
        for leg_id in order.leg_ids:
            leg = self.state.orders[leg_id]
            if leg.awaiting_parent and leg.is_open:
                leg.awaiting_parent = False
                # Alpaca works the take-profit at the market and holds the stop of the pair itself.
                held = leg.group_role is GroupRole.STOP_LOSS and bool(leg.oco_peer_ids)
                leg.status = Status.HELD if held else Status.NEW
                leg.updated_at = self._now()

    def _close_the_day(self) -> None:
        """At the close: remember equity for `last_equity`, expire the day's orders (queued market orders
        wait for the next open; legs go with their entry)."""
        self.state.account.last_equity = self._valuation().equity
        for order in self.state.open_orders():
            if not order.is_open or order.time_in_force not in DAY_ORDERS or order.status is Status.ACCEPTED:
                continue
            if order.awaiting_parent:
                continue  # expires or cancels together with its entry
            self._set_closed(order, Status.EXPIRED)
            for linked in self._linked_open(order):
                self._set_closed(linked, Status.CANCELED if linked.awaiting_parent else Status.EXPIRED)

    def _cancel_with_linked(self, order: Order) -> None:
        self._set_closed(order, Status.CANCELED)
        for linked in self._linked_open(order):
            self._set_closed(linked, Status.CANCELED)

    def _linked_open(self, order: Order) -> list[Order]:
        """Orders that cannot outlive `order`: its dormant legs and its OCO peers."""
        linked = [self.state.orders[i] for i in order.oco_peer_ids]
        linked += [leg for leg in (self.state.orders[i] for i in order.leg_ids) if leg.awaiting_parent]
        return [o for o in linked if o.is_open]

    def _set_closed(self, order: Order, status: Status) -> None:
        now = self._now()
        order.status = status
        # Closed: no further part fills and no rejection arrives.
        order.fill_parts, order.next_part_due, order.reject_due = [], None, None
        self.state.deferred_ids.discard(order.id)
        order.updated_at = now
        if status is Status.CANCELED:
            order.canceled_at = now
        elif status is Status.EXPIRED:
            order.expired_at = now

    # --- reading -----------------------------------------------------------------------------------

    def _fresh_state(self, cash: Decimal) -> BrokerState:
        account = Account(
            cash=cash,
            last_equity=cash,
            created_at=self._now(),
            multiplier=self._multiplier,
            shorting_enabled=self._shorting_enabled,
        )
        return BrokerState(account=account)

    def _valuation(self) -> Valuation:
        return value(self.state.account, self.state.positions.values(), self.feed.price)

    def _market_json(self) -> Json:
        return {
            "cursor": self.feed.cursor.isoformat(),
            "prices": {s: num(p) for s, p in self.feed.prices().items()},
        }

    def _render(self, order: Order, with_legs: bool) -> Json:
        return order_json(order, self.state.orders, with_legs)

    def _orders_by_seq(self) -> list[Order]:
        return sorted(self.state.orders.values(), key=lambda o: o.seq)

    def _order(self, order_id: str) -> Order:
        order = self.state.orders.get(order_id)
        if order is None:
            raise not_found("order not found")
        return order

    def _wanted(self, order: Order, query: OrderQuery) -> bool:
        if query.nested and order.parent_id is not None:
            return False  # shown inside its entry
        family = [order, *(self.state.orders[i] for i in order.leg_ids)] if query.nested else [order]
        if query.status == "open" and not any(o.is_open for o in family):
            return False
        if query.status == "closed" and any(o.is_open for o in family):
            return False
        if query.symbols is not None and order.symbol not in query.symbols:
            return False
        if query.side is not None and order.side is not query.side:
            return False
        if query.after is not None and order.submitted_at <= query.after:
            return False
        return query.until is None or order.submitted_at <= query.until

    def _symbol_for(self, symbol_or_id: str) -> str | None:
        candidate = symbol_or_id.upper()
        if self.feed.has(candidate):
            return candidate
        for symbol in self.feed.symbols():
            if asset_id(symbol) == symbol_or_id:
                return symbol
        return None

    def _position(self, symbol_or_id: str) -> Position:
        symbol = self._symbol_for(symbol_or_id) or symbol_or_id.upper()
        position = self.state.positions.get(symbol)
        if position is None:
            raise not_found("position does not exist")
        return position

    def _position_qty(self, symbol: str) -> Decimal:
        position = self.state.positions.get(symbol)
        return ZERO if position is None else position.qty

    def _position_json(self, position: Position) -> Json:
        held = rules.held_for_orders(position.qty, self.state.open_orders(position.symbol))
        return position_json(
            position,
            self.feed.price(position.symbol),
            self.feed.previous_close(position.symbol),
            abs(position.qty) - held,
        )


def _deadline(order: Order) -> float:
    if order.reject_due is not None:
        return order.reject_due
    if order.next_part_due is not None:
        return order.next_part_due
    return float("inf")


def _stop_leg(stop_loss: StopLoss) -> tuple[OrderType, dict[str, Decimal | None]]:
    """A stop-loss is a stop order, or a stop-limit when it carries a limit price."""
    order_type = OrderType.STOP if stop_loss.limit_price is None else OrderType.STOP_LIMIT
    return order_type, {"stop_price": stop_loss.stop_price, "limit_price": stop_loss.limit_price}


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


def _one_per_oco_group(matches: list[tuple[Order, Match]], tick: Tick) -> list[tuple[Order, Match]]:
    """When several orders of one OCO group could fill on the same move, keep one: a fill at the open (the
    market gapped through it) wins; otherwise the stop-loss does, as a bar does not say which came first."""
    best: dict[str, tuple[Order, Match]] = {}
    for order, found in matches:
        key = min([order.id, *order.oco_peer_ids])
        current = best.get(key)
        if current is None or _beats((order, found), current, tick):
            best[key] = (order, found)
    return sorted(best.values(), key=lambda pair: pair[0].seq)


def _beats(challenger: tuple[Order, Match], holder: tuple[Order, Match], tick: Tick) -> bool:
    challenger_at_open = challenger[1].fill_price == tick.open
    holder_at_open = holder[1].fill_price == tick.open
    if challenger_at_open != holder_at_open:
        return challenger_at_open
    return challenger[0].group_role is GroupRole.STOP_LOSS


def _first_bar_day(start: datetime) -> date:
    """The first day whose bar timestamp (midnight New York) is at or after `start`."""
    day = start.astimezone(NEW_YORK).date()
    return day if bar_time(day) >= start else day + timedelta(days=1)


def _last_bar_day(end: datetime) -> date:
    return end.astimezone(NEW_YORK).date()


def _encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


def _decode_page_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        return max(0, int(base64.urlsafe_b64decode(token.encode()).decode()))
    except ValueError:
        raise invalid("invalid page_token") from None

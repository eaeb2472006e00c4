"""In-memory implementations of the ports: unit tests and the backtest run the same use cases on them."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from tradepipe.contracts.items import OrderItem, OrderLeg, OrderUpdate, SignalItem, StatusUpdate
from tradepipe.contracts.messages import OrderIntent, SignalAccepted
from tradepipe.domain.lifecycle import allowed_from
from tradepipe.domain.model import Mode, Side
from tradepipe.ports.broker import (
    AccountView,
    AssetView,
    BrokerOrder,
    BrokerRejected,
    ClockView,
    FillView,
    HoldingView,
)
from tradepipe.ports.search import IndexAction


class FixedClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2024, 1, 2, 15, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


class StaticPassphrases:
    def __init__(self, **named: str) -> None:
        self._named = {k: SecretStr(v) for k, v in named.items()}

    def passphrases(self) -> Mapping[str, SecretStr]:
        return self._named


class MemorySignalStore:
    def __init__(self) -> None:
        self.items: dict[str, SignalItem] = {}
        self._lock = threading.Lock()

    def record_new(self, item: SignalItem) -> bool:
        with self._lock:
            if item.signal_id in self.items:
                return False
            self.items[item.signal_id] = item
            return True

    def get(self, signal_id: str) -> SignalItem | None:
        return self.items.get(signal_id)

    def advance(self, signal_id: str, update: StatusUpdate) -> bool:
        entry = update.entry
        with self._lock:
            item = self.items.get(signal_id)
            if item is None or item.status not in allowed_from(entry.status):
                return False
            self.items[signal_id] = item.model_copy(
                update={
                    "status": entry.status,
                    "updated_at": entry.at,
                    "history": [*item.history, entry],
                    **update.fields.changes(),
                }
            )
            return True


class MemoryOrderStore:
    def __init__(self) -> None:
        self.items: dict[str, OrderItem] = {}
        self.followed: set[str] = set()  # the reconciler's index of open orders

    def record_intent(self, item: OrderItem) -> bool:
        if item.client_order_id in self.items:
            return False
        self.items[item.client_order_id] = item
        self.followed.add(item.client_order_id)
        return True

    def working(self, account: str) -> list[OrderItem]:
        return [self.items[c] for c in sorted(self.followed) if self.items[c].mode.value == account]

    def record_working(self, client_order_id: str, account: str, legs: Sequence[OrderLeg]) -> None:
        self.items[client_order_id] = self.items[client_order_id].model_copy(update={"legs": list(legs)})
        self.followed.add(client_order_id)

    def record_done(self, client_order_id: str) -> None:
        self.followed.discard(client_order_id)

    def get(self, client_order_id: str) -> OrderItem | None:
        return self.items.get(client_order_id)

    def update(self, client_order_id: str, update: OrderUpdate) -> None:
        self.items[client_order_id] = self.items[client_order_id].model_copy(update=update.changes())


class MemoryQueue:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, message: SignalAccepted | OrderIntent) -> None:
        self.sent.append(message)


class MemoryBroker:
    """Fills every order at once at `fill_price`; `reject_with` turns submissions into business rejections.
    Exit legs are orders (a bracket's stop leg `held`, its take-profit `new`); a cancel is done at once (the
    asynchronous lifecycle is the paper broker's to model); a close while legs are open is refused as
    Alpaca refuses it (insufficient qty available)."""

    def __init__(self, mode: Mode = Mode.PAPER) -> None:
        self.mode = mode
        self.orders: dict[str, BrokerOrder] = {}
        self.positions: dict[str, Decimal] = {}
        self.submissions = 0
        self.reject_with: tuple[str, str] | None = None
        self.fill_price: Decimal | None = None
        self.account_view = AccountView(
            equity=Decimal(100_000), last_equity=Decimal(100_000), buying_power=Decimal(200_000)
        )
        self.clock_view = ClockView(is_open=True, next_open=None)
        self.unlisted: set[str] = set()

    def find_order(self, client_order_id: str) -> BrokerOrder | None:
        return self.orders.get(client_order_id)

    def _add(self, order: BrokerOrder) -> BrokerOrder:
        self.orders[order.client_order_id] = order
        return order

    def _fill(
        self, client_order_id: str, symbol: str, signed_qty: Decimal, order_type: str = "market"
    ) -> BrokerOrder:
        self.submissions += 1
        if self.reject_with:
            raise BrokerRejected(*self.reject_with)
        if client_order_id in self.orders:
            raise BrokerRejected("40010001", "client_order_id must be unique")
        now = datetime.now(UTC)
        order = BrokerOrder(
            broker_order_id=f"b-{len(self.orders) + 1}",
            client_order_id=client_order_id,
            status="filled",
            qty=abs(signed_qty),
            filled_qty=abs(signed_qty),
            filled_avg_price=self.fill_price,
            submitted_at=now,
            filled_at=now,
            symbol=symbol,
            side="buy" if signed_qty > 0 else "sell",
            order_type=order_type,
        )
        self.positions[symbol] = self.positions.get(symbol, Decimal(0)) + signed_qty
        return self._add(order)

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        qty = intent.qty or Decimal(0)
        order = self._fill(intent.client_order_id, intent.symbol, qty if intent.side is Side.BUY else -qty)
        exit_side = "sell" if intent.side is Side.BUY else "buy"
        for kind, price in (("stop", intent.stop_loss), ("limit", intent.take_profit)):
            if price is not None:
                self._add(
                    BrokerOrder(
                        broker_order_id=f"b-{len(self.orders) + 1}",
                        client_order_id=f"{intent.client_order_id}-{kind}",
                        status="held" if kind == "stop" else "new",
                        qty=qty,
                        filled_qty=Decimal(0),
                        filled_avg_price=None,
                        submitted_at=order.submitted_at,
                        filled_at=None,
                        symbol=intent.symbol,
                        side=exit_side,
                        order_type=kind,
                        parent_client_order_id=intent.client_order_id,
                        stop_price=price if kind == "stop" else None,
                        limit_price=price if kind == "limit" else None,
                    )
                )
        return order

    def submit_stop(
        self, symbol: str, qty: Decimal, side: str, stop_price: Decimal, client_order_id: str
    ) -> BrokerOrder:
        self.submissions += 1
        if self.reject_with:
            raise BrokerRejected(*self.reject_with)
        return self._add(
            BrokerOrder(
                broker_order_id=f"b-{len(self.orders) + 1}",
                client_order_id=client_order_id,
                status="new",
                qty=qty,
                filled_qty=Decimal(0),
                filled_avg_price=None,
                submitted_at=datetime.now(UTC),
                filled_at=None,
                symbol=symbol,
                side=side,
                order_type="stop",
                stop_price=stop_price,
            )
        )

    def submit_oco(
        self,
        symbol: str,
        qty: Decimal,
        side: str,
        take_profit: Decimal,
        stop_price: Decimal,
        client_order_id: str,
    ) -> BrokerOrder:
        """The pair as Alpaca lists it: the take-profit limit, its stop leg under it."""
        stop = self.submit_stop(symbol, qty, side, stop_price, f"{client_order_id}-stop")
        self._add(replace(stop, parent_client_order_id=client_order_id))
        return self._add(
            replace(
                stop,
                broker_order_id=f"{stop.broker_order_id}-tp",
                client_order_id=client_order_id,
                order_type="limit",
                stop_price=None,
                limit_price=take_profit,
            )
        )

    def open_orders(self, symbol: str | None = None) -> list[BrokerOrder]:
        return [
            o
            for o in self.orders.values()
            if o.status not in ("filled", "canceled", "expired", "rejected", "replaced")
            and (symbol is None or o.symbol == symbol)
        ]

    def recent_orders(self, symbol: str, limit: int) -> list[BrokerOrder]:
        mine = [o for o in self.orders.values() if o.symbol == symbol and o.parent_client_order_id is None]
        return list(reversed(mine))[:limit]

    def working_orders(self) -> list[BrokerOrder]:
        # As Alpaca lists them un-nested: a leg does not name its entry.
        return [replace(o, parent_client_order_id=None) for o in self.open_orders()]

    def order_family(self, broker_order_id: str) -> list[BrokerOrder]:
        found = [o for o in self.orders.values() if o.broker_order_id == broker_order_id]
        legs = [
            o for o in self.orders.values() if found and o.parent_client_order_id == found[0].client_order_id
        ]
        return [*found, *legs]

    def cancel_order(self, broker_order_id: str) -> None:
        for coid, order in self.orders.items():
            if order.broker_order_id == broker_order_id and order.status not in ("filled", "canceled"):
                self.orders[coid] = replace(order, status="canceled")

    def account(self) -> AccountView:
        return self.account_view

    def holdings(self) -> dict[str, HoldingView]:
        price = self.fill_price or Decimal(100)
        return {
            s: HoldingView(qty=q, market_value=q * price, avg_entry_price=price, current_price=price)
            for s, q in self.positions.items()
            if q != 0
        }

    def clock(self) -> ClockView:
        return self.clock_view

    def asset(self, symbol: str) -> AssetView | None:
        return (
            None if symbol in self.unlisted else AssetView(tradable=True, fractionable=True, shortable=True)
        )

    def orders_since(self, after: datetime) -> list[BrokerOrder]:
        return list(self.orders.values())

    def fills_since(self, after: datetime) -> list[FillView]:
        return []

    def submit_close(self, symbol: str, position_qty: Decimal, client_order_id: str) -> BrokerOrder:
        if [o for o in self.open_orders(symbol) if o.parent_client_order_id or o.order_type == "stop"]:
            raise BrokerRejected("40310000", "insufficient qty available for order")
        return self._fill(client_order_id, symbol, -position_qty)


class MemoryBrokers:
    def __init__(self, paper: MemoryBroker | None = None, live: MemoryBroker | None = None) -> None:
        self._by_mode = {Mode.PAPER: paper or MemoryBroker(Mode.PAPER), Mode.LIVE: live}

    def for_mode(self, mode: Mode) -> MemoryBroker | None:
        return self._by_mode.get(mode)


class MemorySearchIndex:
    def __init__(self) -> None:
        self.documents: dict[tuple[str, str], Mapping[str, Any]] = {}

    def bulk(self, actions: Sequence[IndexAction]) -> list[str]:
        for action in actions:
            if action.document is None:
                self.documents.pop((action.index, action.doc_id), None)
            else:
                self.documents[(action.index, action.doc_id)] = action.document
        return []

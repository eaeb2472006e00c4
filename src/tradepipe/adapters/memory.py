"""In-memory implementations of the ports: unit tests and the backtest run the same use cases on them."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from tradepipe.contracts.items import OrderItem, SignalItem, StatusEntry
from tradepipe.contracts.messages import OrderIntent, SignalAccepted
from tradepipe.domain.model import Mode, SignalStatus
from tradepipe.ports import BrokerOrder, BrokerRejected, IndexAction


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

    def advance(
        self,
        signal_id: str,
        entry: StatusEntry,
        allowed_from: frozenset[SignalStatus],
        fields: Mapping[str, Any] | None = None,
    ) -> bool:
        with self._lock:
            item = self.items.get(signal_id)
            if item is None or item.status not in allowed_from:
                return False
            self.items[signal_id] = item.model_copy(
                update={
                    "status": entry.status,
                    "updated_at": entry.at,
                    "history": [*item.history, entry],
                    **(fields or {}),
                }
            )
            return True


class MemoryOrderStore:
    def __init__(self) -> None:
        self.items: dict[str, OrderItem] = {}

    def record_intent(self, item: OrderItem) -> bool:
        if item.client_order_id in self.items:
            return False
        self.items[item.client_order_id] = item
        return True

    def get(self, client_order_id: str) -> OrderItem | None:
        return self.items.get(client_order_id)

    def update(self, client_order_id: str, fields: Mapping[str, Any]) -> None:
        self.items[client_order_id] = self.items[client_order_id].model_copy(update=dict(fields))


class MemoryQueue:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, message: SignalAccepted | OrderIntent) -> None:
        self.sent.append(message)


class MemoryBroker:
    """Fills every order at once; `reject_with` turns the next submissions into business rejections."""

    def __init__(self, mode: Mode = Mode.PAPER) -> None:
        self.mode = mode
        self.orders: dict[str, BrokerOrder] = {}
        self.submissions = 0
        self.reject_with: tuple[str, str] | None = None
        self.fill_price: Any = None

    def find_order(self, client_order_id: str) -> BrokerOrder | None:
        return self.orders.get(client_order_id)

    def submit(self, intent: OrderIntent) -> BrokerOrder:
        self.submissions += 1
        if self.reject_with:
            raise BrokerRejected(*self.reject_with)
        if intent.client_order_id in self.orders:
            raise BrokerRejected("40010001", "client_order_id must be unique")
        now = datetime.now(UTC)
        order = BrokerOrder(
            broker_order_id=f"b-{len(self.orders) + 1}",
            client_order_id=intent.client_order_id,
            status="filled",
            qty=Decimal(intent.qty),
            filled_qty=Decimal(intent.qty),
            filled_avg_price=self.fill_price,
            submitted_at=now,
            filled_at=now,
        )
        self.orders[intent.client_order_id] = order
        return order


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

"""The executor and the reconciler against the Alpaca-like paper broker (real alpaca-py, the broker's own
clock moved by the use cases' waits): every window in which a position could be left without its stop.

The broker's clock is a ManualClock and the use cases' `sleep` advances it, so "wait 0.25 s, read once" is
exact: whether the broker has confirmed a cancel (50 ms) or filled a market order (20 + 30 ms) by then is
decided by the broker's stated delays, not by this machine's load."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, QueryOrderStatus, TimeInForce
from alpaca.trading.models import Order, Position
from alpaca.trading.requests import GetOrdersRequest

from tests.integration.broker_helpers import limit, market, trading_client
from tests.integration.conftest import BROKER_KEY, BROKER_SECRET
from tradepipe.adapters.alpaca import AlpacaBroker
from tradepipe.adapters.memory import MemoryOrderStore, MemoryQueue, MemorySignalStore
from tradepipe.adapters.memory_risk import MemoryEventPublisher, MemoryRiskStateStore
from tradepipe.app.execute import ExecutorDeps, execute_intent
from tradepipe.app.minute_schedule import ReleaseDeps, release_queued_closes
from tradepipe.app.placement import NotYet
from tradepipe.app.reconcile import ReconcileDeps, reconcile
from tradepipe.contracts.items import SignalItem, StatusEntry, StatusUpdate
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Mode, Side, SignalStatus
from tradepipe.domain.order_status import STOP_TYPES, is_working
from tradepipe.local.paper_broker import ManualClock
from tradepipe.ports.broker import BrokerOrder, BrokerRejected

TICKER = "IBM"
PRICE = Decimal("200.00")  # bid 199.96 / ask 200.04 under the 2 bp spread
STOP = Decimal("190.00")
TARGET = Decimal("210.00")
AFTER_HOURS = datetime(2026, 12, 2, 22, 0, tzinfo=UTC)  # 17:00 New York, Wednesday
NEXT_OPEN = datetime(2026, 12, 3, 14, 30, tzinfo=UTC)  # 09:30 New York, Thursday


class BrokerTime:
    """The use cases' clock and sleep are the broker's: a wait moves the broker's lifecycle along."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    def sleep(self, seconds: float) -> None:
        self._clock.advance(seconds)


class OneBroker:
    def __init__(self, broker: AlpacaBroker) -> None:
        self.broker = broker

    def for_mode(self, mode: Mode) -> AlpacaBroker | None:
        return self.broker if mode is Mode.PAPER else None


class RefusingCloses(AlpacaBroker):
    """Alpaca refusing the close (a halted symbol, an account restriction): the rest is the real broker."""

    def submit_close(self, symbol: str, position_qty: Decimal, client_order_id: str) -> BrokerOrder:
        raise BrokerRejected("40310000", "asset IBM is not tradable right now")


@dataclass
class World:
    url: str
    clock: ManualClock
    client: TradingClient
    signals: MemorySignalStore = field(default_factory=MemorySignalStore)
    orders: MemoryOrderStore = field(default_factory=MemoryOrderStore)
    risk: MemoryRiskStateStore = field(default_factory=MemoryRiskStateStore)
    events: MemoryEventPublisher = field(default_factory=MemoryEventPublisher)
    broker_type: type[AlpacaBroker] = AlpacaBroker

    def brokers(self) -> OneBroker:
        return OneBroker(self.broker_type(Mode.PAPER, BROKER_KEY, BROKER_SECRET, url_override=self.url))

    def executor(self, **over: Any) -> ExecutorDeps:
        time = BrokerTime(self.clock)
        fields: dict[str, Any] = {
            "signals": self.signals,
            "orders": self.orders,
            "brokers": self.brokers(),
            "clock": time,
            "history": self.risk,
            "leases": self.risk,
            "queued": self.risk,
            "closes": self.risk,
            "events": self.events,
            "sleep": time.sleep,
        }
        return ExecutorDeps(**(fields | over))

    def reconciler(self) -> ReconcileDeps:
        from tradepipe.app.patient_broker import Patience

        time = BrokerTime(self.clock)
        return ReconcileDeps(
            signals=self.signals,
            orders=self.orders,
            fills=_NoFills(),
            brokers=self.brokers(),
            history=self.risk,
            positions=self.risk,
            events=self.events,
            clock=time,
            leases=self.risk,
            patience=Patience(sleep=time.sleep),
        )

    def settle(self, seconds: float = 0.2) -> None:
        """Past every delay of the Alpaca behaviour: what the broker was doing is done."""
        self.clock.advance(seconds)

    def intent(self, signal_id: str, kind: str = "open", side: Side = Side.BUY, **over: Any) -> OrderIntent:
        """The intent the risk stage would send, its signal recorded SIZED with it (as risk records it)."""
        fields: dict[str, Any] = {
            "intent_id": f"{signal_id}:{kind}",
            "client_order_id": f"tp-{signal_id}-{'close' if kind == 'close' else 'open'}",
            "close_client_order_id": f"tp-{signal_id}-close",
            "kind": kind,
            "signal_id": signal_id,
            "mode": Mode.PAPER,
            "strategy": "async",
            "symbol": TICKER,
            "sized_at": self.clock(),
        }
        if kind == "open":
            fields |= {
                "side": side,
                "qty": Decimal(10),
                "reference_price": PRICE,
                "take_profit": TARGET if side is Side.BUY else Decimal("190.00"),
                "stop_loss": STOP if side is Side.BUY else Decimal("210.00"),
            }
        intent = OrderIntent(**(fields | over))
        self.signals.record_new(
            SignalItem(
                signal_id=signal_id,
                status=SignalStatus.SIZED,
                received_at=self.clock(),
                updated_at=self.clock(),
                expires_at=0,
                history=[StatusEntry(status=SignalStatus.SIZED, at=self.clock())],
                ticker=TICKER,
                intent=intent.model_dump_json(),
            )
        )
        return intent

    def held(self) -> Decimal:
        for p in self.client.get_all_positions():
            if isinstance(p, Position) and p.symbol == TICKER:
                return abs(Decimal(str(p.qty))) * (
                    -1 if str(getattr(p.side, "value", p.side)) == "short" else 1
                )
        return Decimal(0)

    def open_orders(self) -> list[Order]:
        request = GetOrdersRequest(status=QueryOrderStatus.OPEN, symbols=[TICKER], nested=True)
        found: list[Order] = []
        for o in self.client.get_orders(request):
            if isinstance(o, Order):
                found.extend([o, *(o.legs or [])])
        return [
            o for o in found if _status(o) not in ("filled", "canceled", "expired", "rejected", "replaced")
        ]

    def working_stops(self) -> list[Order]:
        return [
            o
            for o in self.open_orders()
            if str(getattr(o.type, "value", o.type)) in STOP_TYPES and is_working(_status(o))
        ]

    def status(self, signal_id: str) -> SignalStatus:
        item = self.signals.get(signal_id)
        assert item is not None
        return item.status

    def open_long(self, signal_id: str = "o" * 32) -> None:
        """A filled bracket: 10 IBM long, stop 190, target 210 (both legs working)."""
        execute_intent(self.intent(signal_id), self.executor())
        self.settle()
        assert self.held() == 10
        assert [Decimal(str(o.stop_price)) for o in self.working_stops()] == [STOP]


class _NoFills:
    """The fills table is the reconciler's own business (tested in test_reconciler_exits.py)."""

    def record_fill(self, *args: Any) -> bool:
        return False

    def net_quantity(self, mode: str, symbol: str) -> Decimal:
        return Decimal(0)


def _status(order: Order) -> str:
    return str(getattr(order.status, "value", order.status))


@pytest.fixture
def world(running_broker: Any, broker_clock: ManualClock, admin: httpx.Client) -> World:
    admin.post("/_paper/prices", json={TICKER: str(PRICE)}).raise_for_status()
    return World(running_broker.url, broker_clock, trading_client(running_broker.url))


def _timed(world: World, rate: float = 1.0) -> tuple[list[float], Callable[[float], None]]:
    """The executor's sleep, the broker's clock running at `rate` of it (a busy market); and its waits."""
    waits: list[float] = []
    time = BrokerTime(world.clock)

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds * rate)

    return waits, sleep


# --- closing --------------------------------------------------------------------------------------------


def test_close_while_legs_pending_cancel_then_retried_and_never_sent_against_held_shares(
    world: World,
) -> None:
    world.open_long()
    exit_intent = world.intent("x" * 32, kind="close")
    # Our one read comes before the broker's 50 ms cancel: the legs are still pending_cancel.
    impatient = world.executor(cancel_wait_s=0.01)

    with pytest.raises(NotYet, match="not yet canceled"):
        execute_intent(exit_intent, impatient)

    assert world.held() == 10
    assert {_status(o) for o in world.open_orders()} == {"pending_cancel"}
    assert not [o for o in _all_orders(world) if o.client_order_id == exit_intent.close_client_order_id]
    assert world.status(exit_intent.signal_id) is SignalStatus.SIZED

    world.settle()  # the broker confirms the cancels; the queue redelivers the message
    execute_intent(exit_intent, impatient)
    world.settle()

    assert world.held() == 0
    closes = [o for o in _all_orders(world) if o.client_order_id == exit_intent.close_client_order_id]
    assert len(closes) == 1
    # Answered pending_new; the executor's read back at 0.1 s (> 20 + 30 ms) sees the fill.
    assert world.status(exit_intent.signal_id) is SignalStatus.FILLED
    (exited,) = world.events.of_type("ExitFilled")
    assert (exited["position"], exited["qty"], exited["exit_reason"]) == ("long", "10", "signal")
    assert exited["r_multiple"] is not None


def test_close_refused_then_protection_restored_for_the_quantity_held(world: World) -> None:
    world.open_long()
    world.broker_type = RefusingCloses
    exit_intent = world.intent("r" * 32, kind="close")

    execute_intent(exit_intent, world.executor())
    world.settle()

    assert world.held() == 10
    stops = world.working_stops()
    assert [(Decimal(str(o.stop_price)), Decimal(str(o.qty)), _status(o)) for o in stops] == [
        (STOP, Decimal(10), "new")
    ]
    item = world.signals.get(exit_intent.signal_id)
    assert item is not None
    assert (item.status, item.reject_reason) == (SignalStatus.REJECTED, "BROKER_REJECTED")
    assert "protection restored: stop sell 10 @ 190" in (item.reject_detail or "")


def test_exit_while_flat_cancels_the_pending_entry_and_the_entry_queued_for_the_open(world: World) -> None:
    resting = world.client.submit_order(limit(TICKER, 10, 150.0, tif=TimeInForce.DAY))  # not marketable
    assert isinstance(resting, Order)
    world.intent("q" * 32)  # an entry waiting in the open queue
    world.signals.advance("q" * 32, StatusUpdate.to(SignalStatus.QUEUED, world.clock()))
    world.risk.queue_entry("paper", TICKER, "q" * 32, world.clock())
    exit_intent = world.intent("f" * 32, kind="close")

    execute_intent(exit_intent, world.executor())
    world.settle()

    assert world.held() == 0
    assert _status(_by_id(world, str(resting.id))) == "canceled"
    assert world.risk.take_queued("paper") == []
    assert world.status("q" * 32) is SignalStatus.REJECTED
    item = world.signals.get(exit_intent.signal_id)
    assert item is not None
    assert item.status is SignalStatus.COMPLETED
    assert "canceled 1 pending orders" in (item.history[-1].detail or "")


def test_exit_after_hours_keeps_the_legs_and_queues_the_close_for_the_open(world: World) -> None:
    world.open_long()
    world.clock.set(AFTER_HOURS)
    exit_intent = world.intent("h" * 32, kind="close")

    execute_intent(exit_intent, world.executor())
    world.settle()

    assert world.held() == 10
    assert [Decimal(str(o.stop_price)) for o in world.working_stops()] == [STOP]  # protected overnight
    assert world.risk.queued_closes("paper") == {TICKER: exit_intent.signal_id}
    assert world.status(exit_intent.signal_id) is SignalStatus.SIZED

    intents = MemoryQueue()
    release = ReleaseDeps(
        world.signals,
        world.risk,
        world.brokers(),
        MemoryQueue(),
        world.risk,
        closes=world.risk,
        intents=intents,
    )
    assert release_queued_closes(release) == 0  # still closed
    world.clock.set(NEXT_OPEN + timedelta(minutes=1))
    assert release_queued_closes(release) == 1
    assert world.risk.queued_closes("paper") == {}

    (released,) = intents.sent
    assert released.intent_id != exit_intent.intent_id  # not a FIFO duplicate of the exit's first delivery
    assert released.close_client_order_id == exit_intent.close_client_order_id
    execute_intent(released, world.executor())
    world.settle()
    assert world.held() == 0


def test_reverse_opens_only_after_its_close_has_filled(world: World) -> None:
    world.open_long()
    reverse = world.intent("v" * 32, side=Side.SELL)
    # Our read of the close comes before the broker fills it (20 + 30 ms): the message is retried.
    impatient = world.executor(fill_wait_s=0.01)

    with pytest.raises(NotYet, match="opens once it has filled"):
        execute_intent(reverse, impatient)
    assert not [o for o in _all_orders(world) if o.client_order_id == reverse.client_order_id]

    world.settle()
    execute_intent(reverse, impatient)
    world.settle()

    assert world.held() == -10
    assert [Decimal(str(o.stop_price)) for o in world.working_stops()] == [Decimal("210.00")]


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        # Prompt: the legs' cancels are confirmed 50 ms after the request, the close fills 20 + 30 ms after it
        # is sent: every read back at 0.1 s finds it done, so the position is without its stops for ~0.2 s.
        (1.0, [0.1] * 3),
        # Slow: the same 50 ms take 125 ms of ours: each first read at 0.1 s finds the cancel pending (its
        # shares still held) or the order working; each second read at 0.25 s finds it done.
        (0.4, [0.1, 0.15] * 3),
    ],
    ids=["prompt broker: one short wait a step", "slow broker: a second read at each step"],
)
def test_a_reverse_goes_through_reading_back_each_step(
    world: World, rate: float, expected: list[float]
) -> None:
    world.open_long()
    reverse = world.intent("w" * 32, side=Side.SELL)
    waits, sleep = _timed(world, rate)

    execute_intent(reverse, world.executor(sleep=sleep))
    world.settle()

    assert waits == pytest.approx(expected)  # the cancels, the close's fill, the new entry's fill
    assert world.held() == -10
    assert [Decimal(str(o.stop_price)) for o in world.working_stops()] == [Decimal("210.00")]


def test_a_cancel_still_pending_at_the_second_read_sends_no_close(world: World) -> None:
    # Slower still: the legs are pending_cancel at both reads, their shares held: no close goes out, the
    # message is retried.
    world.open_long()
    reverse = world.intent("y" * 32, side=Side.SELL)
    waits, sleep = _timed(world, 0.1)

    with pytest.raises(NotYet, match="not yet canceled"):
        execute_intent(reverse, world.executor(sleep=sleep))

    assert waits == pytest.approx([0.1, 0.15])
    assert not [o for o in _all_orders(world) if o.client_order_id == reverse.close_client_order_id]
    assert world.held() == 10


def test_order_rule_broken_before_sending_is_order_invalid_without_a_broker_call(world: World) -> None:
    bad = world.intent("i" * 32, stop_loss=Decimal("190.005"))  # off the tick grid

    execute_intent(bad, world.executor())

    item = world.signals.get(bad.signal_id)
    assert item is not None
    assert (item.status, item.reject_reason) == (SignalStatus.REJECTED, "ORDER_INVALID")
    assert "tick" in (item.reject_detail or "")
    assert _all_orders(world) == []


# --- the reconciler keeps the invariant ------------------------------------------------------------------


def test_reconciler_rearms_a_position_whose_leg_was_cancelled_by_hand(world: World) -> None:
    world.open_long()
    (stop_leg,) = world.working_stops()
    world.client.cancel_order_by_id(stop_leg.id)  # cancels the exit pair
    world.settle()
    assert world.working_stops() == []

    report = reconcile(Mode.PAPER, world.reconciler())
    world.settle()

    assert len(report.protection.rearmed) == 1
    assert report.metrics()["PositionUnprotected"] == 1
    stops = world.working_stops()
    assert [(Decimal(str(o.stop_price)), Decimal(str(o.qty))) for o in stops] == [(STOP, Decimal(10))]
    (unprotected,) = world.events.of_type("PositionUnprotected")
    assert (unprotected["qty"], unprotected["covered_qty"]) == ("10", "0")
    (rearmed,) = world.events.of_type("PositionRearmed")
    assert rearmed["stop_price"] == "190.00"
    # Covered again: the next run finds nothing to do.
    assert reconcile(Mode.PAPER, world.reconciler()).protection.unprotected == []


def test_reconciler_closes_the_uncovered_quantity_when_the_price_is_already_through_the_stop(
    world: World, admin: httpx.Client
) -> None:
    world.open_long()
    (stop_leg,) = world.working_stops()
    world.client.cancel_order_by_id(stop_leg.id)
    world.settle()
    admin.post("/_paper/prices", json={TICKER: "185.00"}).raise_for_status()

    report = reconcile(Mode.PAPER, world.reconciler())
    world.settle()

    assert len(report.protection.flattened) == 1
    assert world.held() == 0
    assert world.events.of_type("PositionRearmed") == []


def test_reconciler_reports_a_manual_position_and_does_not_touch_it(world: World) -> None:
    world.client.submit_order(market(TICKER, 5, OrderSide.BUY))
    world.settle()

    report = reconcile(Mode.PAPER, world.reconciler())
    world.settle()

    assert len(report.protection.unprotected) == 1
    assert "not opened by tradepipe" in report.protection.unprotected[0]
    assert world.working_stops() == []
    assert world.held() == 5


def test_reconciler_leaves_a_ticker_the_executor_holds(world: World) -> None:
    world.open_long()
    (stop_leg,) = world.working_stops()
    world.client.cancel_order_by_id(stop_leg.id)
    world.settle()
    assert world.risk.acquire_lease("paper", TICKER, "executor:someone", world.clock(), 30)

    report = reconcile(Mode.PAPER, world.reconciler())

    assert report.protection.in_flight == [TICKER]
    assert world.working_stops() == []
    world.risk.release_lease("paper", TICKER, "executor:someone")
    assert len(reconcile(Mode.PAPER, world.reconciler()).protection.rearmed) == 1


def _all_orders(world: World) -> list[Order]:
    orders = world.client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, limit=500, nested=False))
    return [o for o in orders if isinstance(o, Order)]


def _by_id(world: World, order_id: str) -> Order:
    order = world.client.get_order_by_id(order_id)
    assert isinstance(order, Order)
    return order


def test_entry_still_working_after_the_fill_wait_is_submitted_and_filled_by_the_reconciler(
    world: World,
) -> None:
    entry = world.intent("s" * 32)

    execute_intent(entry, world.executor(fill_wait_s=0.01))  # read before the broker's 20 + 30 ms fill

    assert world.status(entry.signal_id) is SignalStatus.SUBMITTED
    world.settle()
    reconcile(Mode.PAPER, world.reconciler())
    assert world.status(entry.signal_id) is SignalStatus.FILLED
    (filled,) = world.events.of_type("EntryFilled")
    assert (filled["qty"], filled["stop_loss"]) == ("10", "190.00")


def test_entry_filled_by_the_first_read_frees_the_ticker_after_one_short_wait(world: World) -> None:
    # The broker fills a market order 20 + 30 ms after it is sent: the read at 0.1 s sees it, and the ticker's
    # next intent (another strategy at the same bar close) does not wait out the rest of the 0.25 s.
    entry = world.intent("q" * 32)
    waits, sleep = _timed(world)

    execute_intent(entry, world.executor(sleep=sleep))

    assert waits == [0.1]
    assert world.status(entry.signal_id) is SignalStatus.FILLED


def test_a_fill_slower_than_the_first_read_is_still_seen_within_the_fill_wait(world: World) -> None:
    # A busy market: the broker's 20 + 30 ms take 125 ms of ours (its clock runs at 0.4 of the executor's).
    # Still working at the 0.1 s read, filled by the second read at 0.25 s: a fill the single read at 0.25 s
    # saw is seen as before, before the ticker's next intent runs.
    entry = world.intent("r" * 32)
    waits, slow_sleep = _timed(world, 0.4)

    execute_intent(entry, world.executor(sleep=slow_sleep))

    assert waits == pytest.approx([0.1, 0.15])
    assert world.status(entry.signal_id) is SignalStatus.FILLED


def test_a_rearmed_stop_that_fills_is_a_stop_out_with_its_exit_published(
    world: World, admin: httpx.Client
) -> None:
    world.open_long()
    (stop_leg,) = world.working_stops()
    world.client.cancel_order_by_id(stop_leg.id)
    world.settle()
    reconcile(Mode.PAPER, world.reconciler())
    world.settle()
    admin.post("/_paper/prices", json={TICKER: "189.00"}).raise_for_status()  # through the re-armed stop
    world.settle()

    reconcile(Mode.PAPER, world.reconciler())

    assert world.held() == 0
    _, last_stop_out, _ = world.risk.symbol_history("paper", TICKER, "async")
    assert last_stop_out is not None
    (exited,) = world.events.of_type("ExitFilled")
    assert (exited["exit_reason"], exited["position"], exited["qty"]) == ("stop_loss", "long", "10")
    assert Decimal(exited["pnl"]) < 0


def test_a_bracket_leg_fill_publishes_its_exit_once_however_many_sweeps_meet_it(
    world: World, admin: httpx.Client
) -> None:
    world.open_long()
    admin.post("/_paper/prices", json={TICKER: "211.00"}).raise_for_status()  # through the take-profit
    world.settle()

    reconcile(Mode.PAPER, world.reconciler())
    reconcile(Mode.PAPER, world.reconciler())

    assert world.held() == 0
    (exited,) = world.events.of_type("ExitFilled")
    assert (exited["exit_reason"], exited["position"], exited["qty"]) == ("take_profit", "long", "10")
    assert Decimal(exited["r_multiple"]) > 0

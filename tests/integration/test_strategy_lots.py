"""Several strategies on one ticker of one account, through the executor and the reconciler against the
Alpaca-like paper broker (real alpaca-py; wash-trade, held-quantity and complex-order rules on): who owns
which shares (lots), an exit that closes its own strategy's shares only, flatten, and a crash in between."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.integration import test_async_lifecycle as lifecycle
from tests.integration.test_async_lifecycle import (
    AFTER_HOURS,
    NEXT_OPEN,
    STOP,
    TARGET,
    TICKER,
    BrokerTime,
    World,
    _all_orders,
)
from tradepipe.adapters.alpaca import AlpacaBroker
from tradepipe.adapters.lots import MemoryLotStore
from tradepipe.adapters.memory import MemoryQueue
from tradepipe.app.documents import fill_document
from tradepipe.app.execute import ExecutorDeps, execute_intent
from tradepipe.app.flatten import FLATTEN, FlattenDeps, request_flatten
from tradepipe.app.placement import NotYet
from tradepipe.app.reconcile import ReconcileDeps, reconcile
from tradepipe.contracts.items import FillItem
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Mode, OrderType, Side, SignalStatus
from tradepipe.ports.broker import BrokerRejected, BrokerUnavailable, FillView, HoldingView

B_STOP, B_TARGET = Decimal("192.00"), Decimal("212.00")
world = lifecycle.world  # the broker at its session start, IBM at 200.00 (the lifecycle tests' fixture)


class Desk:
    """The world with the lots the composition root gives the executor and the reconciler."""

    def __init__(self, base: World) -> None:
        self.world = base
        self.lots = MemoryLotStore()

    def executor(self, **over: Any) -> ExecutorDeps:
        return self.world.executor(lots=self.lots, **over)

    def reconciler(self) -> ReconcileDeps:
        return replace(self.world.reconciler(), lots=self.lots)

    def enter(self, signal_id: str, strategy: str, qty: int, stop: Decimal, target: Decimal) -> None:
        intent = self.world.intent(
            signal_id, strategy=strategy, qty=Decimal(qty), stop_loss=stop, take_profit=target
        )
        self.owned_by(signal_id, strategy)
        execute_intent(intent, self.executor())
        self.world.settle()

    def owned_by(self, signal_id: str, strategy: str) -> None:
        """The signal's strategy, as intake records it from the alert (the lifecycle world leaves it out)."""
        signals = self.world.signals.items
        signals[signal_id] = signals[signal_id].model_copy(update={"strategy": strategy})

    def owners(self) -> dict[str, Decimal]:
        return {lot.strategy: lot.qty for lot in self.lots.lots("paper", TICKER)}

    def stops(self) -> list[tuple[Decimal, Decimal]]:
        """Working stops as (price, qty), bracket legs whose entry filled included (held until triggered)."""
        return sorted(
            (Decimal(str(o.stop_price)), Decimal(str(o.qty)) - Decimal(str(o.filled_qty or 0)))
            for o in self.world.working_stops()
        )


@pytest.fixture
def desk(world: World) -> Desk:
    return Desk(world)


def _two_strategies(desk: Desk) -> None:
    desk.enter("a" * 32, "alpha", 10, STOP, TARGET)
    desk.enter("b" * 32, "beta", 5, B_STOP, B_TARGET)


def test_two_strategies_enter_one_ticker_then_both_owners_recorded_and_every_share_protected(
    desk: Desk,
) -> None:
    _two_strategies(desk)

    assert desk.world.status("b" * 32) is SignalStatus.FILLED  # no wash-trade refusal
    assert desk.world.held() == 15
    assert desk.owners() == {"alpha": Decimal(10), "beta": Decimal(5)}
    # Each strategy keeps its own stop: together they cover the combined position, share for share.
    assert desk.stops() == [(STOP, Decimal(10)), (B_STOP, Decimal(5))]
    (beta,) = [lot for lot in desk.lots.lots("paper", TICKER) if lot.strategy == "beta"]
    assert (beta.lot_id, beta.stop_price) == ("tp-" + "b" * 32 + "-open", B_STOP)
    assert beta.entry_price > 0
    assert reconcile(Mode.PAPER, desk.reconciler()).protection.unprotected == []


def test_a_fill_seen_again_by_the_reconciler_does_not_record_the_lot_twice(desk: Desk) -> None:
    _two_strategies(desk)

    reconcile(Mode.PAPER, desk.reconciler())
    reconcile(Mode.PAPER, desk.reconciler())

    assert desk.owners() == {"alpha": Decimal(10), "beta": Decimal(5)}


def test_an_entry_fill_only_the_reconciler_sees_records_the_lot(desk: Desk) -> None:
    intent = desk.world.intent("c" * 32, strategy="gamma", qty=Decimal(4), stop_loss=STOP, take_profit=TARGET)
    execute_intent(intent, desk.executor(fill_wait_s=0.0))  # our one read comes before the fill
    assert desk.owners() == {}
    desk.world.settle()

    reconcile(Mode.PAPER, desk.reconciler())

    assert desk.owners() == {"gamma": Decimal(4)}


def test_a_strategy_exit_closes_its_own_shares_only_and_the_other_stays_protected(desk: Desk) -> None:
    _two_strategies(desk)
    exit_alpha = desk.world.intent("x" * 32, kind="close", strategy="alpha")

    execute_intent(exit_alpha, desk.executor())
    desk.world.settle()

    assert desk.world.held() == 5
    assert desk.world.status("x" * 32) is SignalStatus.FILLED
    assert desk.owners() == {"beta": Decimal(5)}
    # beta's legs were never touched: its stop and its take-profit work as they did.
    assert desk.stops() == [(B_STOP, Decimal(5))]
    (close,) = [o for o in _all_orders(desk.world) if o.client_order_id == exit_alpha.close_client_order_id]
    assert Decimal(str(close.qty)) == 10
    (exited,) = desk.world.events.of_type("ExitFilled")
    assert (exited["strategy"], exited["qty"]) == ("alpha", "10")
    assert reconcile(Mode.PAPER, desk.reconciler()).protection.unprotected == []
    assert desk.owners() == {"beta": Decimal(5)}


def test_an_exit_from_a_strategy_without_shares_closes_nothing(desk: Desk) -> None:
    _two_strategies(desk)

    execute_intent(desk.world.intent("n" * 32, kind="close", strategy="delta"), desk.executor())
    desk.world.settle()

    assert desk.world.held() == 15
    assert desk.world.status("n" * 32) is SignalStatus.COMPLETED
    assert desk.stops() == [(STOP, Decimal(10)), (B_STOP, Decimal(5))]


def test_an_exit_cut_by_a_crash_after_its_cancels_is_completed_by_the_redelivery_and_the_others_kept(
    desk: Desk,
) -> None:
    _two_strategies(desk)
    exit_alpha = desk.world.intent("k" * 32, kind="close", strategy="alpha")
    impatient = desk.executor(cancel_wait_s=0.01)  # the process dies before it sees its cancels done
    with pytest.raises(NotYet):
        execute_intent(exit_alpha, impatient)
    desk.world.settle()

    # Meanwhile the reconciler runs: alpha's shares are uncovered, beta's are not; nothing is re-armed on
    # top of beta's legs, and alpha's lot gets its own stop back.
    report = reconcile(Mode.PAPER, desk.reconciler())
    desk.world.settle()
    assert [r.split(":")[0] for r in report.protection.rearmed] == [TICKER]
    assert desk.stops() == [(STOP, Decimal(10)), (B_STOP, Decimal(5))]

    execute_intent(exit_alpha, desk.executor())  # the queue redelivers the exit
    desk.world.settle()

    assert desk.world.held() == 5
    assert desk.owners() == {"beta": Decimal(5)}
    assert desk.stops() == [(B_STOP, Decimal(5))]


def test_a_leg_fill_of_one_strategy_shrinks_its_lot_only(desk: Desk, admin: Any) -> None:
    _two_strategies(desk)
    admin.post("/_paper/prices", json={TICKER: "211.00"}).raise_for_status()  # alpha's target, not beta's
    desk.world.settle()

    reconcile(Mode.PAPER, desk.reconciler())

    assert desk.world.held() == 5
    assert desk.owners() == {"beta": Decimal(5)}


def _limits(desk: Desk) -> list[tuple[Decimal, Decimal]]:
    return sorted(
        (Decimal(str(o.limit_price)), Decimal(str(o.qty)))
        for o in desk.world.open_orders()
        if str(getattr(o.type, "value", o.type)) == "limit"
    )


def _simple_entry(desk: Desk) -> Any:
    """beta's entry without exit legs (a profile with `stop_required = false`): a simple market order, which
    Alpaca refuses as a wash trade against alpha's working take-profit."""
    return desk.world.intent("o" * 32, strategy="beta", qty=Decimal(5), stop_loss=None, take_profit=None)


def test_a_simple_entry_replaces_the_other_lots_protection_instead_of_a_wash_trade(desk: Desk) -> None:
    desk.enter("a" * 32, "alpha", 10, STOP, TARGET)
    simple = _simple_entry(desk)

    execute_intent(simple, desk.executor())
    desk.world.settle()

    assert desk.world.status("o" * 32) is SignalStatus.FILLED
    assert desk.world.held() == 15
    assert desk.owners() == {"alpha": Decimal(10), "beta": Decimal(5)}
    # alpha's stop and take-profit are back as one OCO for its 10 shares; beta's 5 carry no stop of their own.
    assert desk.stops() == [(STOP, Decimal(10))]
    assert _limits(desk) == [(TARGET, Decimal(10))]
    (unprotected,) = reconcile(Mode.PAPER, desk.reconciler()).protection.unprotected
    assert "carried no stop" in unprotected  # beta's, reported: never covered by alpha's stop


def test_a_replacement_cut_by_a_crash_is_rearmed_by_the_reconciler_and_completed_by_the_redelivery(
    desk: Desk,
) -> None:
    desk.enter("a" * 32, "alpha", 10, STOP, TARGET)
    simple = _simple_entry(desk)
    with pytest.raises(NotYet):  # the process dies after asking for alpha's cancels
        execute_intent(simple, desk.executor(cancel_wait_s=0.01))
    desk.world.settle()
    assert desk.stops() == []  # alpha's shares are without a stop: the reconciler's to see

    report = reconcile(Mode.PAPER, desk.reconciler())
    desk.world.settle()

    assert len(report.protection.rearmed) == 1
    assert desk.stops() == [(STOP, Decimal(10))]  # alpha's own stop, for alpha's own shares

    execute_intent(simple, desk.executor())  # the queue redelivers beta's entry
    desk.world.settle()

    assert desk.world.held() == 15
    assert desk.stops() == [(STOP, Decimal(10))]
    assert _limits(desk) == [(TARGET, Decimal(10))]


class RefusesThenTimesOut(AlpacaBroker):
    """Alpaca refuses beta's entry (say, 403 insufficient buying power); the positions read that puts back
    alpha's protection then times out on every attempt, so that delivery fails after the refusal is
    recorded on the order."""

    refused = False

    def submit(self, intent: OrderIntent) -> Any:
        if intent.strategy == "beta":
            RefusesThenTimesOut.refused = True
            raise BrokerRejected("40310000", "insufficient buying power")
        return super().submit(intent)

    def holdings(self) -> dict[str, HoldingView]:
        if RefusesThenTimesOut.refused:
            raise BrokerUnavailable("read timed out")
        return super().holdings()


def test_a_refused_entry_whose_delivery_failed_after_is_rejected_and_protected_by_the_redelivery(
    desk: Desk,
) -> None:
    desk.enter("a" * 32, "alpha", 10, STOP, TARGET)
    desk.world.broker_type = RefusesThenTimesOut
    simple = _simple_entry(desk)
    desk.owned_by("o" * 32, "beta")
    with pytest.raises(BrokerUnavailable):  # alpha's protection, lifted for beta's entry, not yet back
        execute_intent(simple, desk.executor())
    RefusesThenTimesOut.refused = False
    assert desk.stops() == []

    redelivered = execute_intent(simple, desk.executor())  # the queue gives the message back
    desk.world.settle()

    assert redelivered.rejected == "BROKER_REJECTED"
    item = desk.world.signals.get("o" * 32)
    assert item is not None
    assert item.status is SignalStatus.REJECTED  # its message is deleted now: it must not stay SIZED
    assert item.reject_reason == "BROKER_REJECTED"
    assert item.history[-1].detail == "alpaca 40310000: insufficient buying power"
    assert desk.stops() == [(STOP, Decimal(10))]  # alpha's shares protected again
    assert desk.world.held() == 10


def test_flatten_closes_every_strategy_and_clears_the_lots(desk: Desk) -> None:
    _two_strategies(desk)
    queue = MemoryQueue()
    deps = FlattenDeps(desk.world.signals, queue, BrokerTime(desk.world.clock))
    requested = request_flatten(Mode.PAPER, TICKER.lower(), "ops", deps)
    (flatten,) = queue.sent
    recorded = desk.world.signals.get(requested.signal_id)
    assert recorded is not None
    assert recorded.intent == flatten.model_dump_json()
    assert (flatten.kind, flatten.symbol, recorded.status) == ("flatten", TICKER, SignalStatus.SIZED)

    execute_intent(flatten, desk.executor())
    desk.world.settle()

    assert desk.world.held() == 0
    assert desk.owners() == {}
    assert desk.world.open_orders() == []
    assert desk.world.status(requested.signal_id) is SignalStatus.FILLED
    assert reconcile(Mode.PAPER, desk.reconciler()).protection.unprotected == []


def test_a_flatten_whose_fill_only_the_reconciler_sees_still_clears_the_lots(desk: Desk) -> None:
    _two_strategies(desk)
    flatten = desk.world.intent(
        "f" * 32, kind="flatten", strategy=FLATTEN, client_order_id="tp-" + "f" * 32 + "-close"
    )
    execute_intent(flatten, desk.executor(fill_wait_s=0.0))  # the executor dies before it sees the fill
    assert desk.owners() == {"alpha": Decimal(10), "beta": Decimal(5)}
    desk.world.settle()

    reconcile(Mode.PAPER, desk.reconciler())

    assert desk.world.held() == 0
    assert desk.owners() == {}


class RecordedFills:
    """The fills table (FillStore) in memory: what the reconciler records, for the indexer's documents."""

    def __init__(self) -> None:
        self.items: dict[str, FillItem] = {}

    def record_fill(
        self, fill: FillView, mode: str, client_order_id: str | None, signal_id: str | None
    ) -> bool:
        if fill.execution_id in self.items:
            return False
        signed = fill.qty if fill.side == "buy" else -fill.qty
        self.items[fill.execution_id] = FillItem(
            pk=f"{mode}#{fill.symbol}",
            execution_id=fill.execution_id,
            mode=Mode(mode),
            symbol=fill.symbol,
            side=fill.side,
            qty=fill.qty,
            signed_qty=signed,
            price=fill.price,
            at=fill.at,
            broker_order_id=fill.broker_order_id,
            client_order_id=client_order_id,
            signal_id=signal_id,
        )
        return True

    def net_quantity(self, mode: str, symbol: str) -> Decimal:
        return sum((f.signed_qty for f in self.items.values() if f.symbol == symbol), Decimal(0))


def test_fill_documents_attribute_each_execution_to_the_strategy_that_owns_the_shares(desk: Desk) -> None:
    _two_strategies(desk)
    exit_alpha = desk.world.intent("x" * 32, kind="close", strategy="alpha")
    desk.owned_by("x" * 32, "alpha")
    execute_intent(exit_alpha, desk.executor())
    desk.world.settle()
    fills = RecordedFills()

    reconcile(Mode.PAPER, replace(desk.reconciler(), fills=fills))

    documents = [fill_document(f, desk.world.signals.get(f.signal_id or "")) for f in fills.items.values()]
    by_owner: dict[tuple[str | None, str], float] = {}
    for d in documents:
        by_owner[(d.strategy, d.side)] = by_owner.get((d.strategy, d.side), 0.0) + d.qty
    assert by_owner == {("alpha", "buy"): 10.0, ("beta", "buy"): 5.0, ("alpha", "sell"): 10.0}


def test_a_replaced_ocos_stop_leg_that_fills_closes_its_own_lot(desk: Desk, admin: Any) -> None:
    desk.enter("a" * 32, "alpha", 10, STOP, TARGET)
    simple = _simple_entry(desk)
    execute_intent(simple, desk.executor())
    desk.world.settle()
    admin.post("/_paper/prices", json={TICKER: "189.00"}).raise_for_status()  # alpha's OCO stop leg
    desk.world.settle()
    reconcile(Mode.PAPER, desk.reconciler())

    assert desk.world.held() == 5
    assert desk.owners() == {"beta": Decimal(5)}


def test_an_ocos_stop_fill_after_its_entry_left_the_sweep_still_closes_its_own_lot(
    desk: Desk, admin: Any
) -> None:
    """The reconciler follows only orders that can still change: once alpha's bracket ended (its legs
    cancelled for the replacement), a later run no longer sees alpha's entry, yet the OCO that replaced its
    protection filling must still close alpha's lot (not leave it owning shares the broker sold)."""
    desk.enter("a" * 32, "alpha", 10, STOP, TARGET)
    execute_intent(_simple_entry(desk), desk.executor())
    desk.world.settle()
    reconcile(Mode.PAPER, desk.reconciler())  # alpha's bracket is recorded ended and leaves the sweep
    admin.post("/_paper/prices", json={TICKER: "189.00"}).raise_for_status()  # alpha's OCO stop leg
    desk.world.settle()

    reconcile(Mode.PAPER, desk.reconciler())

    assert desk.world.held() == 5
    assert desk.owners() == {"beta": Decimal(5)}


def test_two_exits_after_hours_one_queued_one_held_by_alpaca_for_the_open_and_only_their_shares_close(
    desk: Desk,
) -> None:
    desk.enter("a" * 32, "alpha", 10, STOP, TARGET)
    desk.enter("b" * 32, "beta", 5, B_STOP, B_TARGET)
    desk.enter("g" * 32, "gamma", 3, STOP, TARGET)
    desk.world.clock.set(AFTER_HOURS)
    exit_alpha = desk.world.intent("x" * 32, kind="close", strategy="alpha")
    exit_beta = desk.world.intent("y" * 32, kind="close", strategy="beta")

    execute_intent(exit_alpha, desk.executor())  # takes the ticker's queued close: alpha's legs stay
    execute_intent(exit_beta, desk.executor())  # sent now: Alpaca holds it until the open
    desk.world.settle()

    assert desk.world.risk.queued_closes("paper") == {TICKER: exit_alpha.signal_id}
    assert desk.stops() == [(STOP, Decimal(3)), (STOP, Decimal(10))]  # beta's legs went with its exit
    report = reconcile(Mode.PAPER, desk.reconciler())
    assert report.protection.in_flight == [TICKER]  # beta's close is working: not a gap to re-arm
    assert report.protection.rearmed == []

    desk.world.clock.set(NEXT_OPEN + timedelta(minutes=1))
    execute_intent(exit_alpha, desk.executor())  # what the release at the open sends
    desk.world.settle()
    reconcile(Mode.PAPER, desk.reconciler())

    assert desk.world.held() == 3
    assert desk.owners() == {"gamma": Decimal(3)}
    assert desk.stops() == [(STOP, Decimal(3))]


def test_an_entry_against_other_strategies_shares_is_refused_not_netted(desk: Desk) -> None:
    _two_strategies(desk)
    short = desk.world.intent(
        "s" * 32, strategy="gamma", side=Side.SELL, stop_loss=Decimal("210.00"), take_profit=Decimal("190.00")
    )

    execute_intent(short, desk.executor())
    desk.world.settle()

    item = desk.world.signals.get("s" * 32)
    assert item is not None
    assert (item.status, item.reject_reason) == (SignalStatus.REJECTED, "OPPOSITE_LOTS_HELD")
    assert desk.world.held() == 15
    assert desk.stops() == [(STOP, Decimal(10)), (B_STOP, Decimal(5))]


def test_a_strategy_reversing_its_own_position_closes_it_and_owns_the_new_side(desk: Desk) -> None:
    desk.enter("a" * 32, "alpha", 10, STOP, TARGET)
    short = desk.world.intent(
        "r" * 32, strategy="alpha", side=Side.SELL, stop_loss=Decimal("210.00"), take_profit=Decimal("190.00")
    )

    execute_intent(short, desk.executor())
    desk.world.settle()

    assert desk.world.held() == -10
    assert [(lot.strategy, lot.qty) for lot in desk.lots.lots("paper", TICKER)] == [("alpha", Decimal(-10))]


class PositionsReadEarlier(AlpacaBroker):
    """The reconciler's positions read before the close filled, its orders read after (a sweep reads both)."""

    held: dict[str, HoldingView] = {}

    def holdings(self) -> dict[str, HoldingView]:
        return dict(PositionsReadEarlier.held)


@pytest.mark.parametrize("seen_first_by", ["the redelivery", "the reconciler, its positions read before"])
def test_a_reverse_whose_close_fills_after_its_last_read_still_retires_the_reversed_lot(
    desk: Desk, seen_first_by: str
) -> None:
    desk.enter("a" * 32, "alpha", 10, STOP, TARGET)
    short = desk.world.intent(
        "r" * 32, strategy="alpha", side=Side.SELL, stop_loss=Decimal("210.00"), take_profit=Decimal("190.00")
    )
    desk.owned_by("r" * 32, "alpha")
    with pytest.raises(NotYet, match="opens once it has filled"):  # read before the close's fill
        execute_intent(short, desk.executor(first_read_s=0.001, fill_wait_s=0.002))
    broker = desk.world.brokers().for_mode(Mode.PAPER)
    assert broker is not None
    PositionsReadEarlier.held = broker.holdings()  # still long 10
    desk.world.settle()  # the close fills; the position is flat when the message comes back
    if seen_first_by != "the redelivery":  # so it sees the close filled, but not the position flat
        desk.world.broker_type = PositionsReadEarlier
        # The order sweep only: protection reads the position again, under the ticker's lease.
        reconcile(Mode.PAPER, replace(desk.reconciler(), protect=False))
        desk.world.broker_type = AlpacaBroker

    execute_intent(short, desk.executor())  # the redelivery opens the short
    desk.world.settle()

    assert desk.world.held() == -10
    assert [(lot.strategy, lot.qty) for lot in desk.lots.lots("paper", TICKER)] == [("alpha", Decimal(-10))]
    exit_alpha = desk.world.intent("x" * 32, kind="close", strategy="alpha")
    desk.owned_by("x" * 32, "alpha")
    execute_intent(exit_alpha, desk.executor())
    desk.world.settle()
    assert desk.world.held() == 0  # the exit closes the short, not "nothing owned" (+10 and -10 netted)


def test_a_reverse_cut_between_its_close_fill_and_retiring_the_lot_is_completed_by_the_redelivery(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk.enter("a" * 32, "alpha", 10, STOP, TARGET)
    short = desk.world.intent(
        "r" * 32, strategy="alpha", side=Side.SELL, stop_loss=Decimal("210.00"), take_profit=Decimal("190.00")
    )
    desk.owned_by("r" * 32, "alpha")

    def dies(*_: Any) -> int:
        raise RuntimeError("the process died after the close's fill was recorded")

    with monkeypatch.context() as crash:
        crash.setattr(desk.lots, "resize_lot", dies)
        with pytest.raises(RuntimeError):
            execute_intent(short, desk.executor())
    assert desk.world.held() == 0  # the close filled (and is recorded so); the lot is still +10

    execute_intent(short, desk.executor())  # the redelivery
    desk.world.settle()

    assert desk.world.held() == -10
    assert [(lot.strategy, lot.qty) for lot in desk.lots.lots("paper", TICKER)] == [("alpha", Decimal(-10))]


def test_a_position_closed_by_hand_at_the_broker_closes_its_lots(desk: Desk) -> None:
    _two_strategies(desk)
    desk.world.client.cancel_orders()
    desk.world.settle()
    desk.world.client.close_position(TICKER)
    desk.world.settle()

    reconcile(Mode.PAPER, desk.reconciler())

    assert desk.world.held() == 0
    assert desk.owners() == {}


def test_a_cancel_on_the_ticker_leaves_a_replaced_oco_working(desk: Desk) -> None:
    desk.enter("a" * 32, "alpha", 10, STOP, TARGET)
    simple = _simple_entry(desk)
    execute_intent(simple, desk.executor())
    desk.world.settle()

    execute_intent(desk.world.intent("c" * 32, kind="cancel", strategy="beta"), desk.executor())
    desk.world.settle()

    assert desk.stops() == [(STOP, Decimal(10))]
    assert _limits(desk) == [(TARGET, Decimal(10))]  # alpha's OCO is protection, not a pending entry


def test_a_cancel_cancels_its_own_strategys_pending_entries_only(desk: Desk) -> None:
    def resting_entry(signal_id: str, strategy: str) -> None:
        far_below = {
            "order_type": OrderType.LIMIT,
            "limit_price": Decimal("150.00"),
            "stop_loss": Decimal("140.00"),
        }
        intent = desk.world.intent(signal_id, strategy=strategy, take_profit=Decimal("160.00"), **far_below)
        execute_intent(intent, desk.executor())

    resting_entry("p" * 32, "alpha")
    resting_entry("q" * 32, "beta")
    desk.world.settle()

    execute_intent(desk.world.intent("c" * 32, kind="cancel", strategy="alpha"), desk.executor())
    desk.world.settle()

    working = {o.client_order_id for o in desk.world.open_orders() if o.client_order_id.startswith("tp-")}
    assert working == {"tp-" + "q" * 32 + "-open"}


def test_a_cancel_leaves_its_strategys_exit_held_for_the_open_working(desk: Desk) -> None:
    desk.enter("a" * 32, "alpha", 10, STOP, TARGET)
    desk.enter("b" * 32, "beta", 5, B_STOP, B_TARGET)
    desk.world.clock.set(AFTER_HOURS)
    execute_intent(desk.world.intent("x" * 32, kind="close", strategy="alpha"), desk.executor())  # queued
    exit_beta = desk.world.intent("y" * 32, kind="close", strategy="beta")
    execute_intent(exit_beta, desk.executor())  # sent now: Alpaca holds it until the open, beta's legs gone
    desk.world.settle()

    cancel = desk.world.intent("c" * 32, kind="cancel", strategy="beta")
    execute_intent(cancel, desk.executor())
    desk.world.settle()

    working = {o.client_order_id for o in desk.world.open_orders()}
    assert exit_beta.close_client_order_id in working  # beta's 5 shares keep their close
    assert desk.world.status("c" * 32) is SignalStatus.COMPLETED
    desk.world.clock.set(NEXT_OPEN + timedelta(minutes=1))
    desk.world.settle()
    assert desk.world.held() == 10  # beta's exit filled at the open; alpha's shares wait for its queued close

"""`flatten`: an operator closes a ticker's whole position, every strategy's lots, in one command.

The request is recorded as a signal (so it has a trail like any alert) and sent to the executor as an
intent of kind `flatten` on the intents queue: it runs under the ticker's lease, one at a time with the
ticker's other intents (the same FIFO group), and its close order has a deterministic client_order_id (a
redelivery finds it). The executor cancels every order on the ticker, every strategy's legs and pending
entries included, confirms the cancels, sells (or buys back) what the broker holds, and when the close has
filled (seen by the executor or later by the reconciler) every lot opened before the fill is closed. After
hours the close is queued for the open, as an exit's is; a ticker already flat only drops stale lots.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from tradepipe.app.lot_book import clear_lots
from tradepipe.app.protective_close import CloseDeps, close_position
from tradepipe.contracts.api import FlattenAnswer
from tradepipe.contracts.items import OrderItem, SignalItem, StatusEntry
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Action, Mode, SignalStatus
from tradepipe.domain.signal_id import client_order_id
from tradepipe.ports.broker import Broker, BrokerOrder
from tradepipe.ports.clock import Clock
from tradepipe.ports.lots import LotStore
from tradepipe.ports.messaging import IntentQueue
from tradepipe.ports.stores import SignalStore

log = logging.getLogger(__name__)
# The owner a flatten's orders are recorded under: no strategy's (parentheses are not in strategy names).
FLATTEN = "(flatten)"
_TRAIL_DAYS = 90


@dataclass(frozen=True)
class FlattenDeps:
    signals: SignalStore
    intents: IntentQueue
    clock: Clock


def request_flatten(account: Mode, ticker: str, who: str, deps: FlattenDeps) -> FlattenAnswer:
    """Record the operator's flatten and hand it to the executor."""
    now = deps.clock.now()
    signal_id = uuid.uuid4().hex
    symbol = ticker.strip().upper()
    intent = OrderIntent(
        intent_id=f"{signal_id}:flatten",
        client_order_id=client_order_id(signal_id, "close"),
        close_client_order_id=client_order_id(signal_id, "close"),
        signal_id=signal_id,
        mode=account,
        strategy=FLATTEN,
        symbol=symbol,
        kind="flatten",
        sized_at=now,
    )
    deps.signals.record_new(
        SignalItem(
            signal_id=signal_id,
            status=SignalStatus.SIZED,
            received_at=now,
            updated_at=now,
            expires_at=int(now.timestamp()) + _TRAIL_DAYS * 86400,
            history=[StatusEntry(status=SignalStatus.SIZED, at=now, detail=f"flatten {symbol} by {who}")],
            action=Action.EXIT,
            mode=account,
            ticker=symbol,
            strategy=FLATTEN,
            intent=intent.model_dump_json(),
            client_order_id=intent.close_client_order_id,
        )
    )
    deps.intents.send(intent)
    log.warning("flatten requested", extra={"account": account.value, "ticker": symbol, "by": who})
    return FlattenAnswer(signal_id=signal_id, account=account.value, ticker=symbol)


def flatten_position(
    intent: OrderIntent, broker: Broker, deps: CloseDeps, lots: LotStore | None
) -> BrokerOrder | str:
    """The executor's part: the whole position closed (app/protective_close.py), or what happened instead.
    A ticker already flat drops its lots (they describe shares the broker no longer holds)."""
    outcome = close_position(intent, broker, deps)
    if not isinstance(outcome, str) or not outcome or lots is None:
        return outcome
    holding = broker.holdings().get(intent.symbol)
    if holding is not None and holding.qty != 0:
        return outcome  # another close queued for the open will flatten it
    cleared = clear_lots(lots, intent.mode.value, intent.symbol, deps.clock.now())
    return f"{outcome}; {cleared} lots closed" if cleared else outcome


def closes_every_lot(recorded: OrderItem) -> bool:
    """A filled close that closes every strategy's lots, not only its own strategy's."""
    return recorded.strategy == FLATTEN

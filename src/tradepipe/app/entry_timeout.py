"""A collared entry that does not fill within its profile's `entry_timeout_s` is cancelled, and the signal
ends ENTRY_NOT_FILLED (its reservation released), or FILLED for the part that did fill.

Where the timeout is enforced: the executor cannot wait (on Lambda it must not; it reads an order once after a
short wait and hands over), so the deadline is written on the order record (`cancel_after`) before the broker
call, and the reconciler's run (every minute) cancels every open collared entry past it. Crash-safe by
construction: the deadline lives in the orders table, not in a process; the sweep looks at the orders the
reconciler reads from the broker on every run anyway, so a run that died after asking for a cancel is
simply repeated (a second DELETE of an
order already cancelled is no error: `Broker.cancel_order`). Alpaca confirms a cancel asynchronously
(`pending_cancel`, then `canceled`: Alpaca-API#111), so the signal is settled by the reconciler's order
sweep when it sees the order `canceled` (the run after the cancel at the latest), exactly as any other
ended order: `settle_timed_out` names the outcome.

A partly filled entry: Alpaca wakes a bracket's legs only when its entry is completely filled (forum.alpaca.
markets "Bracket Order Exit Trades Not Executing": "Once the parent order completely fills (ie not a partial
fill)" the legs go live; until then they are `held`), and cancelling the entry cancels its held legs with it.
So after the cancel the filled shares have no stop: the same run's protection check
(`app/protect_positions.py`) re-arms the entry's recorded stop for exactly the filled quantity.

An entry without a timeout (a plain limit entry, day or GTC) could rest partly filled for the rest of the
session, or for days, its filled shares without a working stop all that time (Alpaca refuses a standalone
stop beside it as a potential wash trade). So an entry whose legs wait for it, partly filled and without a
fill for `PARTIAL_FILL_GRACE`, has the rest cancelled the same way: the trader keeps what filled,
protected by the run after, and the signal ends FILLED for it. One still filling is left to complete.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tradepipe.contracts.items import OrderItem, SignalFields, StatusEntry, StatusUpdate
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import RejectReason, SignalStatus
from tradepipe.domain.order_status import is_terminal
from tradepipe.ports.broker import Broker, BrokerOrder
from tradepipe.ports.clock import Clock
from tradepipe.ports.stores import OrderStore

log = logging.getLogger(__name__)
# How long a partly filled entry may go without another fill while its filled shares wait unprotected (a
# market or marketable entry completes within seconds; a reconciler run comes every minute).
PARTIAL_FILL_GRACE = timedelta(minutes=2)


def collar_record(intent: OrderIntent, now: datetime) -> dict[str, Any]:
    """The order record's collar fields: the budget and tolerance the fill is checked against, and the
    deadline (from the moment the order is recorded, just before it is sent)."""
    if intent.entry_timeout_s is None:
        return {}
    return {
        "risk_budget": intent.risk_budget,
        "risk_tolerance_pct": intent.risk_tolerance_pct,
        "cancel_after": now + timedelta(seconds=intent.entry_timeout_s),
    }


@dataclass(frozen=True)
class TimeoutDeps:
    orders: OrderStore
    clock: Clock


def cancel_expired_entries(orders: Iterable[BrokerOrder], broker: Broker, deps: TimeoutDeps) -> list[str]:
    """Ask for the cancel of every open collared entry among `orders` (the reconciler's sweep of the
    account's orders, read once per run: no request of its own) past its deadline; the client order ids
    asked for. Orders already `pending_cancel` are left to finish."""
    now = deps.clock.now()
    asked: list[str] = []
    for order in orders:
        if order.parent_client_order_id is not None or order.status == "pending_cancel":
            continue
        if is_terminal(order.status):
            continue
        recorded = deps.orders.get(order.client_order_id)
        if _expired(recorded, now):
            why = "collared entry past its timeout: cancel asked"
        elif _partly_filled_too_long(recorded, order, now):
            why = "entry partly filled past its grace, its stop held until it completes: the rest cancelled"
        else:
            continue
        broker.cancel_order(order.broker_order_id)
        asked.append(order.client_order_id)
        log.info(why, extra={"client_order_id": order.client_order_id, "filled_qty": str(order.filled_qty)})
    return asked


def _partly_filled_too_long(recorded: OrderItem | None, order: BrokerOrder, now: datetime) -> bool:
    if recorded is None or recorded.purpose != "open" or recorded.stop_loss is None:
        return False  # not an entry of ours, or one whose shares have no stop to wait for
    if recorded.cancel_after is not None:
        return False  # a collared entry: its own timeout ends it (`_expired`)
    if recorded.order_class == "simple" or order.filled_qty <= 0:
        return False  # no legs held for it (a simple entry's shares are reported, never stopped here)
    # Its last fill (Alpaca moves `updated_at` with every fill): still filling, it is left to complete.
    last = order.updated_at or order.filled_at or order.submitted_at or recorded.created_at
    return now - last >= PARTIAL_FILL_GRACE


def _expired(recorded: OrderItem | None, now: datetime) -> bool:
    return (
        recorded is not None
        and recorded.purpose == "open"
        and recorded.cancel_after is not None
        and now >= recorded.cancel_after
    )


def settle_timed_out(recorded: OrderItem, order: BrokerOrder, now: datetime) -> StatusUpdate | None:
    """The signal's move for a collared entry that ended `canceled` with nothing filled past its deadline:
    ENTRY_NOT_FILLED. None for anything else (a fill, even partial, is FILLED; a cancel before the deadline
    is not ours to name)."""
    if order.status != "canceled" or order.filled_qty > 0 or not _expired(recorded, now):
        return None
    detail = (
        f"limit {recorded.limit_price} not filled by {recorded.cancel_after:%H:%M:%S} UTC "
        f"(entry_timeout_s): alpaca order {order.broker_order_id} cancelled, nothing bought"
    )
    # The reason on the trail and the item, as a rejection's: the read API, the documents' reject_reason
    # and the notice (AnnouncedRejections) name it where reasons appear.
    reason = RejectReason.ENTRY_NOT_FILLED.value
    return StatusUpdate(
        entry=StatusEntry(status=SignalStatus.ENTRY_NOT_FILLED, at=now, reason=reason, detail=detail),
        fields=SignalFields(reject_reason=reason, reject_detail=detail),
    )

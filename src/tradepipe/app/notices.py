"""Notices: what the pipeline tells the trader, as contract events on the bus for the notifier.

A notice is never in the way of trading. `announce` logs a bus that refuses an event and lets the stage
carry on: the record in the table is the truth and the notice its courtesy copy, and raising would only
send the message round again (a redelivered signal that already moved on announces nothing) or, for the
webhook, turn a recorded alert's answer into a 500.

`AnnouncedRejections` wraps the signal store of every stage that can reject (intake, risk, executor,
reconciler): a signal that *becomes* REJECTED (the write succeeded: a redelivery that finds it already
rejected does not) is announced as `SignalRejected`, whichever stage and whichever code path rejected it.
One rule in one place, so a rejection path added later is announced without anyone remembering to.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tradepipe.contracts.items import SignalItem, StatusUpdate
from tradepipe.domain.model import RejectReason, SignalStatus
from tradepipe.ports.messaging import EventPublisher, publish_event
from tradepipe.ports.stores import SignalStore

if TYPE_CHECKING:
    from datetime import datetime

    from tradepipe.contracts.events import DomainEvent

log = logging.getLogger(__name__)


def announce(events: EventPublisher, event: DomainEvent) -> bool:
    """Publish a notice; False (and an error in the log) when the bus refused it."""
    try:
        publish_event(events, event)
    except Exception:  # any fault of the bus: the notice is lost, the trading step is not
        log.exception("notice not published", extra={"detail_type": event.detail_type})
        return False
    return True


# An entry that did not fill is no rejection, but the trader must hear of it as of one: nothing was bought.
_ANNOUNCED = frozenset({SignalStatus.REJECTED, SignalStatus.ENTRY_NOT_FILLED})


class AnnouncedRejections:
    """A SignalStore that announces each signal it moves to REJECTED (or ENTRY_NOT_FILLED)."""

    def __init__(self, store: SignalStore, events: EventPublisher) -> None:
        self._store = store
        self._events = events
        # The signal last read through this store: a stage reads the signal it decides on, then rejects it,
        # and its mode, ticker and strategy (all the notice needs, and never changed after the alert) come
        # from that read instead of a second one (a DynamoDB GetItem on AWS; a read and a parse locally).
        self._last: SignalItem | None = None

    def record_new(self, item: SignalItem) -> bool:
        recorded = self._store.record_new(item)
        if recorded and item.status is SignalStatus.REJECTED:
            # The intake records invalid and stale alerts REJECTED from the start.
            self._announce(item, item.reject_reason, item.reject_detail, item.received_at)
        return recorded

    def get(self, signal_id: str) -> SignalItem | None:
        item = self._store.get(signal_id)
        if item is not None:
            self._last = item
        return item

    def advance(self, signal_id: str, update: StatusUpdate) -> bool:
        moved = self._store.advance(signal_id, update)
        if moved and update.entry.status in _ANNOUNCED:
            last = self._last
            item = last if last is not None and last.signal_id == signal_id else self._store.get(signal_id)
            if item is not None:
                self._announce(item, update.entry.reason, update.entry.detail, update.entry.at)
        return moved

    def _announce(self, item: SignalItem, reason: str | None, detail: str | None, at: datetime) -> None:
        from tradepipe.contracts.events import SignalRejected  # built on the first rejection only

        try:
            code = RejectReason(reason or "")
        except ValueError:
            log.error("rejection without a known reason code", extra={"signal_id": item.signal_id})
            return
        event = SignalRejected(
            at=at,
            mode=item.mode,
            signal_id=item.signal_id,
            ticker=item.ticker,
            strategy=item.strategy,
            reason=code,
            detail=detail or "",
        )
        announce(self._events, event)

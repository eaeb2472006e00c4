"""Admitting an accepted alert: its record, its message on the signals queue and its move to ENQUEUED.

On AWS these are two services (DynamoDB, SQS) and three steps (`app.intake.RecordThenEnqueue`): the record
first, so a crash before the send leaves it RECEIVED, which a repeat of the alert enqueues again. One
SQLite database does the three in one transaction (`adapters.sqlite.admission`): nothing is left between
them."""

from __future__ import annotations

from typing import Protocol

from tradepipe.contracts.items import SignalItem
from tradepipe.contracts.messages import SignalAccepted
from tradepipe.ports.clock import Clock


class SignalAdmission(Protocol):
    def admit(self, item: SignalItem, message: SignalAccepted, clock: Clock) -> bool:
        """Record `item` (RECEIVED) as `SignalStore.record_new` does, send `message` and move the signal to
        ENQUEUED at `clock.now()`, as the record's trail says. False, with nothing done, when the signal was
        recorded already (a duplicate)."""
        ...

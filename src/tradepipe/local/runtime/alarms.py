"""Local alarms: the CloudWatch alarms of the AWS stack that make sense on one machine, evaluated by the
workers' schedule. A change of state is logged, counted (metric `Alarm.<name>`) and published on the local
event bus as `AlarmStateChanged` (on alarm and on recovery, like the SNS topic on AWS), where the notifier
picks it up. States live in memory: after a restart an alarm that still holds fires again, which is what an
operator wants after a crash."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tradepipe.contracts.events import AlarmStateChanged
from tradepipe.ports.messaging import publish_event

if TYPE_CHECKING:
    from tradepipe.backends.sqlite import SqliteBackend

log = logging.getLogger(__name__)
INBOX_STALLED_S = 60.0  # the relay moves a row within milliseconds; a minute is a relay that keeps failing


@dataclass
class LocalAlarms:
    backend: SqliteBackend
    halted: list[str] = field(default_factory=list)  # sampled by the release schedule
    states: dict[str, bool] = field(default_factory=dict)
    clock: Callable[[], float] = time.time

    def conditions(self) -> dict[str, tuple[bool, str]]:
        b = self.backend
        signal_dead = len(b.signal_fifo.dead_letters())
        intent_dead = len(b.intent_fifo.dead_letters())
        today = b.metrics.on_day(datetime.now(UTC).date().isoformat())
        waited = b.inbox_relay.oldest_waiting_s(self.clock())
        return {
            # Accepted alerts the relay has not moved into tradepipe.db (it keeps failing): none is traded.
            "InboxStalled": (
                waited > INBOX_STALLED_S,
                f"an accepted alert has waited {waited:.0f} s in the intake's inbox",
            ),
            "SignalsDlqNotEmpty": (signal_dead > 0, f"{signal_dead} signal messages dead-lettered"),
            "IntentsDlqNotEmpty": (intent_dead > 0, f"{intent_dead} order intents dead-lettered"),
            "TradingHalted": (bool(self.halted), "halted: " + ", ".join(self.halted)),
            "PositionDivergence": (
                today["PositionDivergence"] > 0,
                f"{today['PositionDivergence']} divergences today",
            ),
            # A position found without full stop cover (the reconciler re-arms it, or reports a manual one).
            "PositionUnprotected": (
                today["PositionUnprotected"] > 0,
                f"{today['PositionUnprotected']} positions found without full stop cover today",
            ),
        }

    def evaluate(self) -> dict[str, bool]:
        for name, (breaching, detail) in self.conditions().items():
            if self.states.get(name, False) == breaching:
                continue
            self.states[name] = breaching
            state = "ALARM" if breaching else "OK"
            (log.error if breaching else log.warning)("alarm %s: %s (%s)", name, state, detail)
            self.backend.metrics.add({f"Alarm.{name}": 1 if breaching else 0})
            publish_event(
                self.backend.events,
                AlarmStateChanged(at=datetime.now(UTC), alarm=name, state=state, detail=detail),
            )
        return dict(self.states)

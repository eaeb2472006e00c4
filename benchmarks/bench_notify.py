"""Cost of `notify_events` to its caller: filter, render and one enqueue, per outbox adapter.

`python -m benchmarks.bench_notify` (run from the repository root). The SQLite runs use a temp dir on the
same disk as the state dir would be; FULL is what the adapter uses, NORMAL is shown for the comparison.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from benchmarks._timing import Timing, measure
from tradepipe.adapters.memory import FixedClock
from tradepipe.contracts.events import EntryFilled
from tradepipe.domain.model import Mode, Side
from tradepipe.notify.channels import parse_channel
from tradepipe.notify.outbox import MemoryOutbox, Outbox
from tradepipe.notify.outbox_sqlite import SqliteOutbox
from tradepipe.notify.senders import ChannelSender, UrllibTransport
from tradepipe.notify.use_cases import NotifyDeps, notify_events

CHANNELS = tuple(
    parse_channel(u)
    for u in (
        "slack+https://hooks.slack.com/services/T0/B0/benchmarktoken0000000000",
        "telegram://123456:benchmarkTOKEN_000000000000@42",
    )
)
AT = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def fills(self, k: int) -> list[EntryFilled]:
        self.n += 1
        return [
            EntryFilled(
                at=AT,
                mode=Mode.PAPER,
                signal_id=f"{self.n:016x}{i:016x}",
                ticker="AAPL",
                strategy="momentum_breakout",
                side=Side.BUY,
                qty=Decimal(100),
                price=Decimal("187.12"),
                stop_loss=Decimal("185.00"),
                client_order_id=f"tp-{self.n}-{i}",
            )
            for i in range(k)
        ]


def _deps(outbox: Outbox) -> NotifyDeps:
    return NotifyDeps(CHANNELS, outbox, ChannelSender(UrllibTransport()), FixedClock(AT))


def run(n: int = 500) -> list[Timing]:
    timings = []
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        outboxes: list[tuple[str, Outbox]] = [
            ("memory", MemoryOutbox()),
            ("sqlite FULL", SqliteOutbox(Path(tmp) / "full", synchronous="FULL")),
            ("sqlite NORMAL", SqliteOutbox(Path(tmp) / "normal", synchronous="NORMAL")),
        ]
        for name, outbox in outboxes:
            deps, counter = _deps(outbox), _Counter()
            for size in (1, 40):
                call = lambda d=deps, c=counter, k=size: notify_events(c.fills(k), d)  # noqa: E731
                timings.append(measure(f"notify_events {size:>2} fill(s), {name}", call, n, warmup=20))
            if isinstance(outbox, SqliteOutbox):
                outbox.close()
    return timings


if __name__ == "__main__":
    for timing in run():
        sys.stdout.write(timing.line() + "\n")

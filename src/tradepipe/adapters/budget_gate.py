"""The account's request budget in front of every trading-API request (wired by the composition root into
the Alpaca client's session, so each request the client sends takes one slot: pages and lookups included).

A slot due within `max_wait_s` is waited for here; a later one raises `BrokerRateLimited` with the wait, which
the callers already treat as Alpaca's own 429 (the executor waits or gives the message back to its queue,
the risk stage's message is retried), so no request is sent that the budget has not granted."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tradepipe.ports.broker import BrokerRateLimited
from tradepipe.ports.clock import Clock
from tradepipe.ports.request_budget import RequestBudget


@dataclass
class BudgetGate:
    budget: RequestBudget
    account: str  # the mode: paper and live are separate Alpaca accounts with their own keys
    clock: Clock
    max_wait_s: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep)
    waited_s: float = 0.0  # what this process has slept for the budget: for logs and benchmarks

    def __call__(self) -> None:
        wait = self.budget.take(self.account, 1, self.clock.now(), self.max_wait_s)
        if wait > self.max_wait_s:
            raise BrokerRateLimited(wait)
        if wait > 0:
            self.waited_s += wait
            self.sleep(wait)

"""The account's request budget at the broker (domain/request_budget.py): one per account, shared by every
process and function that calls Alpaca's trading API with that account's keys."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class RequestBudget(Protocol):
    def take(self, account: str, n: int, now: datetime, max_wait_s: float) -> float:
        """Reserve `n` requests for `account` and return the seconds to wait before sending them.

        A return above `max_wait_s` means nothing was reserved: come back after that long. Atomic across
        processes: two callers never get the same slot."""
        ...

"""One request budget per broker account: every caller of Alpaca's trading API takes from it before a request.

Alpaca limits the trading API per account: "200 requests every minute per API key", HTTP 429 beyond
(Alpaca Trading API reference, Rate Limit; alpacahq/alpaca-docs content/api-references/trading-api/_index.md,
as the paper broker's `rate_limit.py` cites it). The risk stage, the executor, its reconciler and the open's
release all use the same keys, so a limit kept by each caller alone is exceeded by all of them together.

The budget is a token bucket kept as one number, GCRA style (the "generic cell rate algorithm"): `due` is when
the bucket would be full again. Taking `n` requests moves `due` by `n` intervals; the requests may go once
`due` is at most `burst` intervals ahead of now. One number means one conditional write per take on any
store, and a take never needs a second read-modify-write round under contention (see the DynamoDB adapter).

A take reserves its slots and says how long to wait for them; a wait beyond the caller's `max_wait_s`
reserves nothing (the caller gives the work back to its queue instead of sleeping it away).

In any 60 seconds at most `burst + per_minute` requests go: the defaults (150 a minute, 30 at once) keep a
minute at 180 of Alpaca's 200, leaving 20 for what the budget does not see (a trader's own scripts or
dashboard against the same account, requests that arrive late in one window and early in the next).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BudgetRule:
    per_minute: int  # sustained requests a minute
    burst: int  # requests that may go at once after a quiet spell

    def __post_init__(self) -> None:
        if self.per_minute < 1 or self.burst < 1:
            raise ValueError(f"a request budget needs per_minute >= 1 and burst >= 1, got {self}")

    @property
    def interval_s(self) -> float:
        return 60.0 / self.per_minute

    @property
    def worst_minute(self) -> int:
        """The most requests any 60-second window can see under this rule."""
        return self.burst + self.per_minute


# Alpaca's limit and the share of it the pipeline takes (module docstring: 180 of 200 in any minute).
ALPACA_REQUESTS_PER_MINUTE = 200
DEFAULT_RULE = BudgetRule(per_minute=150, burst=30)


@dataclass(frozen=True)
class Reservation:
    wait_s: float  # how long from now until the requests may go
    due: float | None  # the bucket's new mark (epoch seconds) to store; None: nothing was taken


def reserve(due: float | None, n: int, now: float, rule: BudgetRule, max_wait_s: float) -> Reservation:
    """Take `n` requests at `now` (epoch seconds) from a bucket whose mark is `due` (None: never used).

    Granted when the wait is at most `max_wait_s`: the new mark is returned with the wait. Otherwise the
    bucket is unchanged and the wait says when to come back."""
    if n < 1:
        raise ValueError(f"take at least one request, got {n}")
    start = now if due is None or due < now else due
    new_due = start + n * rule.interval_s
    wait = max(0.0, new_due - rule.burst * rule.interval_s - now)
    if wait > max_wait_s:
        return Reservation(wait, None)
    return Reservation(wait, new_due)

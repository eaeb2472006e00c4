"""Injected failures, so callers' retry and reconciliation code gets exercised.

Every rate is 0 by default: the broker behaves unless told otherwise. One draw per order decides which fault
(if any) applies, so an order meets at most one; the rates must add up to at most 1. A `seed` makes a run
repeatable: the same seed and the same sequence of requests give the same faults and the same partial-fill
splits (the splits come from a second generator, so they never shift which order gets which fault).

On the submit path (`POST /v2/orders` only; the app applies these around the engine call):

- `server_error`: 500 and the order is NOT placed.
- `server_error_after_accept`: the order is placed, then 500. The caller cannot tell the two apart and must
  look the order up by client_order_id before resubmitting.
- `rate_limited`: 429, order not placed, with `X-RateLimit-Limit`, `X-RateLimit-Remaining: 0`,
  `X-RateLimit-Reset` (epoch seconds) and `Retry-After` (`rate_limit_reset_s`, whole seconds). alpaca-py
  retries 429 itself (3 tries, 3 s apart) unless its retries are turned off (`client._retry = 0`).
- `timeout_before_accept`: the answer waits `delay_s`, then comes as a 504 and the order is NOT placed (the
  connection is answered, not dropped). A caller whose read timeout is shorter than `delay_s` sees a
  timeout (requests' ReadTimeout through alpaca-py) and never the 504.
- `timeout_after_accept`: the order is placed at once (visible to lookups), then the 200 waits `delay_s`.

On every order the engine accepts (also `DELETE /v2/positions/...` closes, and submits through the Python
API); a draw that lands on a submit-path fault there means no fault:

- `partial_fill`: a market or limit order (not IOC/FOK; a limit's part only at its price or better) fills in
  `partial_fill_parts` executions instead of one
  (fewer when the quantity is too small to split: whole shares split in whole shares, fractional quantities
  in 1e-9 shares; a single share is not split and the fault does not count). The first part fills at the
  order's first execution (status `partially_filled`); each further part fills `partial_fill_delay_s` after
  the one before, at the quote of that moment. Every part is its own FILL activity and moves cash and the
  position; a bracket's exit legs wake only once the entry is completely filled.
- `async_reject`: the order is accepted (200, status `accepted`), is never routed, and turns `rejected`
  (`failed_at` set; legs rejected with it) `async_reject_delay_s` later, with no fill and no position
  change. A cancel before then wins.

The delayed parts and rejections are timed steps of the order's lifecycle (lifecycle.py), on the broker's
clock: the first request after their time has come applies every one that is due, in due order, stamped
with its due time. So what a request sees depends only on the clock, not on how many requests came before.

The engine counts what it injects: `GET /_paper/faults/stats` (also in `/_paper/state`).
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Any

WHOLE_SHARE = Decimal(1)
SHARE_UNIT = Decimal("0.000000001")  # the smallest fractional share Alpaca trades


class Fault(StrEnum):
    SERVER_ERROR = "server_error"
    SERVER_ERROR_AFTER_ACCEPT = "server_error_after_accept"
    RATE_LIMITED = "rate_limited"
    TIMEOUT_BEFORE_ACCEPT = "timeout_before_accept"
    TIMEOUT_AFTER_ACCEPT = "timeout_after_accept"
    PARTIAL_FILL = "partial_fill"
    ASYNC_REJECT = "async_reject"


SUBMIT_FAULTS = frozenset(Fault)
ORDER_FAULTS = frozenset({Fault.PARTIAL_FILL, Fault.ASYNC_REJECT})

_INT_SETTINGS = frozenset({"seed", "partial_fill_parts", "rate_limit_reset_s"})


@dataclass
class Faults:
    server_error: float = 0.0
    server_error_after_accept: float = 0.0
    rate_limited: float = 0.0
    timeout_before_accept: float = 0.0
    timeout_after_accept: float = 0.0
    partial_fill: float = 0.0
    async_reject: float = 0.0
    delay_s: float = 5.0
    partial_fill_delay_s: float = 0.5
    partial_fill_parts: int = 2
    async_reject_delay_s: float = 0.5
    rate_limit_reset_s: int = 1
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _split_rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for fault in Fault:
            rate = getattr(self, fault.value)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{fault.value} must be within [0, 1]")
        if sum(getattr(self, f.value) for f in Fault) > 1.0:
            raise ValueError("fault rates must add up to at most 1")
        for name in ("delay_s", "partial_fill_delay_s", "async_reject_delay_s", "rate_limit_reset_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.partial_fill_parts < 2:
            raise ValueError("partial_fill_parts must be >= 2")
        # Not for security: reproducible sequences of injected failures and of partial-fill splits.
        self._rng = random.Random(self.seed)  # noqa: S311
        self._split_rng = random.Random(None if self.seed is None else f"split:{self.seed}")  # noqa: S311

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Faults:
        if not isinstance(body, Mapping):
            raise ValueError("fault settings must be an object")
        known = {f.name for f in fields(cls) if f.init}
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        # JSON numbers may arrive as Decimal or str; the draw does float arithmetic.
        settings: dict[str, Any] = {}
        for name, raw in body.items():
            if raw is None:
                continue
            settings[name] = int(raw) if name in _INT_SETTINGS else float(raw)
        return cls(**settings)

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}

    def draw(self, applicable: Collection[Fault] = SUBMIT_FAULTS) -> Fault | None:
        """The fault for one order, or None; always None (and no randomness used) when all rates are 0.

        The roll covers every fault's rate whatever is `applicable`, so a rate means the same share of orders
        on every path; a roll that lands on a fault the path cannot inject means no fault."""
        rates = [(fault, getattr(self, fault.value)) for fault in Fault]
        if not any(rate for _, rate in rates):
            return None
        roll = self._rng.random()
        for fault, rate in rates:
            if roll < rate:
                return fault if fault in applicable else None
            roll -= rate
        return None

    def split(self, qty: Decimal) -> list[Decimal]:
        """`qty` cut into up to `partial_fill_parts` positive parts that add up to it exactly: whole shares
        for a whole quantity, 1e-9 shares otherwise. A single element when it cannot be split."""
        unit = WHOLE_SHARE if qty == qty.to_integral_value() else SHARE_UNIT
        units = int(qty / unit)
        parts = min(self.partial_fill_parts, units)
        if parts < 2:
            return [qty]
        cuts = sorted(self._split_rng.sample(range(1, units), parts - 1))
        bounds = [0, *cuts, units]
        sizes = [(hi - lo) * unit for lo, hi in pairwise(bounds)]
        sizes[-1] = qty - sum(sizes[:-1], Decimal(0))  # exact, whatever the unit arithmetic did
        return sizes

"""Injected failures on the order-submit path, so callers' retry and reconciliation code gets exercised.

Every rate is 0 by default: the broker behaves unless told otherwise. One draw per submit decides which
fault (if any) applies; a seed makes a run repeatable. The app applies the decision around the engine call:

- `server_error` (500, order NOT placed) and `server_error_after_accept` (500, order placed): the caller
  cannot tell them apart and must look the order up by client_order_id before resubmitting.
- `rate_limited`: 429 with X-RateLimit-* headers. alpaca-py retries 429 itself (3 tries, 3 s apart) unless
  its retries are turned off.
- `timeout_before_accept` / `timeout_after_accept`: the answer is delayed by `delay_s` (then a 504 without
  the order, or the order); a caller with a shorter timeout sees a timeout either way.

Not modelled yet (the engine's fill path takes a quantity, so partial fills fit in later): partial fills,
rejections that arrive after an accepted answer.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any


class Fault(StrEnum):
    SERVER_ERROR = "server_error"
    SERVER_ERROR_AFTER_ACCEPT = "server_error_after_accept"
    RATE_LIMITED = "rate_limited"
    TIMEOUT_BEFORE_ACCEPT = "timeout_before_accept"
    TIMEOUT_AFTER_ACCEPT = "timeout_after_accept"

    @property
    def places_order(self) -> bool:
        return self in (Fault.SERVER_ERROR_AFTER_ACCEPT, Fault.TIMEOUT_AFTER_ACCEPT)


@dataclass
class Faults:
    server_error: float = 0.0
    server_error_after_accept: float = 0.0
    rate_limited: float = 0.0
    timeout_before_accept: float = 0.0
    timeout_after_accept: float = 0.0
    delay_s: float = 5.0
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for fault in Fault:
            rate = getattr(self, fault.value)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{fault.value} must be within [0, 1]")
        if sum(getattr(self, f.value) for f in Fault) > 1.0:
            raise ValueError("fault rates must add up to at most 1")
        if self.delay_s < 0:
            raise ValueError("delay_s must be >= 0")
        # Not for security: a reproducible sequence of injected failures.
        self._rng = random.Random(self.seed)  # noqa: S311

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Faults:
        known = {f.name for f in fields(cls) if f.init}
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        # JSON numbers may arrive as Decimal or str; the draw does float arithmetic.
        settings: dict[str, Any] = {k: float(v) for k, v in body.items() if k != "seed"}
        if body.get("seed") is not None:
            settings["seed"] = int(body["seed"])
        return cls(**settings)

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}

    def draw(self) -> Fault | None:
        """The fault for one submit, or None; always None (and no randomness used) when all rates are 0."""
        rates = [(fault, getattr(self, fault.value)) for fault in Fault]
        if not any(rate for _, rate in rates):
            return None
        roll = self._rng.random()
        for fault, rate in rates:
            if roll < rate:
                return fault
            roll -= rate
        return None

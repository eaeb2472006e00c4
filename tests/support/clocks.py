"""A clock a test moves by hand, for code that takes a `Callable[[], float]` (monotonic or wall seconds)."""

from __future__ import annotations


class ManualClock:
    def __init__(self, at: float = 0.0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at

"""Alpaca's request limit: N requests a minute per API key, 429 beyond.

Alpaca's Trading API: "The rate limit is 200 requests every minute per API key" and "When it is exceeded,
the API server returns error response with HTTP status code 429" (alpacahq/alpaca-docs
content/api-references/trading-api/_index.md). Every answer carries `X-RateLimit-Limit`,
`X-RateLimit-Remaining` and `X-RateLimit-Reset` ("The UNIX epoch in seconds when the quota is reset",
the same docs' broker-API page); a 429 also `Retry-After`. Here a window is 60 seconds from its first
request; trading and market-data requests are counted apart, as Alpaca limits its data API separately.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

WINDOW_S = 60.0


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_epoch_s: int
    retry_after_s: int

    def headers(self) -> dict[str, str]:
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_epoch_s),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after_s)
        return out


class RateLimiter:
    def __init__(self, per_minute: int, now: Callable[[], datetime]) -> None:
        self.per_minute = per_minute
        self._now = now
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()

    def take(self, key_id: str, bucket: str) -> Verdict:
        """Count one request of `key_id` in `bucket` and say whether it may proceed."""
        now = self._now().timestamp()
        with self._lock:
            start, count = self._windows.get((key_id, bucket), (now, 0))
            if not start <= now < start + WINDOW_S:  # past the window (or a test clock moved back)
                start, count = now, 0
            count += 1
            self._windows[(key_id, bucket)] = (start, count)
        reset = math.ceil(start + WINDOW_S)
        return Verdict(
            allowed=count <= self.per_minute,
            limit=self.per_minute,
            remaining=max(0, self.per_minute - count),
            reset_epoch_s=reset,
            retry_after_s=max(1, math.ceil(start + WINDOW_S - now)),
        )

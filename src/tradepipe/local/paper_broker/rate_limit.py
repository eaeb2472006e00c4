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
from collections import Counter
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
        # What callers did to the limit since the last reset (GET /_paper/rate-limit): how close a pipeline
        # comes to Alpaca's 429 is measured here, where Alpaca would count.
        self._seen: Counter[str] = Counter()
        self._refused: Counter[str] = Counter()
        self._busiest: Counter[str] = Counter()
        self._routes: Counter[str] = Counter()

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            for counter in (self._seen, self._refused, self._busiest, self._routes):
                counter.clear()

    def stats(self) -> dict[str, dict[str, object]]:
        """Per bucket: requests, refused (429), the most requests any one window counted, and per route."""
        with self._lock:
            return {
                bucket: {
                    "limit": self.per_minute,
                    "requests": self._seen[bucket],
                    "refused": self._refused[bucket],
                    "busiest_window": self._busiest[bucket],
                    "routes": {
                        r.split(" ", 1)[1]: n for r, n in sorted(self._routes.items()) if r.startswith(bucket)
                    },
                }
                for bucket in sorted(self._seen)
            }

    def take(self, key_id: str, bucket: str, route: str = "") -> Verdict:
        """Count one request of `key_id` in `bucket` and say whether it may proceed."""
        now = self._now().timestamp()
        with self._lock:
            start, count = self._windows.get((key_id, bucket), (now, 0))
            if not start <= now < start + WINDOW_S:  # past the window (or a test clock moved back)
                start, count = now, 0
            count += 1
            self._windows[(key_id, bucket)] = (start, count)
            self._seen[bucket] += 1
            self._busiest[bucket] = max(self._busiest[bucket], count)
            self._refused[bucket] += count > self.per_minute
            if route:
                self._routes[f"{bucket} {route}"] += 1
        reset = math.ceil(start + WINDOW_S)
        return Verdict(
            allowed=count <= self.per_minute,
            limit=self.per_minute,
            remaining=max(0, self.per_minute - count),
            reset_epoch_s=reset,
            retry_after_s=max(1, math.ceil(start + WINDOW_S - now)),
        )

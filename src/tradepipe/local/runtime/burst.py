"""Whether a burst of alerts is arriving, so that search waits for it to pass.

TradingView sends every alert of a bar close within the same second, waits 3 s for each answer and never
retries. On one machine the intake, the decisions and the orders share the cores with everything else, and
search is the one consumer that can wait: its documents are derived data (rebuilt from the store by
`tradepipe reindex`, or at a start that finds them missing or behind), only dashboards read them (never the
trader's path or the live page), and a document already waits a second before anyone sees it (the indexer's
linger, OpenSearch's refresh interval). Measured on the bench's intake at 10 senders (~1,700 alerts/s):
indexing beside it cost the search server ~0.5 of the 2 cores, and the intake's p99 was ~16.5 ms with it
against ~12 ms without.

A burst is at least `BURST_ALERTS_PER_S` alerts moved into `tradepipe.db` within the last second (the relay
counts the signal rows of each committed move; a relay draining a backlog after a restart counts too, and
search then waits until a second after the drain): a rate no steady stream of alerts comes near (one alert
per strategy, ticker and bar), and four times the bench's steady 50 a second. The wait is bounded: an episode
of bursts pauses search for at most `MAX_PAUSE_S` (see `BurstPause`); after it the indexer writes as the
alerts come, with back-to-back batches while it has a backlog.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

BURST_ALERTS_PER_S = 200
WINDOW_S = 1.0
MAX_PAUSE_S = 30.0


class ArrivalRate:
    """Alerts counted within the last `window_s` (thread-safe: the relay counts, the indexer asks)."""

    def __init__(self, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._window_s, self._clock = window_s, clock
        self._marks: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def arrived(self, count: int) -> None:
        if count <= 0:
            return
        now = self._clock()
        with self._lock:
            self._marks.append((now, count))
            self._forget(now)

    def in_window(self) -> int:
        now = self._clock()
        with self._lock:
            self._forget(now)
            return sum(count for _, count in self._marks)

    def _forget(self, now: float) -> None:
        while self._marks and self._marks[0][0] <= now - self._window_s:
            self._marks.popleft()


class BurstPause:
    """Asked by the indexer before each batch: wait (True) while a burst lasts, for at most `max_pause_s`.

    Bursts closer together than `max_pause_s` are one episode, and an episode pauses search for at most
    `max_pause_s` from its start: a flood with short dips (the relay retrying, a stream hovering at the
    threshold) would otherwise restart the bound at every dip and keep search waiting for as long as it
    lasted. Between bursts, dips included, the indexer catches up."""

    def __init__(
        self,
        rate: ArrivalRate,
        threshold: int = BURST_ALERTS_PER_S,
        max_pause_s: float = MAX_PAUSE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate, self._threshold, self._max_pause_s, self._clock = rate, threshold, max_pause_s, clock
        self._since: float | None = None  # when the episode pausing search began
        self._last_burst = float("-inf")

    def hold(self) -> bool:
        now = self._clock()
        if self._since is not None and now - self._last_burst >= self._max_pause_s:
            self._since = None  # calm for as long as a pause may last: the next burst may pause search again
        rate = self._rate.in_window()
        if rate < self._threshold:
            return False
        self._last_burst = now
        if self._since is None:
            self._since = now
            log.info("%d alerts in a second: search waits, %.0f s at most", rate, self._max_pause_s)
        return now - self._since < self._max_pause_s

"""Where handler metrics go on one machine: EMF would be printed to stdout for CloudWatch; locally each
invocation's metrics are harvested into counts (the demo and tests read them) and cleared, as a Lambda
invocation would flush them. Counts are also kept per UTC day: the live page's "today" (e.g. duplicates,
which leave nothing new in the table) reads them as CloudWatch's daily sum would."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Metrics

Handler = Callable[[dict[str, Any], Any], Any]


class MetricsSink:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self._by_day: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def on_day(self, day: str) -> Counter[str]:
        """A copy of the counts harvested on `day` (YYYY-MM-DD, UTC)."""
        with self._lock:
            return Counter(self._by_day.get(day, Counter()))

    def wrap(self, handler: Handler) -> Handler:
        def invoke(event: dict[str, Any], context: Any) -> Any:
            try:
                return handler(event, context)
            finally:
                self._harvest()

        return invoke

    def _harvest(self) -> None:
        metrics = Metrics()  # one metric set per process, shared by every handler module's Metrics()
        day = datetime.now(UTC).date().isoformat()
        with self._lock:
            for name, metric in list(metrics.metric_set.items()):
                value = int(sum(float(v) for v in metric.get("Value", [])))
                self.counts[name] += value
                self._by_day[day][name] += value
            metrics.clear_metrics()

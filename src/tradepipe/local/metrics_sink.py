"""Where handler metrics go on one machine: EMF would be printed to stdout for CloudWatch; locally each
invocation's metrics are harvested into counts (the demo and tests read them) and cleared, as a Lambda
invocation would flush them."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Metrics

Handler = Callable[[dict[str, Any], Any], Any]


class MetricsSink:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def wrap(self, handler: Handler) -> Handler:
        def invoke(event: dict[str, Any], context: Any) -> Any:
            try:
                return handler(event, context)
            finally:
                self._harvest()

        return invoke

    def _harvest(self) -> None:
        metrics = Metrics()  # one metric set per process, shared by every handler module's Metrics()
        with self._lock:
            for name, metric in list(metrics.metric_set.items()):
                self.counts[name] += int(sum(float(v) for v in metric.get("Value", [])))
            metrics.clear_metrics()

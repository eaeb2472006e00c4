"""One Powertools setup for every function: a logger whose records pass through `RedactingFormatter`
(the package's own loggers write through it too), EMF metrics, X-Ray tracing, and the decorator stack a
handler wears. Created once per function module, at import, as Powertools expects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from tradepipe.observability.redaction import RedactingFormatter

Handler = TypeVar("Handler", bound=Callable[..., Any])


def logger_for(service: str) -> Logger:
    logger = Logger(service=service, logger_formatter=RedactingFormatter())
    copy_config_to_registered_loggers(source_logger=logger, include={"tradepipe"})
    return logger


@dataclass(frozen=True)
class LambdaTools:
    logger: Logger
    metrics: Metrics
    tracer: Any | None  # a Powertools Tracer, or None where X-Ray is off (no SDK import at all)

    def count(self, name: str | None, value: int = 1) -> None:
        """Add to a Count metric; None (an outcome nobody counts) adds nothing."""
        if name is not None:
            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def entry(self, correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
        """Logger context (cleared per invocation, so one record's keys never leak into the next
        invocation's lines; the event itself is never logged), metrics flushed per invocation, a trace
        segment without the response (it may hold signal data)."""

        def wrap(handler: Handler) -> Handler:
            traced = handler
            if self.tracer is not None:
                traced = self.tracer.capture_lambda_handler(capture_response=False)(handler)
            measured = self.metrics.log_metrics(traced)
            logged = self.logger.inject_lambda_context(
                correlation_id_path=correlation_id_path, log_event=False, clear_state=True
            )(measured)
            return cast(Handler, logged)

        return wrap


def lambda_tools(service: str, *, tracing: bool = True) -> LambdaTools:
    """`tracing=False` for the API function: X-Ray is off on its stage (a trace would record the
    /webhook/{token} path) and the X-Ray SDK's import is ~135 ms of its cold start."""
    if not tracing:
        return LambdaTools(logger_for(service), Metrics(), None)
    from aws_lambda_powertools import Tracer

    return LambdaTools(logger_for(service), Metrics(), Tracer())

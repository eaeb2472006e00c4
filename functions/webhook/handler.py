"""POST /webhook: TradingView alert in, 202/200/4xx out. Thin: event -> accept_alert -> response."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tradepipe import bootstrap
from tradepipe.app.intake import IntakeDeps, accept_alert, intake_response
from tradepipe.settings import get_settings

logger = Logger(service="webhook")
metrics = Metrics()
tracer = Tracer()
copy_config_to_registered_loggers(source_logger=logger, include={"tradepipe"})
app = APIGatewayRestResolver()

_METRIC_BY_STATUS = {
    202: "AlertsAccepted",
    200: "AlertsDuplicate",
    401: "AlertsUnauthorized",
    422: "AlertsRejected",
    400: "AlertsMalformed",
    413: "AlertsTooLarge",
}


def _deps() -> IntakeDeps:
    settings = get_settings()
    return IntakeDeps(
        secrets=bootstrap.webhook_passphrases(),
        store=bootstrap.signal_store(),
        queue=bootstrap.signal_queue(),
        clock=bootstrap.clock(),
        dedupe_ttl_s=settings.dedupe_ttl_s,
    )


@app.post("/webhook")
def receive_alert() -> Response[str]:
    event = app.current_event
    # The raw bytes, whatever the Content-Type (TradingView sends text/plain as often as JSON); not
    # `decoded_body`, which assumes UTF-8 and would turn a binary body into a 500.
    body_text = event.body or ""
    raw = base64.b64decode(body_text) if event.is_base64_encoded else body_text.encode("utf-8")
    status, body = intake_response(accept_alert(raw, _deps()))
    metrics.add_metric(name=_METRIC_BY_STATUS.get(status, "AlertsOther"), unit=MetricUnit.Count, value=1)
    if status == 401:
        logger.warning("unauthorized alert", extra={"source_ip": event.request_context.identity.source_ip})
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


@app.not_found
def no_route(_: Exception) -> Response[str]:
    return Response(
        status_code=404, content_type="application/json", body=json.dumps({"status": "not_found"})
    )


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
def unexpected(exc: Exception) -> Response[str]:
    # A fault of ours (a store or queue down), never bad input: log it, answer without internals.
    logger.exception("webhook failed")
    metrics.add_metric(name="WebhookErrors", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=500,
        content_type="application/json",
        body=json.dumps({"status": "error", "message": "internal error, the alert was not accepted"}),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

"""The API function: POST /webhook[/{token}] takes TradingView alerts; GET /signals lists them (newest
first, paged), GET /signals/{id} reads a trail; GET|POST /trading-state/{account} is the kill switch.

Thin: event -> use case -> response. On AWS every route but the webhook is IAM-authorized by API Gateway;
locally the emulator serves them to loopback clients only."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from tradepipe import bootstrap
from tradepipe.app.intake import AlertRequest, IntakeDeps, accept_alert, intake_response
from tradepipe.observability.redaction import RedactingFormatter
from tradepipe.settings import get_settings

# Only the alert route's imports load at cold start: TradingView waits on it and never retries. The read
# routes and the kill switch import their use cases (and the risk model behind them) on first use.
logger = Logger(service="webhook", logger_formatter=RedactingFormatter())
metrics = Metrics()
# No Tracer: X-Ray is off for the API function and its stage (a trace would record /webhook/{token}, and the
# X-Ray SDK's import is ~135 ms of the webhook's cold start).
copy_config_to_registered_loggers(source_logger=logger, include={"tradepipe"})
app = APIGatewayRestResolver()

_ACCOUNTS = ("paper", "live")
_METRIC_BY_STATUS = {
    202: "AlertsAccepted",
    200: "AlertsDuplicate",
    401: "AlertsUnauthorized",
    403: "AlertsForbidden",
    422: "AlertsRejected",
    400: "AlertsMalformed",
    413: "AlertsTooLarge",
}


def _json(status: int, body: object) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body, default=str))


def _deps() -> IntakeDeps:
    s = get_settings()
    return IntakeDeps(
        secrets=bootstrap.webhook_passphrases(),
        store=bootstrap.signal_store(),
        queue=bootstrap.signal_queue(),
        clock=bootstrap.clock(),
        dedupe_ttl_s=s.dedupe_ttl_s,
        max_lag_s=s.max_alert_lag_s,
        max_lead_s=s.max_alert_lead_s,
        allowed_networks=s.allowed_networks,
    )


def _receive(path_token: str | None) -> Response[str]:
    event = app.current_event
    # The raw bytes, whatever the Content-Type (TradingView sends text/plain as often as JSON); not
    # `decoded_body`, which assumes UTF-8 and would turn a binary body into a 500.
    text = event.body or ""
    raw = base64.b64decode(text) if event.is_base64_encoded else text.encode("utf-8")
    source_ip = event.request_context.identity.source_ip
    status, body = intake_response(accept_alert(AlertRequest(raw, source_ip, path_token), _deps()))
    metrics.add_metric(name=_METRIC_BY_STATUS.get(status, "AlertsOther"), unit=MetricUnit.Count, value=1)
    if status in (401, 403):
        logger.warning("alert refused", extra={"source_ip": source_ip, "status": status})
    return _json(status, body)


@app.post("/webhook")
def receive_alert() -> Response[str]:
    return _receive(None)


@app.post("/webhook/<token>")
def receive_alert_with_token(token: str) -> Response[str]:
    return _receive(token)


def _rejected(exc: ValidationError) -> Response[str]:
    """422 with the field errors, never the input (a bad field must not echo what was sent)."""
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]) or "query", "message": e["msg"]}
        for e in exc.errors(include_input=False, include_url=False)
    ]
    return _json(422, {"status": "rejected", "errors": errors})


@app.get("/signals")
def list_recent_signals() -> Response[str]:
    from tradepipe.app.signal_feed import BadPageToken, FeedDeps, list_signals
    from tradepipe.contracts.api import SignalQuery

    event = app.current_event
    multi = event.multi_value_query_string_parameters or {}
    # A repeated parameter stays a list, and fails validation with its name: never "last one wins".
    params = {k: v[0] if len(v) == 1 else v for k, v in multi.items()} or event.query_string_parameters
    try:
        query = SignalQuery.model_validate(params or {})
    except ValidationError as exc:
        return _rejected(exc)
    deps = FeedDeps(bootstrap.signal_store(), bootstrap.clock(), get_settings().dedupe_ttl_s)
    try:
        page = list_signals(query, deps)
    except BadPageToken as exc:
        return _json(400, {"status": "bad_request", "errors": [{"field": "page_token", "message": str(exc)}]})
    return Response(status_code=200, content_type="application/json", body=page.model_dump_json())


@app.get("/signals/<signal_id>")
def get_signal(signal_id: str) -> Response[str]:
    from tradepipe.app.status import signal_trail

    trail = signal_trail(signal_id, bootstrap.signal_store(), bootstrap.order_store())
    if trail is None:
        return _json(404, {"status": "not_found", "signal_id": signal_id})
    return Response(status_code=200, content_type="application/json", body=trail.model_dump_json())


@app.get("/trading-state/<account>")
def get_trading_state(account: str) -> Response[str]:
    if account not in _ACCOUNTS:
        return _json(404, {"status": "not_found", "account": account})
    stored = bootstrap.risk_state_store().trading_state(account)
    return _json(200, {"account": account, **dataclasses.asdict(stored)})


@app.post("/trading-state/<account>")
def set_trading_state(account: str) -> Response[str]:
    """The kill switch: IAM-authorized on AWS, loopback-only locally. Body {"state", "reason", "by"}."""
    from tradepipe.app.trading_state import StateDeps, switch_trading_state
    from tradepipe.contracts.api import TradingStateRequest

    if account not in _ACCOUNTS:
        return _json(404, {"status": "not_found", "account": account})
    try:
        request = TradingStateRequest.model_validate_json(app.current_event.body or "{}")
    except ValidationError as exc:
        return _rejected(exc)
    identity = app.current_event.request_context.identity
    who = request.by or identity.user_arn or identity.source_ip or "unknown"
    deps = StateDeps(
        risk_state=bootstrap.risk_state_store(), events=bootstrap.event_publisher(), clock=bootstrap.clock()
    )
    stored = switch_trading_state(account, request.state, who, request.reason, deps)
    metrics.add_metric(name="TradingStateSetByHand", unit=MetricUnit.Count, value=1)
    return _json(200, {"account": account, **dataclasses.asdict(stored)})


@app.not_found
def no_route(_: Exception) -> Response[str]:
    return _json(404, {"status": "not_found"})


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
def unexpected(exc: Exception) -> Response[str]:
    # A fault of ours (a store or queue down), never bad input: log it, answer without internals.
    logger.exception("api failed")
    metrics.add_metric(name="WebhookErrors", unit=MetricUnit.Count, value=1)
    return _json(500, {"status": "error", "message": "internal error, the alert was not accepted"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

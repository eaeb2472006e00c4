"""The API function: alerts (POST /webhook[/{token}]), reads (GET /signals[/{id}]), the kill switch
(GET|POST /trading-state/{account}), flatten (POST /flatten/{account}). Event -> one use case -> response;
`api_http` picks codes and bodies.

An alert is answered straight from the raw event; every other request goes to Powertools' resolver
(`tradepipe.api_routes`), imported on the first one: the alert route's cold start carries neither."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from tradepipe import api_http as http
from tradepipe.app.intake import accept_alert, metric_counts
from tradepipe.composition import intake_deps
from tradepipe.observability.lambda_setup import lambda_tools

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

tools = lambda_tools("webhook", tracing=False)  # no X-Ray: a trace would record /webhook/{token}


def receive_alert(event: dict[str, Any], token: str | None) -> dict[str, Any]:
    try:
        result = accept_alert(http.alert_request(event, token), intake_deps())
    except Exception:  # a store or queue down: as the resolver's handler for the other routes answers
        return http.proxy_response(*http.unexpected(tools))
    for metric, count in metric_counts(result).items():
        tools.count(metric, count)
    return http.proxy_response(*http.intake_answer(result))


@tools.entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    is_alert, token = http.alert_route(event)
    if is_alert:
        return receive_alert(event, token)
    from tradepipe.api_routes import read_routes

    return read_routes(tools).resolve(event, context)

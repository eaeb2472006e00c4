"""The API function: alerts (POST /webhook[/{token}]), reads (GET /signals[/{id}]), the kill switch
(GET|POST /trading-state/{account}). Event -> one use case -> response; `api_http` picks codes and bodies."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from tradepipe import api_http as http
from tradepipe.app.intake import accept_alert, metric_counts
from tradepipe.app.signal_feed import list_signals
from tradepipe.app.trading_state import switch_trading_state, trading_state_of
from tradepipe.app.trail import signal_trail
from tradepipe.composition import feed_deps, intake_deps, state_deps, trail_deps
from tradepipe.observability.lambda_setup import lambda_tools

tools = lambda_tools("webhook", tracing=False)  # no X-Ray: a trace would record /webhook/{token}
app = APIGatewayRestResolver()
http.install_error_handlers(app, tools)


@app.post("/webhook")
@app.post("/webhook/<token>")
def receive_alert(token: str | None = None) -> Response[str]:
    result = accept_alert(http.alert_request(app.current_event, token), intake_deps())
    for metric, count in metric_counts(result).items():
        tools.count(metric, count)
    return http.intake_response(result)


@app.get("/signals")
def list_recent_signals() -> Response[str]:
    return http.answer(lambda: list_signals(http.signal_query(app.current_event), feed_deps()))


@app.get("/signals/<signal_id>")
def get_signal(signal_id: str) -> Response[str]:
    return http.answer(lambda: signal_trail(signal_id, trail_deps()))


@app.get("/trading-state/<account>")
def get_trading_state(account: str) -> Response[str]:
    return http.answer(lambda: trading_state_of(http.account(account), state_deps()))


@app.post("/trading-state/<account>")
def set_trading_state(account: str) -> Response[str]:
    switch = http.switch_request(app.current_event, account)
    response = http.answer(lambda: switch_trading_state(*switch(), state_deps()))
    if response.status_code == 200:
        tools.count("TradingStateSetByHand")
    return response


@tools.entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)

"""The API function's read routes (GET /signals[/{id}]), kill switch (GET|POST /trading-state/{account}) and
flatten (POST /flatten/{account}) on Powertools' resolver, loaded on the first request that is not an alert.

The alert route does not go through the resolver (functions/api/handler.py answers it from the raw event):
TradingView waits on that route's cold start and never retries, and the resolver's package import
(`aws_lambda_powertools.event_handler` loads every resolver and its data classes) and the read use cases
were ~40% of the cold import the alert paid for routes it never takes."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from tradepipe import api_http as http
from tradepipe.app.flatten import request_flatten
from tradepipe.app.signal_feed import list_signals
from tradepipe.app.trading_state import switch_trading_state, trading_state_of
from tradepipe.app.trail import signal_trail
from tradepipe.composition import feed_deps, flatten_deps, state_deps, trail_deps
from tradepipe.observability.lambda_setup import LambdaTools


@cache
def read_routes(tools: LambdaTools) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver()
    http.install_error_handlers(app, tools)

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

    @app.post("/flatten/<account>")
    def flatten(account: str) -> Response[str]:
        wanted = http.flatten_request(app.current_event, account)
        response = http.answer(lambda: request_flatten(*wanted(), flatten_deps()), ok=202)
        if response.status_code == 202:
            tools.count("FlattenRequested")
        return response

    return app

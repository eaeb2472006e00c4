"""Who may reach the paper broker and how often: the configured key pair on every route, no browser, loopback
only, and Alpaca's 200 requests a minute per key (with its 429 and X-RateLimit-* headers)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient

from tests.integration.broker_helpers import trading_client
from tests.integration.conftest import BROKER_HEADERS, BROKER_KEY, BROKER_SECRET, SESSION_START
from tradepipe.local.paper_broker import BrokerBehaviour, ManualClock, PaperBroker
from tradepipe.local.paper_broker.server import PaperBrokerServer

UNAUTHORIZED = {"code": 40110000, "message": "request is not authorized"}


# --- keys ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-headers"),
        pytest.param({"APCA-API-KEY-ID": BROKER_KEY}, id="key-without-secret"),
        pytest.param({"APCA-API-KEY-ID": BROKER_KEY, "APCA-API-SECRET-KEY": "guess"}, id="wrong-secret"),
        pytest.param({"APCA-API-KEY-ID": "PKOTHER", "APCA-API-SECRET-KEY": BROKER_SECRET}, id="wrong-key"),
    ],
)
@pytest.mark.parametrize(
    "path", ["/v2/account", "/v2/stocks/bars?symbols=AAPL&timeframe=1Day", "/_paper/state"]
)
def test_request_without_the_configured_keys_then_401_without_echoing_them(
    running_broker: PaperBrokerServer, headers: dict[str, str], path: str
) -> None:
    response = httpx.get(f"{running_broker.url}{path}", headers=headers)

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert BROKER_KEY not in response.text
    assert "guess" not in response.text


def test_alpaca_py_with_other_keys_then_api_error_401(running_broker: PaperBrokerServer) -> None:
    stranger = TradingClient("PKSTRANGER", "not-the-secret", paper=True, url_override=running_broker.url)

    with pytest.raises(APIError) as excinfo:
        stranger.get_account()

    assert excinfo.value.status_code == 401


def test_server_built_without_keys_then_a_random_pair_not_any_pair() -> None:
    with PaperBrokerServer(PaperBroker()) as server:
        anything = httpx.get(
            f"{server.url}/v2/account", headers={"APCA-API-KEY-ID": "k", "APCA-API-SECRET-KEY": "s"}
        )
        own = httpx.get(f"{server.url}/v2/account", headers=server.headers)

    assert anything.status_code == 401
    assert own.status_code == 200
    assert server.key_id.startswith("PK")
    assert len(server.secret_key) >= 32


# --- no browser ------------------------------------------------------------------------------------------


def test_cors_preflight_then_403_without_any_access_control_header(running_broker: PaperBrokerServer) -> None:
    preflight = httpx.options(
        f"{running_broker.url}/v2/orders",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "apca-api-key-id, apca-api-secret-key, content-type",
        },
    )

    assert preflight.status_code == 403
    assert not [h for h in preflight.headers if h.lower().startswith("access-control-")]


def test_request_with_an_origin_then_403_even_with_the_keys(running_broker: PaperBrokerServer) -> None:
    response = httpx.get(
        f"{running_broker.url}/v2/account", headers={**BROKER_HEADERS, "Origin": "http://127.0.0.1:8000"}
    )

    assert response.status_code == 403
    assert response.json() == {"code": 40310000, "message": "cross-origin requests are not allowed"}


def test_keyed_answer_then_no_access_control_header(running_broker: PaperBrokerServer) -> None:
    response = httpx.get(f"{running_broker.url}/v2/account", headers=BROKER_HEADERS)

    assert response.status_code == 200
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])  # noqa: S104 - refused hosts
def test_non_loopback_address_then_refused(host: str) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        PaperBrokerServer(PaperBroker(), host=host, key_id=BROKER_KEY, secret_key=BROKER_SECRET)


# --- 200 requests a minute per key ---------------------------------------------------------------------


@pytest.fixture
def limited() -> Iterator[tuple[PaperBrokerServer, ManualClock]]:
    """A broker of its own, with Alpaca's limit (200 a minute) on a clock the test moves."""
    clock = ManualClock(SESSION_START)
    engine = PaperBroker(behaviour=BrokerBehaviour.alpaca(), now=clock)
    with PaperBrokerServer(engine, key_id=BROKER_KEY, secret_key=BROKER_SECRET) as server:
        yield server, clock


def test_201st_request_in_a_minute_then_429_with_alpacas_body_and_headers(
    limited: tuple[PaperBrokerServer, ManualClock],
) -> None:
    server, clock = limited
    reset_at = str(int(SESSION_START.timestamp()) + 60)
    with httpx.Client(base_url=server.url, headers=BROKER_HEADERS) as http:
        answers = [http.get("/v2/clock") for _ in range(200)]
        refused = http.get("/v2/account")

    assert {a.status_code for a in answers} == {200}
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:3]] == ["199", "198", "197"]
    assert answers[-1].headers["X-RateLimit-Remaining"] == "0"
    assert {a.headers["X-RateLimit-Limit"] for a in answers} == {"200"}
    assert {a.headers["X-RateLimit-Reset"] for a in answers} == {reset_at}
    assert refused.status_code == 429
    assert refused.json() == {"code": 42910000, "message": "rate limit exceeded"}
    assert (refused.headers["X-RateLimit-Remaining"], refused.headers["X-RateLimit-Reset"]) == ("0", reset_at)
    assert refused.headers["Retry-After"] == "60"


def test_rate_limited_then_alpaca_py_sees_429_and_the_next_minute_is_served(
    limited: tuple[PaperBrokerServer, ManualClock],
) -> None:
    server, clock = limited
    client = trading_client(server.url)
    with httpx.Client(base_url=server.url, headers=BROKER_HEADERS) as http:
        for _ in range(200):
            http.get("/v2/clock")

    with pytest.raises(APIError) as excinfo:
        client.get_account()
    clock.advance(60)
    client.get_account()

    assert excinfo.value.status_code == 429


def test_market_data_then_counted_apart_from_trading(limited: tuple[PaperBrokerServer, ManualClock]) -> None:
    server, _ = limited
    with httpx.Client(base_url=server.url, headers=BROKER_HEADERS) as http:
        for _ in range(200):
            http.get("/v2/clock")
        bars = http.get("/v2/stocks/bars", params={"symbols": "AAPL", "timeframe": "1Day", "limit": "1"})
        trading = http.get("/v2/clock")

    assert bars.status_code == 200
    assert bars.headers["X-RateLimit-Remaining"] == "199"
    assert trading.status_code == 429


def test_admin_routes_then_not_counted(limited: tuple[PaperBrokerServer, ManualClock]) -> None:
    server, _ = limited
    with httpx.Client(base_url=server.url, headers=BROKER_HEADERS) as http:
        for _ in range(210):
            http.get("/_paper/faults")
        first = http.get("/v2/clock")

    assert first.status_code == 200
    assert first.headers["X-RateLimit-Remaining"] == "199"

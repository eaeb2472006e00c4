"""The operator port's guard: this machine, a loopback Host, no cross-site or same-site fetch, and the
per-install token on every API request; the page and its files need no token and hold no data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tradepipe import composition
from tradepipe.adapters.sqlite.secrets_file import LocalSecrets
from tradepipe.backends.sqlite import SqliteBackend
from tradepipe.local.runtime.operator_api import TOKEN_HEADER, build_operator_app
from tradepipe.local.runtime.state_dir import StateDir
from tradepipe.settings import Settings

TOKEN = "the-install-token"


@pytest.fixture
def backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqliteBackend]:
    """The operator gets its deps from the composition root, as in the runtime: a fresh state dir."""
    state = StateDir(tmp_path / "state").create()
    LocalSecrets(state.secrets_file).initialize(passphrase="pw")
    settings = Settings.explicit(
        backend="sqlite", state_dir=str(state.path), opensearch_endpoint="http://127.0.0.1:9"
    )
    for name, value in settings.to_environment().items():
        monkeypatch.setenv(name, value)
    composition.reset()
    yield composition.sqlite_backend()
    composition.reset()


def _client(backend: SqliteBackend, client: tuple[str, int] = ("127.0.0.1", 50000)) -> TestClient:
    return TestClient(build_operator_app(TOKEN), base_url="http://127.0.0.1:8002", client=client)


def _with_token(**headers: str) -> dict[str, str]:
    return {TOKEN_HEADER: TOKEN, **headers}


@pytest.mark.parametrize("path", ["/signals", "/trading-state/paper", "/ui/summary"])
def test_api_read_with_token_from_loopback_then_served(backend: SqliteBackend, path: str) -> None:
    assert _client(backend).get(path, headers=_with_token()).status_code == 200
    assert _client(backend, ("::1", 50000)).get(path, headers=_with_token()).status_code == 200


@pytest.mark.parametrize("path", ["/signals", "/trading-state/paper", "/ui/summary", "/signals/abc"])
def test_api_without_or_with_a_wrong_token_then_403(backend: SqliteBackend, path: str) -> None:
    assert _client(backend).get(path).status_code == 403
    assert _client(backend).get(path, headers={TOKEN_HEADER: "guess"}).status_code == 403


def test_halt_without_token_then_refused_and_state_unchanged(backend: SqliteBackend) -> None:
    api = _client(backend)

    refused = api.post("/trading-state/paper", json={"state": "HALTED", "reason": "x"})

    assert refused.status_code == 403
    assert backend.trading_state.trading_state("paper").state == "ACTIVE"


def test_halt_with_token_then_halted_and_recorded(backend: SqliteBackend) -> None:
    done = _client(backend).post(
        "/trading-state/paper", json={"state": "HALTED", "reason": "test"}, headers=_with_token()
    )

    assert done.status_code == 200
    assert done.json()["state"] == "HALTED"
    assert backend.trading_state.trading_state("paper").state == "HALTED"


def test_flatten_without_token_then_refused_and_nothing_sent(backend: SqliteBackend) -> None:
    refused = _client(backend).post("/flatten/paper", json={"ticker": "MSFT"})

    assert refused.status_code == 403
    assert backend.intent_fifo.depth() == (0, 0)


def test_flatten_with_token_then_202_recorded_and_handed_to_the_executor(backend: SqliteBackend) -> None:
    done = _client(backend).post(
        "/flatten/paper", json={"ticker": "msft", "by": "ops"}, headers=_with_token()
    )

    assert done.status_code == 202  # as on AWS: handed on, not yet done
    assert done.json()["ticker"] == "MSFT"
    assert backend.signal_store.get(done.json()["signal_id"]) is not None
    assert backend.intent_fifo.depth() == (1, 0)


def test_flatten_of_a_ticker_no_alert_could_carry_then_422_and_nothing_sent(backend: SqliteBackend) -> None:
    refused = _client(backend).post("/flatten/paper", json={"ticker": "BRK B"}, headers=_with_token())

    assert refused.status_code == 422
    assert backend.intent_fifo.depth() == (0, 0)


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_state_change_from_another_site_then_refused_even_with_the_token(
    backend: SqliteBackend, site: str
) -> None:
    response = _client(backend).post(
        "/trading-state/paper", json={"state": "HALTED"}, headers=_with_token(**{"Sec-Fetch-Site": site})
    )

    assert response.status_code == 403
    assert backend.trading_state.trading_state("paper").state == "ACTIVE"


def test_origin_of_another_server_then_refused(backend: SqliteBackend) -> None:
    cross = _client(backend).post(
        "/trading-state/paper", json={"state": "HALTED"}, headers=_with_token(Origin="https://evil.example")
    )
    same = _client(backend).post(
        "/trading-state/paper", json={"state": "HALTED"}, headers=_with_token(Origin="http://127.0.0.1:8002")
    )

    assert (cross.status_code, same.status_code) == (403, 200)


def test_host_not_loopback_then_refused_against_dns_rebinding(backend: SqliteBackend) -> None:
    response = _client(backend).get("/signals", headers=_with_token(Host="evil.example:8002"))

    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/signals"])
def test_another_machine_then_refused_everything(backend: SqliteBackend, path: str) -> None:
    assert _client(backend, ("192.168.1.20", 50000)).get(path, headers=_with_token()).status_code == 403


def test_cors_preflight_then_refused_with_no_allow_headers(backend: SqliteBackend) -> None:
    response = _client(backend).options(
        "/trading-state/paper",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )

    assert response.status_code == 403
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def test_page_is_served_without_token_with_a_strict_policy_and_no_other_files(backend: SqliteBackend) -> None:
    api = _client(backend)

    page = api.get("/")
    escape = api.get("/static/..%2Flive_page.py")

    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert TOKEN not in page.text
    assert escape.status_code in (403, 404)
    assert "import" not in escape.text
    assert api.get("/static/live_page.py").status_code == 404
    assert api.get("/static/plotly.min.js").status_code == 200


def test_no_route_serves_a_secret(backend: SqliteBackend) -> None:
    secrets = backend.local_secrets.document().plain()
    values = [
        secrets["webhook"]["default"],
        secrets["alpaca"]["paper"]["api_key"],
        secrets["alpaca"]["paper"]["secret_key"],
    ]
    api = _client(backend)

    bodies = [
        api.get(path, headers=_with_token()).text
        for path in (
            "/",
            "/signals",
            "/trading-state/paper",
            "/ui/summary",
            "/ui/portfolio",
            "/static/app.js",
        )
    ]

    assert not [v for v in values for body in bodies if v in body]

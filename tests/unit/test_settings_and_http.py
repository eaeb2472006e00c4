"""Settings travel to another process through one function; every API error has one body shape."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from tradepipe import api_http
from tradepipe.app.intake import Forbidden, Invalid, Malformed, TooLarge, Unauthorized
from tradepipe.app.signal_feed import BadPageToken
from tradepipe.contracts.api import FlattenRequest, SignalQuery
from tradepipe.domain.alerts.formats import Ticker
from tradepipe.domain.parsing import FieldError
from tradepipe.settings import Settings

GIVEN = {
    "stage": "dev",
    "region": "eu-west-1",
    "live_trading_enabled": False,
    "signals_queue_url": "https://sqs.eu-west-1.amazonaws.com/1/tradepipe-dev-signals.fifo",
    "allowed_source_cidrs": ["52.89.214.238", "10.0.0.0/8"],
    "opensearch_endpoint": "https://search.example",
    "opensearch_auth": "sigv4",
    "alpaca_timeout_s": 2.5,
}


def test_to_environment_then_a_process_with_those_variables_reads_the_same_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = Settings.explicit(**GIVEN).to_environment()
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    read = Settings()

    assert {name: getattr(read, name) for name in GIVEN} == GIVEN
    assert set(env) == {f"TRADEPIPE_{name.upper()}" for name in GIVEN}


def test_to_environment_carries_channel_urls_and_event_switches_to_the_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What the local supervisor hands its workers: secret URLs revealed (the variable is the channel) and
    # the switches as JSON, so the other process reads the same ones.
    given = Settings.explicit(
        notify_urls=["slack+https://hooks.slack.com/services/T/B/token"], notify_events={"duplicates": True}
    )
    for name, value in given.to_environment().items():
        monkeypatch.setenv(name, value)

    read = Settings()

    assert [u.get_secret_value() for u in read.notify_urls] == [
        "slack+https://hooks.slack.com/services/T/B/token"
    ]
    assert read.notify_events == given.notify_events
    assert read.notify_events.duplicates is True


def test_explicit_settings_ignore_this_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEPIPE_AWS_ENDPOINT_URL", "http://127.0.0.1:4566")

    env = Settings.explicit(stage="prod").to_environment()

    assert env == {"TRADEPIPE_STAGE": "prod"}


def _body(response: object) -> dict[str, object]:
    text = response["body"] if isinstance(response, dict) else response.body  # type: ignore[attr-defined]
    loaded: dict[str, object] = json.loads(text)
    return loaded


@pytest.mark.parametrize(
    ("result", "status"),
    [
        pytest.param(Invalid("i" * 32, [FieldError("stopLoss", "must be > 0")]), 422, id="invalid"),
        pytest.param(Unauthorized(), 401, id="unauthorized"),
        pytest.param(Forbidden("10.0.0.1"), 403, id="forbidden"),
        pytest.param(Malformed("body is empty"), 400, id="malformed"),
        pytest.param(TooLarge(20_000), 413, id="too-large"),
    ],
)
def test_intake_errors_share_one_body_shape(result: object, status: int) -> None:
    response = api_http.proxy_response(*api_http.intake_answer(result))  # type: ignore[arg-type]

    body = _body(response)
    assert response["statusCode"] == status
    assert response["multiValueHeaders"] == {"Content-Type": ["application/json"]}
    assert {"status", "message", "errors"} <= set(body)
    assert all(set(e) == {"field", "message"} for e in body["errors"])  # type: ignore[attr-defined]


def _invalid_query() -> BaseModel:
    return SignalQuery.model_validate({"limit": "0", "bogus": "x"})


def _bad_token() -> BaseModel:
    raise BadPageToken("page_token belongs to another query")


def _unknown_account() -> BaseModel:
    api_http.account("margin")
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("produce", "status", "word"),
    [
        pytest.param(_invalid_query, 422, "rejected", id="validation-422"),
        pytest.param(_bad_token, 400, "bad_request", id="page-token-400"),
        pytest.param(_unknown_account, 404, "not_found", id="unknown-account-404"),
        pytest.param(lambda: None, 404, "not_found", id="nothing-found-404"),
    ],
)
def test_read_errors_share_the_same_body_shape(produce: object, status: int, word: str) -> None:
    response = api_http.answer(produce)  # type: ignore[arg-type]

    body = _body(response)
    assert (response.status_code, body["status"]) == (status, word)
    assert set(body) == {"status", "message", "errors"}


def test_validation_errors_name_fields_without_echoing_input() -> None:
    secret = "hunter2-secret"
    with pytest.raises(ValidationError) as caught:
        SignalQuery.model_validate({"ticker": secret})

    problems = api_http.field_errors(caught.value)

    assert [p.field for p in problems] == ["ticker"]
    assert secret not in json.dumps([p.model_dump() for p in problems])


def _parsed(parse: Callable[[], str]) -> str | None:
    try:
        return parse()
    except ValidationError:
        return None


@pytest.mark.parametrize(
    "ticker",
    ["msft", " MSFT ", "BRK.B", "BF-B", "X", "ABCDEFGHIJ", "ABCDEFGHIJK", "1AAPL", "ıbm", "BRK B", ""],
)
def test_flatten_takes_exactly_the_tickers_an_alert_takes(ticker: str) -> None:
    # What an alert could have opened, a flatten can close; what an alert refuses, a flatten refuses.
    by_alert = _parsed(lambda: TypeAdapter(Ticker).validate_python(ticker))
    by_flatten = _parsed(lambda: FlattenRequest.model_validate({"ticker": ticker}).ticker)

    assert by_flatten == by_alert

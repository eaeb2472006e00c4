"""Secrets never reach a log line: structured keys, secrets quoted in messages, the webhook path token."""

from __future__ import annotations

import io
import json

import pytest
from aws_lambda_powertools import Logger

from tradepipe.observability.redaction import MASK, RedactingFormatter, is_secret_key, redact, redact_text

SECRET = "s3cr3t-Passphrase"


@pytest.fixture(autouse=True)
def _default_log_level(monkeypatch: pytest.MonkeyPatch) -> None:
    # An in-process local stack earlier in the session may have set a quieter level for its handlers.
    monkeypatch.delenv("POWERTOOLS_LOG_LEVEL", raising=False)


def _logger(stream: io.StringIO, name: str) -> Logger:
    # Powertools caches loggers by service name: one name per test keeps each test's stream its own.
    return Logger(
        service=f"redaction-{name}", level="INFO", logger_formatter=RedactingFormatter(), stream=stream
    )


def test_structured_secret_keys_are_masked_at_any_depth() -> None:
    stream = io.StringIO()
    _logger(stream, "keys").info(
        "alert refused",
        extra={
            "passphrase": SECRET,
            "headers": {
                "APCA-API-SECRET-KEY": SECRET,
                "APCA-API-KEY-ID": SECRET,
                "Content-Type": "text/plain",
            },
            "signal_id": "abc123",
        },
    )
    line = stream.getvalue()
    record = json.loads(line)

    assert SECRET not in line
    assert record["passphrase"] == MASK
    assert record["headers"]["APCA-API-SECRET-KEY"] == MASK
    assert record["headers"]["Content-Type"] == "text/plain"
    assert record["signal_id"] == "abc123"


def test_secrets_inside_messages_and_exceptions_are_masked() -> None:
    stream = io.StringIO()
    logger = _logger(stream, "text")
    body = json.dumps({"passphrase": SECRET, "ticker": "AAPL"})
    try:
        raise ValueError(f"could not parse {body} from /webhook/{SECRET}?x=1 secret={SECRET}")
    except ValueError:
        logger.exception("parse failed for token: %s", SECRET)
    line = stream.getvalue()

    assert SECRET not in line
    assert "AAPL" in line
    assert "/webhook/***" in line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"passphrase": "abc", "ticker": "MSFT"}', '{"passphrase": "***", "ticker": "MSFT"}'),
        ("passphrase=abc&ticker=MSFT", "passphrase=***&ticker=MSFT"),
        ("POST /webhook/abc HTTP/1.1", "POST /webhook/*** HTTP/1.1"),
        ("client_order_id=tp-1-open status=filled", "client_order_id=tp-1-open status=filled"),
    ],
)
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_ids_that_merely_end_in_id_are_kept() -> None:
    assert not is_secret_key("client_order_id")
    assert not is_secret_key("signal_id")
    assert is_secret_key("webhook_token")
    assert redact({"orders": [{"client_order_id": "tp-1", "api_key": "k"}]}) == {
        "orders": [{"client_order_id": "tp-1", "api_key": MASK}]
    }

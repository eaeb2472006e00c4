"""RedactingFormatter: Powertools' JSON log formatter that never writes a secret.

Secrets reach a log in three ways, each covered here:
1. as a structured key (`extra={"passphrase": ...}`, an event dict with headers): the value of every key
   named like a secret is replaced, at any depth;
2. inside a string (an exception message quoting the body, a logged JSON or `key=value` alert): values
   after a secret-like key are replaced;
3. in a URL path (`/webhook/{token}` puts the passphrase in the path): the path segment is replaced.
Defence in depth: handlers already avoid logging bodies and events (`log_event=False`).
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

MASK = "***"
# Compared lower-cased with '-' as '_', so `APCA-API-SECRET-KEY` matches `apca_api_secret_key`.
_SECRET_KEY_PARTS = (
    "passphrase",
    "secret",
    "password",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "key_id",
)
_IN_TEXT = re.compile(
    r"""(?P<key>["']?[\w-]*(?:passphrase|secret|password|token|api[_-]?key|authorization|key[_-]id)[\w-]*["']?"""
    r"""\s*[:=]\s*["']?)(?P<value>[^"'&,;\s}\]]+)""",
    re.IGNORECASE,
)
_WEBHOOK_PATH = re.compile(r"(/webhook/)([^/\s?\"'#]+)")


def is_secret_key(key: str) -> bool:
    normalized = key.lower().replace("-", "_")
    return any(part in normalized for part in _SECRET_KEY_PARTS)


def redact_text(text: str) -> str:
    text = _IN_TEXT.sub(lambda m: m.group("key") + MASK, text)
    return _WEBHOOK_PATH.sub(lambda m: m.group(1) + MASK, text)


def redact(value: Any) -> Any:
    """A copy of `value` with secret-named keys masked and secrets in strings replaced."""
    if isinstance(value, dict):
        return {k: MASK if isinstance(k, str) and is_secret_key(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else (an exception in the stack trace, a Decimal, a datetime) would be written with str()
    # by the JSON serializer anyway: redact that text.
    return redact_text(str(value))


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Drop-in for Powertools' formatter: `Logger(service=..., logger_formatter=RedactingFormatter())`."""

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        return super().serialize(redact(log))

"""From a raw webhook body to a normalized Signal: the facade over `domain.alerts`."""

from __future__ import annotations

from typing import Any

from tradepipe.domain.alerts.decode import BodyNotUnderstood, decode_body
from tradepipe.domain.alerts.normalize import SECRET_KEYS, FieldError, parse_alert

__all__ = ["BodyNotUnderstood", "FieldError", "decode_body", "parse_alert", "split_secret"]


def split_secret(body: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The passphrase (`passphrase` or `secret`) and the body without any secret key."""
    secret = next((body[k] for k in SECRET_KEYS if isinstance(body.get(k), str)), None)
    return secret, {k: v for k, v in body.items() if k not in SECRET_KEYS}

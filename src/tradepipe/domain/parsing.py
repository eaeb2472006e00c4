"""From a raw webhook body to a normalized Signal: the facade over `domain.alerts`."""

from __future__ import annotations

from tradepipe.domain.alerts.decode import BodyNotUnderstood, decode_body
from tradepipe.domain.alerts.normalize import FieldError, parse_alert
from tradepipe.domain.alerts.secrets import SecretGivenTwice, split_secret

__all__ = [
    "BodyNotUnderstood",
    "FieldError",
    "SecretGivenTwice",
    "decode_body",
    "parse_alert",
    "split_secret",
]

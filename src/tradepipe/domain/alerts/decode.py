"""Raw body -> a flat-or-nested dict, tolerant of what TradingView renders in the wild.

Accepted: a JSON object; the same with trailing commas; bare `NaN`/`Infinity` (kept as the string "NaN" so
validation names the field); and `key=value` text (newline, `;`, `&` or space separated) for alerts whose
JSON broke.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any


class BodyNotUnderstood(ValueError):
    """Neither JSON nor key=value text: nothing in it can be trusted, not even a passphrase."""


_BARE_CONSTANTS = {"NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity"}
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")


# A JSON string (kept as is) or a comma directly before `}` / `]` (dropped).
_STRING_OR_TRAILING_COMMA = re.compile(r'("(?:\\.|[^"\\])*")|,(\s*[}\]])')


def _strip_trailing_commas(text: str) -> str:
    return _STRING_OR_TRAILING_COMMA.sub(lambda m: m.group(1) or m.group(2), text)


def _load_json(text: str) -> Any:
    return json.loads(text, parse_constant=lambda name: _BARE_CONSTANTS[name])


def _parse_key_values(text: str) -> dict[str, str]:
    try:
        tokens = shlex.split(re.sub(r"[;&\n\r]+", " ", text), posix=True)
    except ValueError as exc:
        raise BodyNotUnderstood(f"body is neither JSON nor key=value text ({exc})") from None
    pairs: dict[str, str] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        key = key.strip().rstrip(",")
        if not sep or not _KEY.match(key):
            raise BodyNotUnderstood("body is neither JSON nor key=value text")
        pairs[key] = value.strip().rstrip(",")
    if not pairs:
        raise BodyNotUnderstood("body is empty")
    return pairs


def decode_body(raw: bytes) -> tuple[dict[str, Any], str]:
    """Returns the decoded object and the encoding it came in: json, json-lenient or key-value."""
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise BodyNotUnderstood("body is not UTF-8 text") from None
    if not text:
        raise BodyNotUnderstood("body is empty")
    if text.startswith(("{", "[")):
        for encoding, candidate in (("json", text), ("json-lenient", _strip_trailing_commas(text))):
            try:
                value = _load_json(candidate)
            except ValueError:
                continue
            if not isinstance(value, dict):
                raise BodyNotUnderstood("body must be a JSON object")
            return value, encoding
        placeholder = re.search(r"\{\{.*?\}\}", text)
        if placeholder:
            raise BodyNotUnderstood(
                f"body holds the unrendered TradingView placeholder {placeholder.group(0)}: check the alert "
                "type (a strategy's {{strategy.order.alert_message}} only renders in strategy alerts)"
            )
        raise BodyNotUnderstood("body looks like JSON but does not parse, even without trailing commas")
    return _parse_key_values(text), "key-value"

"""Raw body -> a flat-or-nested dict, tolerant of what TradingView renders in the wild, strict about what
would make it ambiguous.

Accepted: a JSON object; the same with trailing commas; bare `NaN`/`Infinity` (kept as the string "NaN" so
validation names the field); and `key=value` text (newline, `;`, `&` or space separated) for alerts whose
JSON broke. Blank lines separate `key=value` blocks: several blocks are a batch, returned in the JSON
batch's shape (`{"passphrase": ..., "alerts": [{...}, ...]}`), so one batch path serves both.

Refused before anything else is read (a 400: nothing in such a body can be trusted, not even a
passphrase): a body nested deeper than `MAX_DEPTH` (Python's JSON parser recurses, and a few thousand
levels would exhaust the stack), and text that is neither JSON nor `key=value`. A key given twice is kept
apart, not resolved: every object remembers its repeated keys (`JsonObject.repeated`), and the intake
decides what a repeat costs (the whole body, or one element of a batch).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Iterator
from typing import Any

from tradepipe.domain.alerts.secrets import SECRET_KEYS

# A batch of TradersPost alerts is 4 levels deep ({"alerts": [{"stopLoss": {...}}]}); twice that is room
# for any shape we accept and far below what the parser's recursion could suffer.
MAX_DEPTH = 8


class BodyNotUnderstood(ValueError):
    """Neither JSON nor key=value text: nothing in it can be trusted, not even a passphrase."""


class JsonObject(dict[str, Any]):
    """A decoded object that remembers the keys it was given more than once (the last value is kept, but
    the intake never lets a repeated key through: it would decide which of two values counts)."""

    repeated: tuple[str, ...] = ()


_BARE_CONSTANTS = {"NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity"}
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")
# A JSON string, or an unterminated one up to the end of the body (`"?`): a string that could fail to match
# would be tried again from every quote inside it, quadratic time on a hostile body of escaped quotes.
_STRING = re.compile(r'"(?:\\.|[^"\\])*"?')
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")
# A JSON string (kept as is) or a comma directly before `}` / `]` (dropped).
_STRING_OR_TRAILING_COMMA = re.compile(r'("(?:\\.|[^"\\])*"?)|,(\s*[}\]])')
# What an unrendered TradingView placeholder looks like: {{close}}, {{strategy.order.alert_message}},
# {{plot("RSI")}}. Only such a name is quoted back in the answer, never other braced text (which could hold
# the passphrase), and the pattern fails at the first character outside a name: linear on `{{{{…`.
_PLACEHOLDER = re.compile(r'\{\{[\w.]{1,64}(?:\("[^"{}\\]{0,64}"\))?\}\}')
# A \ud800–\udfff escape: JSON's only way to a lone UTF-16 surrogate, which no UTF-8 text can hold.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _strip_trailing_commas(text: str) -> str:
    return _STRING_OR_TRAILING_COMMA.sub(lambda m: m.group(1) or m.group(2), text)


def _object(pairs: Iterable[tuple[str, Any]]) -> JsonObject:
    result = JsonObject()
    repeated: list[str] = []
    for key, value in pairs:
        if key in result and key not in repeated:
            repeated.append(key)
        result[key] = value
    result.repeated = tuple(repeated)
    return result


def _load_json(text: str) -> Any:
    return json.loads(text, parse_constant=lambda name: _BARE_CONSTANTS[name], object_pairs_hook=_object)


def nesting_depth(text: str) -> int:
    """How deep `{` / `[` nest outside JSON strings: read before parsing, without recursion."""
    depth = deepest = 0
    for char in _STRING.sub("", text):
        if char in "{[":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "}]":
            depth = max(depth - 1, 0)
    return deepest


def value_depth(value: Any) -> int:
    """How deep objects and lists nest in a decoded value (an empty one counts as a level), without
    recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict | list):
            deepest = max(deepest, depth)
            stack.extend(
                (inner, depth + 1) for inner in (current.values() if isinstance(current, dict) else current)
            )
    return deepest


def repeated_keys(value: Any, path: str = "") -> list[str]:
    """Every key given twice in `value` and the objects inside it, as a dotted path."""
    found: list[str] = []
    if isinstance(value, JsonObject):
        found += [f"{path}.{key}" if path else key for key in value.repeated]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += repeated_keys(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += repeated_keys(inner, f"{path}.{i}" if path else str(i))
    return found


def _key_value_pairs(text: str) -> Iterator[tuple[str, str]]:
    try:
        tokens = shlex.split(re.sub(r"[;&\n\r]+", " ", text), posix=True)
    except ValueError as exc:
        raise BodyNotUnderstood(f"body is neither JSON nor key=value text ({exc})") from None
    for token in tokens:
        key, sep, value = token.partition("=")
        key = key.strip().rstrip(",")
        if not sep or not _KEY.match(key):
            raise BodyNotUnderstood("body is neither JSON nor key=value text")
        yield key, value.strip().rstrip(",")


def _key_value_blocks(text: str) -> JsonObject:
    blocks = [_object(_key_value_pairs(block)) for block in _BLANK_LINE.split(text) if block.strip()]
    blocks = [block for block in blocks if block]
    if not blocks:
        raise BodyNotUnderstood("body is empty")
    if len(blocks) == 1:
        return blocks[0]
    # A first block holding only the passphrase is the batch's header; otherwise the first alert's
    # passphrase is the batch's (given once, at the top, as in the JSON batch).
    head = blocks[0]
    secrets = {key: head[key] for key in SECRET_KEYS if key in head}
    rest = JsonObject((k, v) for k, v in head.items() if k not in SECRET_KEYS)
    rest.repeated = head.repeated
    alerts = blocks[1:] if not rest else [rest, *blocks[1:]]
    if len(alerts) == 1:
        # A header and one alert: a single alert whose passphrase sits on a line of its own.
        alone = alerts[0]
        single = JsonObject({**secrets, **alone})
        twice = [*head.repeated, *alone.repeated, *(key for key in secrets if key in alone)]
        single.repeated = tuple(dict.fromkeys(twice))
        return single
    return _object([*secrets.items(), ("alerts", alerts)])


def _utf8(value: Any) -> bool:
    """Whether every key and string in `value` is text UTF-8 can hold (records, logs, answers are UTF-8)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _checked(value: Any, text: str) -> dict[str, Any]:
    """A parsed body that may be read further: an object, shallow enough, all of it UTF-8 text."""
    depth = nesting_depth(text) if value is None else value_depth(value)
    if depth > MAX_DEPTH:
        raise BodyNotUnderstood(f"body nests {depth} levels deep; at most {MAX_DEPTH} are accepted")
    if not isinstance(value, dict):
        raise BodyNotUnderstood("body must be a JSON object")
    if _SURROGATE_ESCAPE.search(text) and not _utf8(value):
        raise BodyNotUnderstood("body escapes a lone UTF-16 surrogate (\\ud800-\\udfff come in pairs)")
    return value


def _decode_json(text: str) -> tuple[dict[str, Any], str]:
    for encoding, lenient in (("json", False), ("json-lenient", True)):
        try:
            value = _load_json(_strip_trailing_commas(text) if lenient else text)
        except ValueError:
            continue
        except RecursionError:  # the parser recursed past Python's limit: far deeper than MAX_DEPTH
            value = None
        return _checked(value, text), encoding
    placeholder = _PLACEHOLDER.search(text)
    if placeholder:
        raise BodyNotUnderstood(
            f"body holds the unrendered TradingView placeholder {placeholder.group(0)}: check the alert "
            "type (a strategy's {{strategy.order.alert_message}} only renders in strategy alerts)"
        )
    raise BodyNotUnderstood("body looks like JSON but does not parse, even without trailing commas")


def decode_body(raw: bytes) -> tuple[dict[str, Any], str]:
    """Returns the decoded object and the encoding it came in: json, json-lenient or key-value."""
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise BodyNotUnderstood("body is not UTF-8 text") from None
    if not text:
        raise BodyNotUnderstood("body is empty")
    if text.startswith(("{", "[")):
        return _decode_json(text)
    return _key_value_blocks(text), "key-value"

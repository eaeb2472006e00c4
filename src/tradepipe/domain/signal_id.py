"""Ids that survive replays: pure functions of an alert's content."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

SIGNAL_ID_HEX_CHARS = 32  # 128 bits: collisions are not a practical concern at any alert volume
_KEY_SAFE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_KEY_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9_.\-]+")


def derive_signal_id(content: Mapping[str, Any]) -> str:
    """Hash the normalized alert (secrets already removed) in a canonical JSON form.

    The content must be normalized first (upper-case ticker, decimal strings, UTC times) so that two
    spellings of the same alert, e.g. `100` and `100.0`, give the same id.
    """
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:SIGNAL_ID_HEX_CHARS]


def derive_rejection_id(raw_body: bytes) -> str:
    """Id of an alert that could not be normalized: the same bad body is recorded once."""
    return "x" + hashlib.sha256(raw_body).hexdigest()[: SIGNAL_ID_HEX_CHARS - 1]


def client_order_id(signal_id: str, leg: str = "open") -> str:
    """Alpaca `client_order_id` for one intent of a signal: deterministic, unique, at most 48 chars."""
    coid = f"tp-{signal_id}-{leg}"
    if len(coid) > 48:
        raise ValueError(f"client_order_id too long ({len(coid)} > 48)")
    return coid


def sent_for_another_purpose(client_order_id: str) -> bool:
    """An order of ours that is not an entry, told by its id alone: only an entry's id ends in `-open`
    (`client_order_id(signal_id)`); every other order we send is named otherwise (an exit's, a reverse's or a
    flatten's close `…-close`, a lot's stops and flattens `…-open-<kind>-…`, the reconciler's `tp-flat-…`).
    False for an order not ours (placed by hand)."""
    return client_order_id.startswith("tp-") and not client_order_id.endswith("-open")


def strategy_key(name: str) -> str:
    """A strategy name as a key: the name itself when it is already one (letters, digits, `_ . -`: every
    name accepted before display names were, so their stored history keeps its keys), else a readable
    slug plus 8 hex of the name's hash (`Long Entry` -> `Long-Entry~4c3f0a1b`), so two names that slug
    alike (`Long Entry`, `Long-Entry`) stay two keys and no key holds a separator (`#`, `|`, spaces)."""
    if _KEY_SAFE.match(name):
        return name
    slug = _KEY_UNSAFE_RUN.sub("-", name).strip("-")[:48]
    return f"{slug}~{hashlib.sha256(name.encode()).hexdigest()[:8]}"

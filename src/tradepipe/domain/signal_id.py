"""Ids that survive replays: pure functions of an alert's content."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

SIGNAL_ID_HEX_CHARS = 32  # 128 bits: collisions are not a practical concern at any alert volume


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

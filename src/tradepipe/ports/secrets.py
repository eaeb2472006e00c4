"""Secrets the pipeline reads: webhook passphrases (by name) and JSON secrets (Alpaca keys)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import SecretStr


class WebhookSecrets(Protocol):
    def passphrases(self) -> Mapping[str, SecretStr]:
        """Named passphrases (one per strategy or source), so one can be revoked alone."""
        ...


class SecretSource(Protocol):
    def json(self, name: str) -> dict[str, Any] | None:
        """The secret as a JSON object, or None when it does not exist."""
        ...

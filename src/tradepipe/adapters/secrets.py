"""Secrets Manager secrets (JSON objects), cached for `max_age` seconds per container.

A client call and a dict rather than Powertools' parameters utility: that package imports its AppConfig,
SSM and DynamoDB providers with it, on the webhook's cold start, for the one call made here. Its behaviour is
kept: any failure to read a secret reads as "no secret", a secret that is not JSON raises, and only a
secret read is cached."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, SecretStr

from tradepipe.ports.secrets import SecretSource


class AlpacaKeys(BaseModel):
    api_key: SecretStr
    secret_key: SecretStr


class SecretReader:
    def __init__(self, client: Any, max_age_s: int) -> None:
        self._client = client
        self._max_age = max_age_s
        self._read: dict[str, tuple[float, dict[str, Any] | None]] = {}

    def json(self, name: str) -> dict[str, Any] | None:
        """The secret as a JSON object, or None when it does not exist (or cannot be read)."""
        now = time.monotonic()
        cached = self._read.get(name)
        if cached is not None and now - cached[0] < self._max_age:
            return cached[1]
        try:
            found = self._client.get_secret_value(SecretId=name)
        except Exception:  # noqa: BLE001 - as Powertools' provider: every failure is "not there"
            return None
        value = json.loads(found.get("SecretString") or found.get("SecretBinary") or "null")
        secret = value if isinstance(value, dict) else None
        self._read[name] = (now, secret)
        return secret


class WebhookPassphrases:
    """The webhook secret holds {name: passphrase}; one name per strategy or alert source."""

    def __init__(self, reader: SecretSource, name: str) -> None:
        self._reader = reader
        self._name = name

    def passphrases(self) -> Mapping[str, SecretStr]:
        value = self._reader.json(self._name)
        if value is None:
            raise RuntimeError(f"webhook secret {self._name} is missing")  # a deploy fault, not bad input
        return {str(k): SecretStr(str(v)) for k, v in value.items() if isinstance(v, str) and v}

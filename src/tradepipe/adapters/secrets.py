"""Secrets Manager through Powertools parameters: cached for `max_age` seconds per container."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from pydantic import BaseModel, SecretStr

from tradepipe.ports.secrets import SecretSource


class AlpacaKeys(BaseModel):
    api_key: SecretStr
    secret_key: SecretStr


class SecretReader:
    def __init__(self, client: Any, max_age_s: int) -> None:
        self._provider = SecretsProvider(boto3_client=client)
        self._max_age = max_age_s

    def json(self, name: str) -> dict[str, Any] | None:
        """The secret as a JSON object, or None when it does not exist."""
        try:
            value = self._provider.get(name, max_age=self._max_age, transform="json")
        except GetParameterError:
            return None
        return value if isinstance(value, dict) else None


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

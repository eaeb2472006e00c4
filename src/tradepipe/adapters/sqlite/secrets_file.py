"""The single-machine runtime's secrets: one 0600 JSON file in the state directory (or the environment), read
by the processes that need them, never served on any port. `tradepipe secrets show` prints them in the
terminal.

    {"webhook": {"default": "<passphrase>", ...},          named passphrases (revoke one alone)
     "alpaca": {"paper": {"api_key", "secret_key"},        the paper account (the local broker's keys, or
                "live": {"api_key", "secret_key"} | null}   Alpaca's paper API); live only if set
     "notify_urls": ["slack+https://...", ...]}

Environment overrides (a deployment that keeps secrets out of files): APCA_API_KEY_ID / APCA_API_SECRET_KEY
for the paper account, TRADEPIPE_WEBHOOK_PASSPHRASE for the `default` passphrase.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from tradepipe.adapters.private_files import write_private


class AlpacaKeyPair(BaseModel):
    model_config = ConfigDict(frozen=True)

    api_key: SecretStr
    secret_key: SecretStr


class AlpacaAccounts(BaseModel):
    paper: AlpacaKeyPair | None = None
    live: AlpacaKeyPair | None = None


class SecretsDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook: dict[str, SecretStr] = Field(default_factory=dict)
    alpaca: AlpacaAccounts = Field(default_factory=AlpacaAccounts)
    notify_urls: list[SecretStr] = Field(default_factory=list)

    def plain(self) -> dict[str, Any]:
        def reveal(value: Any) -> Any:
            if isinstance(value, SecretStr):
                return value.get_secret_value()
            if isinstance(value, dict):
                return {k: reveal(v) for k, v in value.items()}
            if isinstance(value, list):
                return [reveal(v) for v in value]
            return value

        return {
            "webhook": reveal(dict(self.webhook)),
            "alpaca": {
                name: None
                if pair is None
                else {"api_key": reveal(pair.api_key), "secret_key": reveal(pair.secret_key)}
                for name, pair in (("paper", self.alpaca.paper), ("live", self.alpaca.live))
            },
            "notify_urls": reveal(list(self.notify_urls)),
        }


def new_key_pair() -> AlpacaKeyPair:
    """Keys for the local paper broker, shaped like Alpaca's (a 20-character id, a 40-character secret)."""
    return AlpacaKeyPair(
        api_key=SecretStr("PK" + secrets.token_hex(9).upper()),
        secret_key=SecretStr(secrets.token_urlsafe(30)[:40]),
    )


class LocalSecrets:
    """The secrets file, re-read when it changes (a rotated passphrase applies without a restart)."""

    def __init__(self, file: Path, environ: Mapping[str, str] | None = None) -> None:
        self._file = file
        self._env = os.environ if environ is None else environ
        self._lock = threading.Lock()
        self._stamp: float | None = None
        self._doc = SecretsDocument()

    def initialize(self, *, passphrase: str | None = None, local_broker: bool = True) -> SecretsDocument:
        """Create the file on first start (a random passphrase, local broker keys); keep it afterwards, except
        that an explicit passphrase replaces the `default` one."""
        doc = self.document() if self._file.exists() else SecretsDocument()
        changed = not self._file.exists()
        if (
            passphrase is not None
            and doc.webhook.get("default", SecretStr("")).get_secret_value() != passphrase
        ):
            doc.webhook["default"] = SecretStr(passphrase)
            changed = True
        if not doc.webhook:
            doc.webhook["default"] = SecretStr(secrets.token_urlsafe(18))
            changed = True
        if local_broker and doc.alpaca.paper is None:
            doc.alpaca.paper = new_key_pair()
            changed = True
        if changed:
            write_private(self._file, json.dumps(doc.plain(), indent=2))
            self._stamp = None
        return self.document()

    def document(self) -> SecretsDocument:
        with self._lock:
            # One stat a call (the intake asks on every alert, so an edited file counts at once): `exists()`
            # first was a second system call, ~3% of the intake's samples under wrk.
            try:
                stamp: float | None = self._file.stat().st_mtime
            except FileNotFoundError:
                stamp = None
            if stamp != self._stamp:
                raw = json.loads(self._file.read_text()) if stamp is not None else {}
                self._doc, self._stamp = SecretsDocument.model_validate(raw), stamp
            return self._doc

    # --- the WebhookSecrets port ---------------------------------------------------------------------------

    def passphrases(self) -> Mapping[str, SecretStr]:
        named = dict(self.document().webhook)
        override = self._env.get("TRADEPIPE_WEBHOOK_PASSPHRASE")
        if override:
            named["default"] = SecretStr(override)
        return named

    # --- broker keys --------------------------------------------------------------------------------------

    def alpaca(self, account: str) -> AlpacaKeyPair | None:
        if account == "paper" and self._env.get("APCA_API_KEY_ID") and self._env.get("APCA_API_SECRET_KEY"):
            return AlpacaKeyPair(
                api_key=SecretStr(self._env["APCA_API_KEY_ID"]),
                secret_key=SecretStr(self._env["APCA_API_SECRET_KEY"]),
            )
        pair: AlpacaKeyPair | None = getattr(self.document().alpaca, account)
        return pair

    def notify_urls(self) -> list[SecretStr]:
        return list(self.document().notify_urls)

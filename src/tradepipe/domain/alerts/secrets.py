"""Where an alert's passphrase travels in the body, and how it is taken off before anything is parsed."""

from __future__ import annotations

from typing import Any

SECRET_KEYS = ("passphrase", "secret")


class SecretGivenTwice(ValueError):
    """Both `passphrase` and `secret`: which one authenticates would be our guess, so neither does."""


def split_secret(body: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The passphrase (`passphrase` or `secret`) and the body without any secret key."""
    given = [key for key in SECRET_KEYS if key in body]
    if len(given) > 1:
        raise SecretGivenTwice(f"the passphrase is given twice ({' and '.join(given)}): send one")
    secret = next((body[k] for k in given if isinstance(body[k], str)), None)
    return secret, without_secrets(body)


def without_secrets(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in SECRET_KEYS}

"""Alpaca's error answers: an HTTP status plus a JSON body `{"code": ..., "message": ...}`.

alpaca-py turns any 4xx/5xx into `APIError` and reads `code`/`message` from that body, so every error the
paper broker raises carries both, with the codes Alpaca uses.
"""

from __future__ import annotations

from collections.abc import Mapping

# Alpaca's code = HTTP status followed by a 5-digit detail.
CODE_INVALID_REQUEST = 40010001
CODE_MALFORMED_BODY = 40010000
CODE_UNAUTHORIZED = 40110000
CODE_FORBIDDEN = 40310000
CODE_NOT_FOUND = 40410000
CODE_UNPROCESSABLE = 42210000
CODE_RATE_LIMITED = 42910000
CODE_INTERNAL = 50010000


class BrokerError(Exception):
    """An answer Alpaca would give instead of the resource: status, code, message and optional details."""

    def __init__(
        self, status: int, code: int, message: str, details: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details or {})

    def body(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, **self.details}


def invalid(message: str) -> BrokerError:
    """A request Alpaca refuses to parse or accept as written (422 with code 40010001)."""
    return BrokerError(422, CODE_INVALID_REQUEST, message)


def unprocessable(message: str, details: Mapping[str, object] | None = None) -> BrokerError:
    """A well-formed order that breaks a pricing or order-class rule (422 with code 42210000)."""
    return BrokerError(422, CODE_UNPROCESSABLE, message, details)


def forbidden(message: str, details: Mapping[str, object] | None = None) -> BrokerError:
    """An account-protection refusal: wash trade, held quantity, buying power (403, code 40310000)."""
    return BrokerError(403, CODE_FORBIDDEN, message, details)


def not_found(message: str) -> BrokerError:
    return BrokerError(404, CODE_NOT_FOUND, message)

"""HTTP plumbing shared by the Alpaca adapters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests


class TimeoutSession(requests.Session):
    """alpaca-py sends requests without a timeout; a hung broker or data API must not hang the function.

    `before_request` runs before every request the client sends (pages and lookups included): the account's
    request budget (adapters/budget_gate.py) waits there, or raises to give the work back."""

    def __init__(self, timeout_s: float, before_request: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._timeout_s = timeout_s
        self._before_request = before_request

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout_s)
        if self._before_request is not None:
            self._before_request()
        return super().request(*args, **kwargs)

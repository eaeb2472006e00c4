"""HTTP plumbing shared by the Alpaca adapters."""

from __future__ import annotations

from typing import Any

import requests


class TimeoutSession(requests.Session):
    """alpaca-py sends requests without a timeout; a hung broker or data API must not hang the function."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self._timeout_s = timeout_s

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout_s)
        return super().request(*args, **kwargs)

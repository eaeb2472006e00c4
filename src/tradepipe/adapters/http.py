"""HTTP plumbing shared by the Alpaca adapters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

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

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """The environment's proxy and CA-bundle settings, read once per host instead of on every call:
        requests walks every environment variable twice per request for them (~10% of the runtime's workers'
        CPU per alert, measured with py-spy), and the environment does not change under a running process."""
        if proxies or not isinstance(url, str):  # per-call proxies: requests' own path
            return super().merge_environment_settings(url, proxies, stream, verify, cert)  # type: ignore[arg-type]
        known: dict[tuple[Any, ...], dict[str, Any]] = self.__dict__.setdefault("_environment", {})
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, stream, verify, cert)
        try:
            found = known.get(key)
        except TypeError:  # an unhashable setting
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        if found is None:
            found = known[key] = super().merge_environment_settings(url, proxies, stream, verify, cert)
        return {**found, "proxies": dict(found["proxies"])}

"""HTTP plumbing shared by the Alpaca adapters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from tradepipe.adapters.lean_http import LeanTransport


class TimeoutSession(requests.Session):
    """alpaca-py sends requests without a timeout; a hung broker or data API must not hang the function.

    `before_request` runs before every request the client sends (pages and lookups included): the account's
    request budget (adapters/budget_gate.py) waits there, or raises to give the work back.

    The requests alpaca-py sends (a method, a URL, its key headers, query parameters or a JSON body, no
    redirects) go straight to urllib3 (`LeanTransport`): requests' own preparation, merging of session
    settings, cookie jar and hooks cost as much CPU as the HTTP exchange itself (py-spy: ~12% of the runtime's
    workers). Anything else, and every host the environment routes through a proxy or gives netrc
    credentials, takes requests' own path."""

    def __init__(self, timeout_s: float, before_request: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._timeout_s = timeout_s
        self._before_request = before_request
        self._lean = LeanTransport()
        # (scheme, netloc) -> the CA bundle to verify with, or None where requests' own path must go.
        self._lean_hosts: dict[tuple[str, str], str | bool | None] = {}
        self._headers: dict[tuple[Any, ...], dict[str, str]] = {}

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout_s)
        if self._before_request is not None:
            self._before_request()
        verify = None if args or not isinstance(method, str) else self._lean_verify(url, kwargs)
        if verify is None:
            return super().request(method, url, *args, **kwargs)
        return self._lean.send(
            method,
            url,
            params=kwargs.get("params"),
            json=kwargs.get("json"),
            headers=self._merged_headers(kwargs.get("headers")),
            timeout=kwargs["timeout"],
            verify=verify,
        )

    def _lean_verify(self, url: Any, kwargs: dict[str, Any]) -> str | bool | None:
        """The CA bundle (True: certifi's) for the lean path, or None when this request needs requests'."""
        if (
            not isinstance(url, str)
            or kwargs.keys() - _LEAN_ARGUMENTS
            or kwargs.get("allow_redirects", True)
            or kwargs.get("data") is not None
            or isinstance(kwargs["timeout"], tuple)
            # Session-wide settings the lean path does not apply.
            or self.auth is not None
            or self.cert is not None
            or self.params
            or self.hooks["response"]
            or len(self.cookies)
        ):
            return None
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        if key not in self._lean_hosts:
            self._lean_hosts[key] = self._host_verify(url, parts.scheme)
        return self._lean_hosts[key]

    def _host_verify(self, url: str, scheme: str) -> str | bool | None:
        if (
            scheme not in ("http", "https")
            or type(self.get_adapter(url)) is not requests.adapters.HTTPAdapter
        ):
            return None  # another scheme, or an adapter mounted for it
        settings = self.merge_environment_settings(url, {}, None, self.verify, None)
        if requests.utils.select_proxy(url, settings["proxies"]) is not None:
            return None  # a proxy applies: requests knows how to tunnel through it
        if self.trust_env and requests.utils.get_netrc_auth(url) is not None:
            return None  # netrc credentials for this host: requests adds them
        verify = settings["verify"]
        if verify is True or (isinstance(verify, str) and verify):
            return verify  # requests' CA bundle, or the one REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE names
        return None  # verification off: requests' own path, as asked

    def _merged_headers(self, headers: Any) -> dict[str, str]:
        """The session's headers under the request's, as requests merges them (a None value removes them),
        kept per distinct request headers: alpaca-py sends the same ones every time."""
        try:
            key = (tuple(self.headers.items()), tuple(headers.items()) if headers else ())
            found = self._headers.get(key)
        except (TypeError, AttributeError):  # unhashable or not a mapping: merge it every time
            key, found = None, None
        if found is None:
            merged = requests.structures.CaseInsensitiveDict(self.headers)
            if headers:
                merged.update(headers)
            found = {k: v for k, v in merged.items() if v is not None}
            if key is not None and len(self._headers) < _HEADER_SETS:
                self._headers[key] = found
        return dict(found)

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


# What alpaca-py passes (rest.py `_request`): anything more takes requests' own path.
_HEADER_SETS = 64  # distinct header sets kept merged: a bound, should a caller vary them per request
_LEAN_ARGUMENTS = frozenset({"headers", "params", "json", "data", "timeout", "allow_redirects"})

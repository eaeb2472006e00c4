"""The Alpaca adapters' session: the environment's proxy settings honoured as requests honours them, read
once per host (requests reads every environment variable twice per call for them)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import requests.sessions

from tradepipe.adapters.http import TimeoutSession

ALPACA = "https://paper-api.alpaca.markets/v2/"
LOCAL = "http://127.0.0.1:8001/v2/"


def _settings(session: requests.Session, url: str) -> dict[str, Any]:
    # As Session.request calls it: `proxies or {}`.
    return session.merge_environment_settings(url, {}, None, None, None)


def test_when_proxies_are_set_then_honoured_as_requests_does_and_read_once_per_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("https_proxy", "http_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    reads: list[str] = []
    real = requests.sessions.get_environ_proxies

    def counting(url: str, no_proxy: str | None = None) -> dict[str, str]:
        reads.append(url)
        return real(url, no_proxy=no_proxy)

    monkeypatch.setattr(requests.sessions, "get_environ_proxies", counting)
    session = TimeoutSession(5)

    first = _settings(session, ALPACA + "account")
    again = _settings(session, ALPACA + "clock")
    local = _settings(session, LOCAL + "clock")

    plain = requests.Session()
    assert first == again == _settings(plain, ALPACA + "account")
    assert first["proxies"]["https"] == "http://proxy.example:3128"
    assert local == _settings(plain, LOCAL + "clock")
    assert "http" not in local["proxies"]
    assert len(reads) == 2 + 2  # once per host for ours, once per call for requests' own session

from __future__ import annotations

from collections.abc import Iterator
from typing import NoReturn

import pytest
from pytest_socket import SocketBlockedError, disable_socket, enable_socket


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Unit tests are pure: any network socket is a bug in the test or in the layering. libcurl opens its
    sockets in C, past pytest-socket: the broker's reads and orders (adapters/curl_http.py) are refused here
    too."""
    from tradepipe.adapters.curl_http import CurlHttp

    def refused(*_args: object, **_kwargs: object) -> NoReturn:
        raise SocketBlockedError("a broker exchange over libcurl in a unit test")

    monkeypatch.setattr(CurlHttp, "get", refused)
    monkeypatch.setattr(CurlHttp, "post_order", refused)
    disable_socket(allow_unix_socket=True)  # asyncio event loops need a local socketpair
    yield
    enable_socket()

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    """Unit tests are pure: any network socket is a bug in the test or in the layering."""
    disable_socket(allow_unix_socket=True)  # asyncio event loops need a local socketpair
    yield
    enable_socket()

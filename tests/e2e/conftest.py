"""The e2e tests' runtime: `tradepipe local` in a process of its own, started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.runtime import PASSPHRASE, RunningLocal, start_local, stop_local

__all__ = ["PASSPHRASE", "RunningLocal"]


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLocal]:
    proc, running = start_local(tmp_path_factory.mktemp("e2e") / "state")
    yield running
    stop_local(proc)

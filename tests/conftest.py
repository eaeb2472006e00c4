"""Fixtures shared by the suites that drive a running runtime (e2e, browser)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.local_stack import RunningLocal, running_local


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLocal]:
    """One `tradepipe local` per test module, on its own state directory (so its own paper account), its
    output in `<tmp>/local*/state.log`."""
    try:
        with running_local(tmp_path_factory.mktemp("local") / "state") as stack:
            yield stack
    except RuntimeError as exc:
        pytest.fail(str(exc))

"""Session fixtures: the app synthesized once per stage (see tests/infra/synth.py)."""

from __future__ import annotations

import pytest

from tests.infra.synth import Synth, synthesize


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory, "dev")


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory, "prod")

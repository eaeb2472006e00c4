"""Debian's Chromium, driven by playwright through `executable_path` (no browser is ever downloaded), looking
at the shared `tradepipe local` fixture."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.local_stack import RunningLocal

CHROMIUM = Path(
    os.environ.get("TRADEPIPE_CHROMIUM")
    or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium") or "chromium")
)
# Quiet, deterministic, offline: no updaters, no sync, no QUIC probes.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
NO_CHROMIUM = (
    "\n"
    + "!" * 100
    + f"\n!!! BROWSER TEST SKIPPED: no Chromium at {CHROMIUM}. The live page was NOT tested in a "
    "browser.\n!!! Install Debian's package: `make browser` (apt-get install -y chromium, as root), or point "
    "TRADEPIPE_CHROMIUM at a Chromium binary.\n" + "!" * 100
)


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        sys.stderr.write(NO_CHROMIUM + "\n")
        pytest.skip(NO_CHROMIUM)
    return CHROMIUM


@pytest.fixture(scope="module")
def local_stack(chromium_path: Path, local_stack: RunningLocal) -> RunningLocal:
    """The shared stack (tests/conftest.py), started only when there is a browser to look at it."""
    return local_stack


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()

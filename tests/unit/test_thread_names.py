"""A worker thread's name reaches the operating system's thread list (what `top -H`, py-spy and the runtime
bench's CPU per stage read)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from tradepipe.local.runtime.thread_names import show_name

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread names via /proc")


def test_a_started_thread_is_listed_under_its_name_cut_to_the_kernels_15_bytes() -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait, name="executor-1-and-more", daemon=True)
    thread.start()
    try:
        show_name(thread)
        listed = Path(f"/proc/self/task/{thread.native_id}/comm").read_text().strip()
    finally:
        release.set()
        thread.join()
    assert listed == "executor-1-and-"


def test_a_thread_not_started_is_left_alone() -> None:
    show_name(threading.Thread(target=lambda: None, name="never-started"))  # no native id: nothing to name

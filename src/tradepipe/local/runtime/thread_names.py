"""Worker threads named on the operating system's thread list (Linux: /proc/<pid>/task/<tid>/comm), so
`top -H`, py-spy and the runtime bench's CPU per stage tell the risk pollers from the executors and the
indexer instead of a row of threads all called `python`."""

from __future__ import annotations

import threading
from contextlib import suppress
from pathlib import Path

_COMM_LIMIT = 15  # the kernel keeps 15 bytes of a thread's name


def show_name(thread: threading.Thread) -> None:
    """Best effort: elsewhere than Linux, or where /proc is read-only, the thread keeps its inherited name."""
    if thread.native_id is None:
        return
    with suppress(OSError):
        Path(f"/proc/self/task/{thread.native_id}/comm").write_text(thread.name[:_COMM_LIMIT])

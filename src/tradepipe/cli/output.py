"""What every command prints through: one line at a time, flushed (a pipe or a CI log sees it at once)."""

from __future__ import annotations

import sys


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()

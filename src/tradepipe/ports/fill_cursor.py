"""How far the reconciler has read the account's fill activities: a durable mark per account, so every fill
is seen once whatever the order's age, and a run reads only what is new (not a window of history)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class FillCursorStore(Protocol):
    def fill_cursor(self, account: str) -> datetime | None:
        """The transaction time of the newest fill recorded so far; None before the first run."""
        ...

    def advance_fill_cursor(self, account: str, to: datetime) -> None:
        """Move the mark to `to`, never back (two runs at once leave the later mark). Call only after the
        fills up to `to` are recorded: a crash before it re-reads them, never skips them."""
        ...

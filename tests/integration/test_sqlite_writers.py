"""The runtime database's writers take turns on a file lock, across threads and processes alike."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from tradepipe.adapters.sqlite import database
from tradepipe.adapters.sqlite.database import Database


def test_when_a_writer_holds_the_database_then_another_waits_its_turn_instead_of_failing_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite's own busy wait cut to nothing: only the writers' file lock can make the second writer wait.
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 0)
    first, second = Database.open(tmp_path), Database.open(tmp_path)  # two connections, as two processes
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with first.transaction() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES ('a', '1')")
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    outcome: list[BaseException | None] = []

    def write() -> None:
        try:
            with second.transaction() as conn:
                conn.execute("INSERT INTO meta (key, value) VALUES ('b', '2')")
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcome.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    release.set()
    holder.join(10)
    writer.join(10)

    assert outcome == [None]
    rows = dict(second.connection().execute("SELECT key, value FROM meta WHERE key IN ('a', 'b')"))
    assert rows == {"a": "1", "b": "2"}


def test_when_a_thread_writing_opens_the_same_file_again_then_it_does_not_wait_for_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 0)
    outer, inner = Database.open(tmp_path), Database.open(tmp_path)
    outcome: list[str] = []

    def nested() -> None:
        with outer.transaction():
            try:
                with inner.transaction():
                    pass
            except sqlite3.OperationalError as exc:  # SQLite's answer, as before the file lock
                outcome.append(str(exc))

    thread = threading.Thread(target=nested, daemon=True)
    thread.start()
    thread.join(10)

    assert not thread.is_alive()
    assert outcome == ["database is locked"]

"""The workers' unit of work: one write transaction for a message's store calls, split at every wait outside
the process (an HTTP request, a sleep), so the writer lock is never held across one."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path

import pytest
import requests
from requests.adapters import BaseAdapter

from tradepipe.adapters import io_boundary
from tradepipe.adapters.http import TimeoutSession
from tradepipe.adapters.sqlite.database import WRITER_LOCK_SUFFIX, Database


def _put(db: Database, key: str) -> None:
    """A store method: its own transaction, or a savepoint in the caller's."""
    with db.transaction() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES (?, 'v')", (key,))


def _seen_by_another_process(path: Path) -> set[str]:
    with sqlite3.connect(path) as other:
        return {row[0] for row in other.execute("SELECT key FROM meta WHERE key LIKE 'k%'")}


def _writer_lock_free(db: Database) -> bool:
    fd = os.open(db.path.with_name(db.path.name + WRITER_LOCK_SUFFIX), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_store_calls_inside_a_unit_commit_together_at_its_end(tmp_path: Path) -> None:
    db = Database.open(tmp_path)
    with db.unit_of_work():
        _put(db, "k1")
        _put(db, "k2")
        assert _seen_by_another_process(db.path) == set()  # one transaction, still open
        assert not _writer_lock_free(db)
    assert _seen_by_another_process(db.path) == {"k1", "k2"}
    assert _writer_lock_free(db)


@pytest.mark.parametrize("wait", ["sleep", "http"])
def test_a_wait_outside_the_process_commits_what_was_written_and_lets_the_writer_lock_go(
    tmp_path: Path, wait: str
) -> None:
    db = Database.open(tmp_path)
    during_wait: list[tuple[set[str], bool]] = []

    class Network(BaseAdapter):  # stands for the broker: what the world sees while we wait on it
        def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
            during_wait.append((_seen_by_another_process(db.path), _writer_lock_free(db)))
            response = requests.Response()
            response.status_code = 200
            return response

        def close(self) -> None:
            pass

    session = TimeoutSession(5.0)
    session.mount("http://", Network())
    with db.unit_of_work():
        _put(db, "k1")
        if wait == "sleep":
            io_boundary.sleep(0)
            during_wait.append((_seen_by_another_process(db.path), _writer_lock_free(db)))
        else:
            session.get("http://broker.invalid/v2/orders")
        _put(db, "k2")  # a new transaction after the wait
        assert _seen_by_another_process(db.path) == {"k1"}
    assert during_wait == [({"k1"}, True)]
    assert _seen_by_another_process(db.path) == {"k1", "k2"}


def test_a_failing_store_call_rolls_back_only_its_own_writes_and_the_rest_commits(tmp_path: Path) -> None:
    db = Database.open(tmp_path)

    def failing_store_call() -> None:
        with db.transaction() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES ('k2', 'v')")
            _put(db, "k1")  # a duplicate key: this store call fails as a whole

    def handler() -> None:
        _put(db, "k1")
        with pytest.raises(sqlite3.IntegrityError):
            failing_store_call()
        _put(db, "k3")
        raise RuntimeError("the handler failed after its writes")

    with pytest.raises(RuntimeError), db.unit_of_work():
        handler()
    # As with one transaction per store call: the failed one left nothing, the others are on disk.
    assert _seen_by_another_process(db.path) == {"k1", "k3"}
    assert _writer_lock_free(db)


def test_a_wake_up_asked_for_inside_a_unit_runs_once_its_writes_are_visible(tmp_path: Path) -> None:
    db = Database.open(tmp_path)
    seen_at_wake_up: list[set[str]] = []
    with db.unit_of_work():
        _put(db, "k1")
        db.after_commit(lambda: seen_at_wake_up.append(_seen_by_another_process(db.path)))
        assert seen_at_wake_up == []
    assert seen_at_wake_up == [{"k1"}]
    db.after_commit(lambda: seen_at_wake_up.append(set()))  # outside a unit: at once
    assert seen_at_wake_up == [{"k1"}, set()]


def test_without_a_unit_each_store_call_commits_on_its_own(tmp_path: Path) -> None:
    db = Database.open(tmp_path)
    _put(db, "k1")
    assert _seen_by_another_process(db.path) == {"k1"}
    io_boundary.reached()  # no unit on this thread: nothing to do
    assert _writer_lock_free(db)

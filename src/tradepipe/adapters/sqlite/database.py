"""The single-machine runtime's database: one SQLite file, WAL, one schema version, forward migrations.

Why SQLite: one file a trader can back up, no server to run, transactions across every store (a record, its
queue message and its outbox event commit together: the window DynamoDB + SQS leave between two writes
does not
exist here), and readers never block the writer in WAL mode.

Durability is chosen per connection (`synchronous` is a per-connection setting):
- `Durability.PROMISE` (`synchronous=FULL`): the commit is fsynced before it returns. For writes that are a
  promise to the outside world: the webhook's 202 tells TradingView, which never retries, that the alert is
  safe. The intake shares each fsync between concurrent requests (group commit, `local/runtime/intake.py`).
- `Durability.PROCESS` (`synchronous=NORMAL`): the WAL frame is written before COMMIT returns, so a commit
  survives the process being killed (SIGKILL, a crash); only an OS crash or power loss can roll back the last
  commits, which the queues then deliver again (every consumer is idempotent, and the broker refuses a second
  order with the same client_order_id). For the workers. Never `OFF`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

from tradepipe.adapters import io_boundary
from tradepipe.adapters.sqlite.schema import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger(__name__)

DB_FILE = "tradepipe.db"
# Writers queue on an flock of this file before BEGIN IMMEDIATE (see `Database.transaction`).
WRITER_LOCK_SUFFIX = ".writer-lock"
_HELD = threading.local()  # the database files whose writer lock this thread holds
# How long a writer waits for another's lock before SQLITE_BUSY: far longer than any transaction of ours.
BUSY_TIMEOUT_MS = 10_000
# A unit of work that keeps the writer lock longer than this is logged: some wait outside the process (a
# sleep or a network call) was reached without an `io_boundary`, and the intake queued behind it.
UNIT_HELD_WARN_S = 0.25


class Durability(StrEnum):
    PROMISE = "FULL"
    PROCESS = "NORMAL"


class SchemaTooNew(RuntimeError):
    """The state directory was written by a newer tradepipe: refuse rather than corrupt it."""


class Database:
    """One connection per thread (sqlite3 connections are not shared across threads), explicit transactions
    (`isolation_level=None`), `BEGIN IMMEDIATE` so a writer takes the lock up front instead of failing to
    upgrade a read lock halfway through."""

    def __init__(self, path: Path, durability: Durability = Durability.PROCESS) -> None:
        self.path = path
        self.durability = durability
        self._local = threading.local()

    @classmethod
    def open(cls, state_dir: Path, durability: Durability = Durability.PROCESS) -> Database:
        """Open (creating and migrating if needed) the database in `state_dir`."""
        db = cls(state_dir / DB_FILE, durability)
        db.migrate()
        return db

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.durability.value}")
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            self._local.depth = 0
            self._local.unit = None
            self._local.lock = None
            # An open file description of its own per thread: flock excludes between threads too.
            self._local.writer_lock = os.open(
                self.path.with_name(self.path.name + WRITER_LOCK_SUFFIX), os.O_RDWR | os.O_CREAT, 0o600
            )
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested calls become savepoints, so a store method is atomic on its own and
        also composes into a caller's unit of work (the intake's group commit, a worker's message)."""
        conn = self.connection()
        depth: int = self._local.depth
        if depth == 0 and self._local.unit is not None:
            self._begin(conn)  # the unit's transaction, left open when this store method returns
            self._local.unit.begun_at = time.monotonic()
            depth = 1
        if depth > 0:
            yield from self._savepoint(conn, depth)
            return
        self._begin(conn)
        try:
            yield conn
        except BaseException:
            self._end(conn, "ROLLBACK")
            raise
        self._end(conn, "COMMIT")

    def _begin(self, conn: sqlite3.Connection) -> None:
        # Writers of every process wait their turn on a file lock, woken the moment it is released, instead
        # of in SQLite's busy handler, which sleeps 1, 2, 5 ... 100 ms between tries: under the intake's
        # group commits that sleeping was most of a worker's alert -> order latency. BEGIN IMMEDIATE keeps
        # its busy timeout for any writer that does not take the file lock, and for a thread that already
        # holds it through another Database on the same file (flock would wait for itself forever there).
        held: set[Path] = _HELD.__dict__.setdefault("paths", set())
        lock = None if self.path in held else self._local.writer_lock
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
            held.add(self.path)
        self._local.lock = lock
        try:
            conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._unlock()
            raise
        self._local.depth = 1

    def _end(self, conn: sqlite3.Connection, verb: str) -> None:
        self._local.depth = 0
        try:
            conn.execute(verb)
        except BaseException:
            if conn.in_transaction:  # a failed COMMIT can leave it open: the next BEGIN must not meet it
                conn.execute("ROLLBACK")
            raise
        finally:
            self._unlock()

    def _unlock(self) -> None:
        lock: int | None = self._local.lock
        if lock is not None:
            self._local.lock = None
            _HELD.__dict__.setdefault("paths", set()).discard(self.path)
            fcntl.flock(lock, fcntl.LOCK_UN)

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """One write transaction for every store call the block makes on this thread, instead of one each:
        the workers open it around a message's handling (~25 transactions per alert become a few).

        Split, never held across a wait: the open transaction commits at every `io_boundary` the thread
        reaches (before each HTTP request, before each sleep the composition root hands out) and the next
        store call begins another. So what a use case wrote before a broker call is on disk before the call,
        as with one transaction per store method, and the writer lock is held only while this thread runs.
        A store method that fails rolls back its own savepoint only; the rest commits at the end of the
        block, raised or not: the same outcome as before, each method's writes committed or not on their
        own. Nested units join the outer one. `after_commit` defers a wake-up until the writes are visible."""
        self.connection()
        if self._local.unit is not None:
            yield
            return
        unit = _Unit()
        self._local.unit = unit
        try:
            with io_boundary.hooked(self._commit_unit):
                yield
        finally:
            self._local.unit = None
            try:
                self._commit_unit(unit)
            finally:
                for then in unit.after:
                    then()

    def after_commit(self, then: Callable[[], None]) -> None:
        """Run `then` once this thread's writes are committed: at the end of its unit of work, or now."""
        unit: _Unit | None = getattr(self._local, "unit", None)
        if unit is None:
            then()
        else:
            unit.after.append(then)

    def _commit_unit(self, unit: _Unit | None = None) -> None:
        unit = unit or self._local.unit
        if unit is None or self._local.depth != 1 or unit.begun_at is None:
            return  # nothing written since the last split (or inside a store method: not a boundary)
        held = time.monotonic() - unit.begun_at
        unit.begun_at = None
        self._end(self.connection(), "COMMIT")
        if held > UNIT_HELD_WARN_S:
            log.warning("a unit of work held the writer lock %.0f ms: a wait with no boundary?", held * 1e3)

    def _savepoint(self, conn: sqlite3.Connection, depth: int) -> Iterator[sqlite3.Connection]:
        conn.execute(f"SAVEPOINT sp{depth}")
        self._local.depth = depth + 1
        try:
            yield conn
        except BaseException:
            self._local.depth = depth
            conn.execute(f"ROLLBACK TO sp{depth}")
            conn.execute(f"RELEASE sp{depth}")
            raise
        self._local.depth = depth
        conn.execute(f"RELEASE sp{depth}")

    @property
    def in_transaction(self) -> bool:
        return bool(getattr(self._local, "depth", 0))

    def migrate(self) -> int:
        """Apply every migration newer than the file's version, in one transaction; returns the version."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fresh = not self.path.exists()
        conn = self.connection()
        if fresh:
            os.chmod(self.path, 0o600)
        with self.transaction():
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            current = int(row[0]) if row else 0
            if current > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"{self.path} has schema version {current}; this tradepipe knows up to {SCHEMA_VERSION}"
                )
            for version, script in MIGRATIONS:
                if version > current:
                    for statement in _statements(script):
                        conn.execute(statement)
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )
        return SCHEMA_VERSION

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            os.close(self._local.writer_lock)
            self._local.conn = None


class _Unit:
    """A thread's open unit of work: when its transaction began (None: none open) and its wake-ups."""

    __slots__ = ("after", "begun_at")

    def __init__(self) -> None:
        self.begun_at: float | None = None
        self.after: list[Callable[[], None]] = []


def _statements(script: str) -> list[str]:
    """Split a migration into statements (`executescript` would commit our transaction first). Triggers hold
    `;` inside BEGIN ... END, so split on the line that closes them too."""
    statements: list[str] = []
    current: list[str] = []
    in_trigger = False
    for line in script.strip().splitlines():
        current.append(line)
        upper = line.strip().upper()
        if upper.startswith("CREATE TRIGGER"):
            in_trigger = True
        if (in_trigger and upper == "END;") or (not in_trigger and upper.endswith(";")):
            statements.append("\n".join(current))
            current, in_trigger = [], False
    if "".join(current).strip():
        statements.append("\n".join(current))
    return statements

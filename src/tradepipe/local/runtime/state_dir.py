"""The runtime's state directory: everything a single-machine deployment keeps, in one place a trader can back
up, created owner-only (0700) with secrets and the operator token 0600.

    <state-dir>/tradepipe.db        signals, orders, fills, risk state, queues, change feed, event outbox
    <state-dir>/tradepipe.db.writer-lock  empty: writers queue on its flock
    <state-dir>/tradepipe.db.writer-gate  empty: a promise writer (the operator's halt) holds it to go first
    <state-dir>/inbox.db           what the intake recorded and the workers' relay has not moved yet
    <state-dir>/secrets.json        webhook passphrases, Alpaca keys, notification URLs (0600)
    <state-dir>/operator.token      the per-install token for state-changing operator requests (0600)
    <state-dir>/runtime.json        the running runtime's ports and pids (how the CLI finds it)
    <state-dir>/broker/             the local paper broker's own database
    <state-dir>/logs/               one log file per process
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tradepipe.adapters.private_files import write_private

DEFAULT_STATE_DIR = Path(".tradepipe")


class UnsafeStateDir(RuntimeError):
    """The state directory or a secret file in it is readable by other users."""


@dataclass
class RuntimeInfo:
    """What `tradepipe local` writes once it is up, for the CLI and tests to find it."""

    webhook_url: str
    operator_url: str
    broker_url: str | None
    search_url: str
    pids: dict[str, int] = field(default_factory=dict)
    alpaca: str = "local"
    started_at: str = ""


class StateDir:
    def __init__(self, path: Path) -> None:
        self.path = path.resolve()

    def create(self) -> StateDir:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)
        for sub in ("broker", "logs"):
            (self.path / sub).mkdir(mode=0o700, exist_ok=True)
        return self

    def check_private(self) -> None:
        """Refuse to run on a state directory others can read: it holds keys and the trading records."""
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:
            raise UnsafeStateDir(f"{self.path} is mode {mode:o}; run `chmod 700 {self.path}`")
        for name in ("secrets.json", "operator.token"):
            file = self.path / name
            if file.exists() and stat.S_IMODE(file.stat().st_mode) & 0o077:
                raise UnsafeStateDir(f"{file} is readable by others; run `chmod 600 {file}`")

    @property
    def db_dir(self) -> Path:
        return self.path

    @property
    def broker_dir(self) -> Path:
        return self.path / "broker"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def secrets_file(self) -> Path:
        return self.path / "secrets.json"

    @property
    def runtime_file(self) -> Path:
        return self.path / "runtime.json"

    def operator_token(self) -> str:
        """The per-install token, created on first use and kept across restarts."""
        file = self.path / "operator.token"
        if not file.exists():
            write_private(file, secrets.token_urlsafe(32))
        return file.read_text().strip()

    def write_runtime(self, info: RuntimeInfo) -> None:
        write_private(self.runtime_file, json.dumps(asdict(info), indent=2))

    def read_runtime(self) -> RuntimeInfo | None:
        if not self.runtime_file.exists():
            return None
        raw: dict[str, Any] = json.loads(self.runtime_file.read_text())
        return RuntimeInfo(**raw)

    def clear_runtime(self) -> None:
        self.runtime_file.unlink(missing_ok=True)

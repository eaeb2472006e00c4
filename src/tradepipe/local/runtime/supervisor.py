"""`tradepipe local`: the single-machine deployment. One supervisor process starts and watches the others:

    osmem (OpenSearch-compatible, derived data)   127.0.0.1:9200
    paper broker (Alpaca-compatible, own SQLite)  127.0.0.1:8001   unless --alpaca paper (Alpaca's paper API)
    intake   (webhook: the port to tunnel)        127.0.0.1:8000
    workers  (risk, executor, indexer, schedules) no port: a Unix socket in the state directory wakes them
    operator (page, read API, kill switch)        127.0.0.1:8002   token required, never tunneled

A child that dies is started again (with backoff); the database and the queues make that safe: what it had in
flight is delivered again. Only one runtime may use a state directory at a time (an exclusive lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from tradepipe.adapters.sqlite.secrets_file import LocalSecrets
from tradepipe.backends.sqlite import SqliteBackend
from tradepipe.local.runtime.state_dir import DEFAULT_STATE_DIR, RuntimeInfo, StateDir
from tradepipe.settings import Settings

log = logging.getLogger(__name__)

BROKER_MODULE = "tradepipe.local.paper_broker"
READY_TIMEOUT_S = 60.0
MAX_RESTART_DELAY_S = 30.0
# A child that served this long before dying was healthy: restart it at once. One that dies sooner is in a
# crash loop: back off (1, 2, 4 ... 30 s) so it cannot spin the machine.
HEALTHY_UPTIME_S = 5.0


class RuntimeLocked(RuntimeError):
    """Another `tradepipe local` holds this state directory."""


@dataclass
class LocalConfig:
    state_dir: Path = DEFAULT_STATE_DIR
    host: str = "127.0.0.1"
    webhook_port: int = 8000
    operator_port: int = 8002
    broker_port: int = 8001
    search_port: int = 9200
    alpaca: Literal["local", "paper"] = "local"
    # An Alpaca-compatible broker already running (keys from the secrets file): the restart test's broker,
    # which must outlive the runtime it serves.
    broker_url: str | None = None
    passphrase: str | None = None
    broker_behaviour: str = "alpaca"
    always_open: bool = False
    broker_rate_limit: int | None = None
    log_level: str = "WARNING"
    pollers: int = 2
    schedule_s: float = 60.0
    live_trading_enabled: bool = False
    allowed_source_cidrs: tuple[str, ...] = ()
    risk_config_path: str | None = None
    alpaca_timeout_s: float = 5.0
    # The account's request budget and the risk stage's broker snapshot (Settings has the why; 0: off).
    request_budget_per_minute: int = 150
    broker_snapshot_age_s: float = 5.0

    @classmethod
    def ephemeral(cls, state_dir: Path, **overrides: Any) -> LocalConfig:
        """Free ports for everything: tests and runs beside a running `tradepipe local`."""
        from tradepipe.local.http_server import free_port

        ports = {k: free_port() for k in ("webhook_port", "operator_port", "broker_port", "search_port")}
        return cls(state_dir=state_dir, **{**ports, **overrides})


@dataclass
class Child:
    role: str
    args: list[str]
    env: dict[str, str] | None = None
    process: subprocess.Popen[str] | None = None
    restarts: int = 0
    crash_loop: int = 0
    started_at: float = 0.0
    ready: dict[str, Any] = field(default_factory=dict)


# osmem holds derived data (rebuilt from the store at any start) and costs more CPU per alert than the intake:
# when the cores are short it gives way. The workers and the paper broker keep the default priority: niced,
# they made the intake ~4x faster under 10 senders but an alert -> order took ~5x longer whenever anything
# else on the machine wanted the CPU (a backtest beside live trading), and an order's delay is money.
SEARCH_NICE = 10


def yield_cpu(pid: int, increment: int) -> None:
    """Lower every thread of `pid` (Linux's priority is per thread; later threads inherit their creator's)."""
    if increment <= 0:
        return
    try:
        tids = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:
        tids = [pid]
    for tid in tids:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment))


class Supervisor:
    def __init__(self, config: LocalConfig) -> None:
        self.config = config
        self.state = StateDir(config.state_dir)
        self.children: dict[str, Child] = {}
        self._lock_file: IO[str] | None = None
        self._search: Any = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self.info: RuntimeInfo | None = None

    # --- URLs
    # -------------------------------------------------------------------------------------------------

    def _url(self, port: int) -> str:
        return f"http://{self.config.host}:{port}"

    @property
    def webhook_url(self) -> str:
        return self._url(self.config.webhook_port) + "/webhook"

    @property
    def operator_url(self) -> str:
        return self._url(self.config.operator_port)

    @property
    def page_url(self) -> str:
        """The live page with the operator token in the fragment (never sent to a server)."""
        return f"{self.operator_url}/#token={self.state.operator_token()}"

    @property
    def broker_url(self) -> str | None:
        if self.config.broker_url:
            return self.config.broker_url
        return self._url(self.config.broker_port) if self.config.alpaca == "local" else None

    @property
    def search_url(self) -> str:
        return self._url(self.config.search_port)

    # --- start / stop
    # -----------------------------------------------------------------------------------------

    def start(self) -> Supervisor:
        cfg = self.config
        self.state.create()
        self.state.check_private()
        self._lock()
        secrets = LocalSecrets(self.state.secrets_file)
        secrets.initialize(
            passphrase=cfg.passphrase, local_broker=cfg.alpaca == "local" and not cfg.broker_url
        )
        self.state.operator_token()
        from osmem_server import OsmemServer

        self._search = OsmemServer.start(addr=f"{cfg.host}:{cfg.search_port}", freeze=False, japanese=False)
        yield_cpu(self._search.process.pid, SEARCH_NICE)
        self.settings = self._settings_for_children()
        common = ["--log-level", cfg.log_level, "--host", cfg.host]
        runtime = [sys.executable, "-m", "tradepipe.local.runtime"]
        # A commit is a promise to the outside world in the intake (a 202) and the operator (a halt): FULL.
        env = {role: self._child_env(sync) for role, sync in (("w", "NORMAL"), ("p", "FULL"))}
        if cfg.alpaca == "local" and not cfg.broker_url:
            self.children["broker"] = self._broker_child(secrets)
        workers = [
            *runtime,
            "workers",
            *common,
            "--pollers",
            str(cfg.pollers),
            "--schedule-s",
            str(cfg.schedule_s),
        ]
        self.children["workers"] = Child("workers", workers, env["w"])
        intake = [*runtime, "intake", *common, "--port", str(cfg.webhook_port)]
        self.children["intake"] = Child("intake", intake, env["p"])
        operator = [*runtime, "operator", *common, "--port", str(cfg.operator_port)]
        self.children["operator"] = Child("operator", operator, env["p"])
        try:
            for child in self.children.values():
                self._spawn(child)
            for child in self.children.values():
                self._await_ready(child)
        except BaseException:
            self.stop()
            raise
        self.info = RuntimeInfo(
            webhook_url=self.webhook_url,
            operator_url=self.operator_url,
            broker_url=self.broker_url,
            search_url=self.search_url,
            pids={"supervisor": os.getpid(), **{c.role: self._pid(c) for c in self.children.values()}},
            alpaca=cfg.alpaca,
            started_at=datetime.now(UTC).isoformat(),
        )
        self.state.write_runtime(self.info)
        self._watcher = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._watcher.start()
        return self

    def _settings_for_children(self) -> Settings:
        """The runtime's settings, handed to its processes as TRADEPIPE_* variables (the one spelling of
        them: `Settings.to_environment`)."""
        cfg = self.config
        values: dict[str, Any] = {
            "stage": "local",
            "backend": "sqlite",
            "state_dir": str(self.state.path),
            "opensearch_endpoint": self.search_url,
            "live_trading_enabled": cfg.live_trading_enabled,
            "allowed_source_cidrs": list(cfg.allowed_source_cidrs),
            "alpaca_timeout_s": cfg.alpaca_timeout_s,
            "request_budget_per_minute": cfg.request_budget_per_minute,
            "broker_snapshot_age_s": cfg.broker_snapshot_age_s,
        }
        if self.broker_url is not None:
            values |= {"alpaca_url_override": self.broker_url, "alpaca_data_url_override": self.broker_url}
        if cfg.risk_config_path:
            values["risk_config_path"] = cfg.risk_config_path
        # Notifications: what the operator exported (TRADEPIPE_NOTIFY_URLS, _EVENTS, _PUBLIC_BASE_URL, ...)
        # passes on, the rest of this environment's TRADEPIPE_* does not; channel URLs otherwise come from
        # the secrets file, and the outbox lives in the state directory (it survives a restart).
        own = Settings()
        values |= {
            "notify_secrets_file": str(self.state.secrets_file),
            "notify_state_dir": str(self.state.path / "notify"),
        }
        values |= {k: getattr(own, k) for k in own.model_fields_set if k.startswith("notify_")}
        return Settings.explicit(**values)

    def _child_env(self, synchronous: str) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("TRADEPIPE_")}
        return {**inherited, **self.settings.to_environment(), "TRADEPIPE_SQLITE_SYNCHRONOUS": synchronous}

    def backend(self) -> SqliteBackend:
        """The runtime's stores, for a caller in this process (the demo, tests): reads, and writes that any
        runtime process could make."""
        return SqliteBackend(self.settings)

    def paper_broker(self) -> Any:
        """The paper account as the workers see it (alpaca-py against the runtime's broker), or None."""
        from tradepipe.adapters.alpaca import AlpacaBroker
        from tradepipe.domain.model import Mode

        keys = self.backend().local_secrets.alpaca("paper")
        if keys is None:
            return None
        return AlpacaBroker(
            Mode.PAPER,
            keys.api_key.get_secret_value(),
            keys.secret_key.get_secret_value(),
            url_override=self.broker_url,
        )

    def search_index(self) -> Any:
        from tradepipe.adapters.opensearch import OpenSearchIndex, build_client

        return OpenSearchIndex(build_client(self.search_url, "none", "us-east-1"))

    def wake(self, schedule: str) -> None:
        """Ask the workers to run a schedule now (`reconcile`, `release`)."""
        from tradepipe.local.runtime.roles import doorbell_path
        from tradepipe.local.runtime.wakeup import Waker

        Waker(doorbell_path(self.state.path)).run_now(schedule)

    def _broker_child(self, secrets: LocalSecrets) -> Child:
        cfg = self.config
        keys = secrets.alpaca("paper")
        if keys is None:
            raise RuntimeError("no paper keys in the secrets file for the local broker")
        args = [
            sys.executable,
            "-m",
            BROKER_MODULE,
            "--port",
            str(cfg.broker_port),
            "--state-dir",
            str(self.state.broker_dir),
            "--behaviour",
            cfg.broker_behaviour,
        ]
        if cfg.always_open:
            args.append("--always-open")
        if cfg.broker_rate_limit is not None:
            args += ["--rate-limit", str(cfg.broker_rate_limit)]
        # Keys through the environment (readable by this user only), never on the command line (`ps`).
        env = {
            **os.environ,
            "TRADEPIPE_PAPER_BROKER_KEY_ID": keys.api_key.get_secret_value(),
            "TRADEPIPE_PAPER_BROKER_SECRET_KEY": keys.secret_key.get_secret_value(),
        }
        return Child("broker", args, env)

    @staticmethod
    def _pid(child: Child) -> int:
        return child.process.pid if child.process is not None else 0

    def _spawn(self, child: Child) -> None:
        env = child.env if child.env is not None else dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        log_file = self.state.logs / f"{child.role}.stderr"
        with open(log_file, "a") as stderr:
            child.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                child.args, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
            )
        child.started_at = time.monotonic()

    def _await_ready(self, child: Child) -> None:
        process = child.process
        if process is None or process.stdout is None:
            raise RuntimeError(f"{child.role} was not spawned")
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                if process.poll() is not None:
                    break
                continue
            if line.startswith("{"):
                child.ready = json.loads(line)
                return

        tail = (self.state.logs / f"{child.role}.stderr").read_text()[-2000:]
        raise RuntimeError(f"{child.role} did not start (exit {process.poll()}):\n{tail}")

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            for child in self.children.values():
                process = child.process
                if process is None or process.poll() is None or self._stopping.is_set():
                    continue
                if time.monotonic() - child.started_at > HEALTHY_UPTIME_S:
                    child.crash_loop = 0
                delay = min(MAX_RESTART_DELAY_S, 2.0**child.crash_loop) if child.crash_loop else 0.2
                child.crash_loop += 1
                log.error("%s exited with %s; restarting in %.0f s", child.role, process.returncode, delay)
                if self._stopping.wait(delay):
                    return
                child.restarts += 1
                child.ready = {}
                try:
                    self._spawn(child)
                    self._await_ready(child)
                except Exception:
                    log.exception("restarting %s failed", child.role)
                if self.info is not None:
                    self.info = replace(self.info, pids={**self.info.pids, child.role: self._pid(child)})
                    self.state.write_runtime(self.info)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        # The webhook first, so no alert is accepted while the workers shut down; the broker last.
        order = [r for r in ("intake", "operator", "workers", "broker") if r in self.children]
        for role in order:
            process = self.children[role].process
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout_s)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self._search is not None:
            with contextlib.suppress(Exception):
                self._search.close()
            self._search = None
        self.state.clear_runtime()
        self._unlock()

    def _lock(self) -> None:
        handle = open(self.state.path / "runtime.lock", "w")  # noqa: SIM115 - held for the runtime's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise RuntimeLocked(f"another tradepipe local is running on {self.state.path}") from exc
        self._lock_file = handle

    def _unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def __enter__(self) -> Supervisor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

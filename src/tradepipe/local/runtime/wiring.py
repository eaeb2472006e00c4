"""The single-machine backend: the same use cases as the Lambdas, with SQLite stores and queues, the secrets
file, the broker (the local paper broker or Alpaca) and OpenSearch (osmem or a real cluster). One instance per
process, built lazily: the intake process never imports alpaca-py, TA-Lib or opensearch-py."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tradepipe import resources
from tradepipe.adapters.clock import SystemClock
from tradepipe.adapters.sqlite.database import Database, Durability
from tradepipe.adapters.sqlite.feeds import SqliteEventOutbox
from tradepipe.adapters.sqlite.metrics import SqliteMetrics
from tradepipe.adapters.sqlite.queues import SqliteFifoQueue, SqliteIntentQueue, SqliteSignalQueue
from tradepipe.adapters.sqlite.records import SqliteFillStore, SqliteOrderStore, SqliteSignalStore
from tradepipe.adapters.sqlite.risk_state import SqliteRiskStateStore
from tradepipe.app.intake import IntakeDeps
from tradepipe.domain.model import Mode
from tradepipe.local.runtime.secrets_file import LocalSecrets
from tradepipe.local.runtime.state_dir import StateDir

if TYPE_CHECKING:
    from tradepipe.adapters.alpaca import AlpacaBroker
    from tradepipe.app.assess import RiskDeps
    from tradepipe.app.execute import ExecutorDeps
    from tradepipe.app.reconcile import ReconcileDeps
    from tradepipe.domain.risk.profile import RiskConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuntimeSettings:
    """What the runtime's processes share, written by the supervisor into runtime.json's sibling config."""

    state_dir: Path
    broker_url: str | None  # None: Alpaca's own paper API
    search_url: str
    live_trading_enabled: bool = False
    # The local queues' visibility: longer than any handler runs (a reverse waits up to 5 s for its close,
    # a 429 up to 10 s); failures come back sooner through retry_after, a dead process's at the restart.
    visibility_timeout_s: float = 60.0
    max_receive_count: int = resources.SIGNALS_QUEUE.max_receive_count
    dedupe_ttl_s: int = 7 * 24 * 3600
    max_alert_lag_s: int = 60
    max_alert_lead_s: int = 30
    allowed_source_cidrs: tuple[str, ...] = ()
    alpaca_timeout_s: float = 5.0
    risk_config_path: str | None = None


class LocalBrokers:
    """BrokerFactory: paper from the secrets file's keys (the local broker, or Alpaca's paper API), live only
    when enabled in the runtime's settings *and* live keys are in the secrets file."""

    def __init__(self, settings: RuntimeSettings, secrets: LocalSecrets) -> None:
        self._settings, self._secrets = settings, secrets
        self._cache: dict[Mode, AlpacaBroker | None] = {}

    def for_mode(self, mode: Mode) -> AlpacaBroker | None:
        if mode is Mode.LIVE and not self._settings.live_trading_enabled:
            return None
        if mode not in self._cache:
            from tradepipe.adapters.alpaca import AlpacaBroker

            keys = self._secrets.alpaca(mode.value)
            self._cache[mode] = (
                None
                if keys is None
                else AlpacaBroker(
                    mode,
                    keys.api_key.get_secret_value(),
                    keys.secret_key.get_secret_value(),
                    # Live orders always go to Alpaca itself, never to an override.
                    url_override=self._settings.broker_url if mode is Mode.PAPER else None,
                    timeout_s=self._settings.alpaca_timeout_s,
                )
            )
        return self._cache[mode]


class SqliteBackend:
    def __init__(self, settings: RuntimeSettings, durability: Durability = Durability.PROCESS) -> None:
        self.settings = settings
        self.state = StateDir(settings.state_dir)
        self.db = Database.open(self.state.db_dir, durability)
        self.secrets = LocalSecrets(self.state.secrets_file)
        self.clock = SystemClock()

    # --- stores and queues ---------------------------------------------------------------------------------

    @cached_property
    def signals(self) -> SqliteSignalStore:
        return SqliteSignalStore(self.db)

    @cached_property
    def orders(self) -> SqliteOrderStore:
        return SqliteOrderStore(self.db)

    @cached_property
    def fills(self) -> SqliteFillStore:
        return SqliteFillStore(self.db)

    @cached_property
    def risk_state(self) -> SqliteRiskStateStore:
        return SqliteRiskStateStore(self.db)

    @cached_property
    def events(self) -> SqliteEventOutbox:
        return SqliteEventOutbox(self.db)

    @cached_property
    def metrics(self) -> SqliteMetrics:
        return SqliteMetrics(self.db)

    def _fifo(self, spec: resources.QueueSpec) -> SqliteFifoQueue:
        return SqliteFifoQueue(
            self.db,
            spec.base_name,
            visibility_timeout_s=self.settings.visibility_timeout_s,
            max_receive_count=spec.max_receive_count,
        )

    @cached_property
    def signal_fifo(self) -> SqliteFifoQueue:
        return self._fifo(resources.SIGNALS_QUEUE)

    @cached_property
    def intent_fifo(self) -> SqliteFifoQueue:
        return self._fifo(resources.INTENTS_QUEUE)

    @cached_property
    def signal_queue(self) -> SqliteSignalQueue:
        return SqliteSignalQueue(self.signal_fifo)

    @cached_property
    def intent_queue(self) -> SqliteIntentQueue:
        return SqliteIntentQueue(self.intent_fifo)

    # --- the outside world (heavy imports stay here, lazily) ---------------------------------------------

    @cached_property
    def brokers(self) -> LocalBrokers:
        return LocalBrokers(self.settings, self.secrets)

    @cached_property
    def market_data(self) -> Any:
        from tradepipe.adapters.market_data import AlpacaMarketData

        keys = self.secrets.alpaca("paper")
        if keys is None:
            from tradepipe.adapters.memory_risk import MemoryMarketData

            log.warning("market data unavailable: no paper keys in %s", self.state.secrets_file)
            return MemoryMarketData()
        return AlpacaMarketData(
            keys.api_key.get_secret_value(),
            keys.secret_key.get_secret_value(),
            url_override=self.settings.broker_url,
        )

    @cached_property
    def risk_config(self) -> RiskConfig:
        from tradepipe.config import load_bundled_risk_config

        return load_bundled_risk_config(self.settings.risk_config_path)

    @cached_property
    def search_client(self) -> Any:
        from tradepipe.adapters.opensearch import build_client

        return build_client(self.settings.search_url, "none", "us-east-1")

    @cached_property
    def search_index(self) -> Any:
        from tradepipe.adapters.opensearch import OpenSearchIndex

        return OpenSearchIndex(self.search_client)

    # --- use case dependencies -----------------------------------------------------------------------------

    def intake_deps(self) -> IntakeDeps:
        s = self.settings
        return IntakeDeps(
            secrets=self.secrets,
            store=self.signals,
            queue=self.signal_queue,
            clock=self.clock,
            dedupe_ttl_s=s.dedupe_ttl_s,
            max_lag_s=s.max_alert_lag_s,
            max_lead_s=s.max_alert_lead_s,
            allowed_networks=tuple(ipaddress.ip_network(c, strict=False) for c in s.allowed_source_cidrs),
        )

    def risk_deps(self) -> RiskDeps:
        from tradepipe.analytics.indicators import average_true_range
        from tradepipe.app.assess import RiskDeps

        return RiskDeps(
            store=self.signals,
            intents=self.intent_queue,
            clock=self.clock,
            config=self.risk_config,
            brokers=self.brokers,
            risk_state=self.risk_state,
            market_data=self.market_data,
            events=self.events,
            atr=average_true_range,
        )

    def executor_deps(self) -> ExecutorDeps:
        from tradepipe.app.execute import ExecutorDeps

        return ExecutorDeps(
            signals=self.signals,
            orders=self.orders,
            brokers=self.brokers,
            clock=self.clock,
            risk_state=self.risk_state,
        )

    def reconcile_deps(self) -> ReconcileDeps:
        from tradepipe.app.reconcile import ReconcileDeps

        return ReconcileDeps(
            signals=self.signals,
            orders=self.orders,
            fills=self.fills,
            brokers=self.brokers,
            risk_state=self.risk_state,
            events=self.events,
            clock=self.clock,
            snapshots=self.risk_state,
        )

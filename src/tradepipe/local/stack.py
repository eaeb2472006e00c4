"""The embedded default: the whole pipeline on one machine, with the same handlers as in Lambda.

moto (AWS) -> resources from `tradepipe.resources`; osmem (OpenSearch); the paper broker (Alpaca);
the API emulator; the event-source pumps. Handlers are imported and invoked in-process with real-shaped
events, because moto cannot run Lambda code without Docker.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

from osmem_server import OsmemServer

from tradepipe import composition, resources
from tradepipe.local.api_gateway import ApiRoute, build_api
from tradepipe.local.aws import LOCAL_REGION, MotoServer, Provisioned, new_paper_keys, provision
from tradepipe.local.containers import FunctionContainers
from tradepipe.local.event_sources import DynamoStreamEventSource, ScheduleEventSource, SqsEventSource, _Pump
from tradepipe.local.http_server import ThreadedServer, free_port
from tradepipe.local.live_page import page_routes
from tradepipe.local.metrics_sink import MetricsSink
from tradepipe.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class LocalConfig:
    host: str = "127.0.0.1"
    api_port: int = 8000
    broker_port: int = 8001
    search_port: int = 9200
    aws_port: int = 4566
    stage: str = "local"
    passphrase: str | None = None
    # Failed messages come back after this long (AWS: six times the function timeout).
    visibility_timeout_s: int = 5
    alpaca: Literal["local", "paper"] = "local"
    allowed_source_cidrs: list[str] = field(default_factory=list)
    log_level: str = "WARNING"
    schedule_interval_s: float = 30.0
    queue_pollers: int = 2
    api_concurrency: int = 2

    @classmethod
    def ephemeral(cls, **overrides: Any) -> LocalConfig:
        """Free ports for everything: for tests that must not collide with a running `tradepipe local`."""
        ports = {k: free_port() for k in ("api_port", "broker_port", "search_port", "aws_port")}
        return cls(**{**ports, **overrides})


@dataclass
class LocalStack:
    config: LocalConfig = field(default_factory=LocalConfig)
    passphrase: str = ""
    provisioned: Provisioned | None = None
    _stoppables: list[Any] = field(default_factory=list)
    pumps: list[_Pump] = field(default_factory=list)
    metrics: MetricsSink = field(default_factory=MetricsSink)  # what CloudWatch would have received

    @property
    def aws_url(self) -> str:
        return f"http://{self.config.host}:{self.config.aws_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.config.host}:{self.config.api_port}"

    @property
    def page_url(self) -> str:
        return f"{self.api_url}/"

    @property
    def broker_url(self) -> str:
        return f"http://{self.config.host}:{self.config.broker_port}"

    @property
    def search_url(self) -> str:
        return f"http://{self.config.host}:{self.config.search_port}"

    def start(self) -> LocalStack:
        cfg = self.config
        # moto's server logs every request through werkzeug at INFO: noise on a trader's console.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # Read routes (the page polls them) add no metric; Powertools warns about that on AWS's behalf.
        warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
        self.passphrase = cfg.passphrase or secrets.token_urlsafe(18)
        moto = MotoServer(cfg.host, cfg.aws_port)
        moto.start()
        self._stoppables.append(moto)
        paper_keys = self._paper_keys()
        self.provisioned = provision(
            self.aws_url,
            cfg.stage,
            {"default": self.passphrase},
            paper_keys,
            visibility_timeout_s=cfg.visibility_timeout_s,
        )
        search = OsmemServer.start(addr=f"{cfg.host}:{cfg.search_port}", freeze=False, japanese=False)
        self._stoppables.append(search)
        # As SearchSetup does at deploy: templates, indices and aliases before the indexer's first write.
        from tradepipe.adapters.opensearch import OpenSearchIndex, build_client

        OpenSearchIndex(build_client(self.search_url, "none", "us-east-1")).ensure_templates()
        if cfg.alpaca == "local":
            from tradepipe.local.paper_broker.server import PaperBrokerServer

            broker = PaperBrokerServer(host=cfg.host, port=cfg.broker_port)
            broker.start()
            self._stoppables.append(broker)
        self._configure_environment()
        cfg = self.config
        # Containers per function: the queue pollers (and a schedule) or the API's concurrent requests.
        sizes = {
            "webhook": cfg.api_concurrency,
            "risk": cfg.queue_pollers + 1,
            "executor": cfg.queue_pollers + 1,
            "indexer": len(resources.TABLES),
        }
        handlers = {name: FunctionContainers(name, size, self.metrics.wrap) for name, size in sizes.items()}
        self._start_api(handlers)
        self._start_event_sources(handlers)
        return self

    def _paper_keys(self) -> dict[str, str]:
        if self.config.alpaca == "paper":
            # Real Alpaca paper API: keys from the environment, never from a file in the repo.
            return {"api_key": os.environ["APCA_API_KEY_ID"], "secret_key": os.environ["APCA_API_SECRET_KEY"]}
        return new_paper_keys()

    def _configure_environment(self) -> None:
        provisioned = self._require_provisioned()
        cfg = self.config
        local = cfg.alpaca == "local"
        settings = Settings.explicit(
            stage=cfg.stage,
            region=LOCAL_REGION,
            aws_endpoint_url=self.aws_url,
            signals_queue_url=provisioned.queues[resources.SIGNALS_QUEUE.base_name].url,
            intents_queue_url=provisioned.queues[resources.INTENTS_QUEUE.base_name].url,
            opensearch_endpoint=self.search_url,
            opensearch_auth="none",
            secret_max_age_s=5,
            allowed_source_cidrs=cfg.allowed_source_cidrs,
            # The local paper broker serves trading and market data; `--alpaca paper` reaches Alpaca itself.
            alpaca_url_override=self.broker_url if local else None,
            alpaca_data_url_override=self.broker_url if local else None,
        )
        for name in ("TRADEPIPE_ALPACA_URL_OVERRIDE", "TRADEPIPE_ALPACA_DATA_URL_OVERRIDE"):
            os.environ.pop(name, None)
        env = {
            **settings.to_environment(),
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_METRICS_NAMESPACE": resources.METRICS_NAMESPACE,
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": cfg.log_level,
        }
        os.environ.update(env)
        composition.reset()

    def _start_api(self, handlers: dict[str, Any]) -> None:
        webhook, timeout = handlers["webhook"], resources.WEBHOOK_FUNCTION.timeout_s
        routes = [
            ApiRoute("POST", "/webhook", "webhook", webhook, timeout),
            ApiRoute("POST", "/webhook/{token}", "webhook", webhook, timeout),
            # IAM-authorized on AWS; on one machine only the machine itself may read.
            ApiRoute("GET", "/signals", "webhook", webhook, timeout, loopback_only=True),
            ApiRoute("GET", "/signals/{signal_id}", "webhook", webhook, timeout, loopback_only=True),
            ApiRoute("GET", "/trading-state/{account}", "webhook", webhook, timeout, loopback_only=True),
            ApiRoute("POST", "/trading-state/{account}", "webhook", webhook, timeout, loopback_only=True),
        ]
        # The live page and its local endpoints (loopback-only too): not a Lambda, the local stack's own.
        page = page_routes(lambda day: self.metrics.on_day(day)["AlertsDuplicate"])
        api = ThreadedServer(
            build_api(routes, page), self.config.host, self.config.api_port, name="api"
        ).start()
        self._stoppables.append(api)

    def _require_provisioned(self) -> Provisioned:
        if self.provisioned is None:
            raise RuntimeError("the local stack is not started")
        return self.provisioned

    def _start_event_sources(self, handlers: dict[str, Any]) -> None:
        provisioned = self._require_provisioned()
        q = provisioned.queues
        for queue_name, function in (
            (resources.SIGNALS_QUEUE.base_name, resources.RISK_FUNCTION),
            (resources.INTENTS_QUEUE.base_name, resources.EXECUTOR_FUNCTION),
        ):
            # Several pollers per FIFO queue, as Lambda scales with message groups: SQS still hands out
            # one group's messages in order, one batch at a time.
            self.pumps.extend(
                SqsEventSource(
                    self.aws_url,
                    q[queue_name].url,
                    q[queue_name].arn,
                    handlers[function.name],
                    function.name,
                    function.timeout_s,
                    batch_size=q[queue_name].spec.batch_size,
                )
                for _ in range(self.config.queue_pollers)
            )
        for stream_arn in provisioned.stream_arns.values():
            self.pumps.append(
                DynamoStreamEventSource(
                    self.aws_url,
                    stream_arn,
                    handlers["indexer"],
                    "indexer",
                    resources.INDEXER_FUNCTION.timeout_s,
                )
            )
        # The risk function's schedule (rate(1 minute) on AWS) releases entries queued while closed.
        self.pumps.append(
            ScheduleEventSource(
                handlers["risk"], "risk", resources.RISK_FUNCTION.timeout_s, self.config.schedule_interval_s
            )
        )
        # The executor's schedule (rate(1 minute) on AWS) runs the reconciler.
        self.pumps.append(
            ScheduleEventSource(
                handlers["executor"],
                "executor",
                resources.EXECUTOR_FUNCTION.timeout_s,
                self.config.schedule_interval_s,
            )
        )
        for pump in self.pumps:
            pump.start()

    def run_schedule(self, function_name: str, timeout_s: float = 60.0) -> bool:
        """Run a function's scheduled entry point now (the executor's reconciler, the risk stage's release
        of queued entries) and wait for it; False if it did not finish within `timeout_s`."""
        pump = next(
            p for p in self.pumps if isinstance(p, ScheduleEventSource) and p.function_name == function_name
        )
        done = pump.fire_now()
        deadline = time.monotonic() + timeout_s
        while pump.completed <= done:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self) -> None:
        for pump in self.pumps:
            pump.stop()
        for pump in self.pumps:
            pump.join(timeout=5)
        for component in reversed(self._stoppables):
            try:
                component.stop() if hasattr(component, "stop") else component.close()
            except Exception:  # stopping is best effort: one stuck part must not keep the others running
                log.exception("stopping %s failed", component)
        self._stoppables.clear()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""The one Settings object. Nothing else in the package reads `os.environ`.

Read from the environment here rather than by pydantic-settings: that library's import (asyncio, argparse,
dotenv, its CLI and cloud sources) was ~30-90 ms of every function's cold start, and TradingView waits on
the webhook's. What it did for us is small and kept as it was: each field from `TRADEPIPE_<NAME>` (any case),
lists and models as JSON, given values over the environment's, then the model's own validation."""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from tradepipe import resources
from tradepipe.notify.toggles import NotifyToggles

if TYPE_CHECKING:
    from tradepipe.domain.request_budget import BudgetRule

ENV_PREFIX = "TRADEPIPE_"


class Settings(BaseModel):
    """`Settings()` reads this process's TRADEPIPE_* variables; values given to it win over them."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: str = "local"
    region: str = "us-east-1"
    # Where records, queues, events and secrets live: AWS (DynamoDB, SQS, EventBridge, Secrets Manager), or
    # the single-machine runtime's SQLite database and secrets file in `state_dir`.
    backend: Literal["aws", "sqlite"] = "aws"
    state_dir: str | None = None
    # SQLite durability of this process's commits: FULL where a commit is a promise to the outside world
    # (the intake's 202, the operator's halt), NORMAL for the workers (see adapters/sqlite/database.py).
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "NORMAL"
    # Endpoint for every boto3 client: moto's server in the embedded default, None on AWS.
    aws_endpoint_url: str | None = None

    # Live trading is off unless switched on here *and* the live secret exists (checked by the executor).
    live_trading_enabled: bool = False
    # Alpaca base URL override: the local paper broker in the embedded default, None for Alpaca itself.
    alpaca_url_override: str | None = None
    alpaca_data_url_override: str | None = None
    # Per-request timeout for Alpaca calls: a hung broker must not hang the function (Lambda timeout 30 s).
    alpaca_timeout_s: float = 5.0
    # A position tradepipe did not open (a manual trade) is reported without stop cover, not touched; set this
    # to protect it too: a stop this many percent from its average entry (TRADEPIPE_PROTECT_MANUAL_STOP_PCT).
    protect_manual_stop_pct: float | None = None
    # One request budget per account for every caller of Alpaca's trading API together
    # (domain/request_budget.py): 150 a minute sustained, 30 at once, so no minute sees more than 180 of
    # Alpaca's 200; 0 switches it off. A request whose slot is more than `request_budget_max_wait_s` away is
    # given back, as Alpaca's 429 is.
    request_budget_per_minute: int = Field(default=150, ge=0, le=200)
    request_budget_burst: int = Field(default=30, ge=1, le=200)
    request_budget_max_wait_s: float = Field(default=10.0, ge=0)
    # The risk stage reads the account, positions and clock at most once per this many seconds per account
    # (adapters/broker_snapshot.py): one snapshot per batch. 0 reads them for every signal.
    broker_snapshot_age_s: float = Field(default=5.0, ge=0, le=60)

    opensearch_endpoint: str = "http://127.0.0.1:9200"
    opensearch_auth: Literal["none", "sigv4"] = "none"

    # Queue URLs are passed in (CDK knows them at deploy, the local stack after creating the queues).
    signals_queue_url: str = ""
    intents_queue_url: str = ""

    # Alerts older than this (or further in the future than max_alert_lead_s) are rejected as stale.
    max_alert_lag_s: int = 60
    max_alert_lead_s: int = 30
    # Source addresses allowed to post alerts (CIDRs, JSON list in the environment). Empty: any. On AWS the
    # API's resource policy enforces the same list; locally the handler does.
    allowed_source_cidrs: list[str] = []

    secret_max_age_s: int = 300
    # Risk profiles: None reads the risk.toml bundled with the package (tradepipe/config/risk.toml).
    risk_config_path: str | None = None
    # How long a signal record is kept as a dedupe key (DynamoDB TTL); must outlive SQS FIFO's 5 minutes.
    dedupe_ttl_s: int = 7 * 24 * 3600

    # Notifications. Channel URLs carry tokens (SecretStr: never printed). The first source set wins: this
    # JSON list, then the local secrets file ({"notify_urls": [...]}, mode 600), then the Secrets Manager
    # secret of that name (AWS; same JSON).
    notify_urls: list[SecretStr] = []
    notify_secrets_file: str | None = None
    notify_secret_name: str | None = None
    # The email topic the stack creates (its subscriptions are the recipients): a channel on top of the URLs.
    notify_email_topic_arn: str | None = None
    # Links to a signal's trail: `{signal_id}` in it is replaced, else `/signals/<id>` is appended.
    notify_public_base_url: str | None = None
    notify_events: NotifyToggles = NotifyToggles()  # JSON, e.g. {"duplicates": true}; unknown names fail
    notify_state_dir: str = ".tradepipe/notify"  # the local runtime's outbox (SQLite) lives here
    notify_telegram_api: str = "https://api.telegram.org"  # a local stand-in in tests
    notify_http_timeout_s: float = 5.0
    # The pipeline is silent after this many market minutes without an alert; 0 switches the check off.
    notify_silence_minutes: int = 60

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**from_environment(type(self), os.environ), **values})

    @model_validator(mode="after")
    def _sigv4_needs_https(self) -> Settings:
        if self.opensearch_auth == "sigv4" and not self.opensearch_endpoint.startswith("https://"):
            raise ValueError("opensearch_auth=sigv4 requires an https:// opensearch_endpoint")
        return self

    @field_validator("notify_public_base_url")
    @classmethod
    def _http_base_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("notify_public_base_url must be an http(s) URL")
        return value

    @field_validator("allowed_source_cidrs")
    @classmethod
    def _valid_cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # raises on a typo: never silently allow everyone
        return value

    @cached_property
    def allowed_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        # Parsed once per container (get_settings is cached), not on every webhook request.
        return tuple(ipaddress.ip_network(c, strict=False) for c in self.allowed_source_cidrs)

    @classmethod
    def explicit(cls, **values: Any) -> Settings:
        """Settings from these values alone, never from this process's environment: what infra, the local
        stack and the tests hand to another process (through `to_environment`)."""
        return _ExplicitSettings(**values)

    def to_environment(self) -> dict[str, str]:
        """The TRADEPIPE_* variables that rebuild these settings in another process: every field that was
        given (the others keep their defaults there too). The one place a setting's variable name is
        spelled: infra puts these on each function, the local stack and the tests export them."""
        env: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name not in self.model_fields_set or value is None:
                continue
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, list):
                # Secret lists (channel URLs) too: the variable is how the other process receives them.
                text = json.dumps([v.get_secret_value() if isinstance(v, SecretStr) else v for v in value])
            elif isinstance(value, BaseModel):
                text = value.model_dump_json()
            else:
                text = str(value)
            env[f"{ENV_PREFIX}{name.upper()}"] = text
        return env

    @property
    def signals_table(self) -> str:
        return resources.SIGNALS_TABLE.name(self.stage)

    @property
    def fills_table(self) -> str:
        return resources.FILLS_TABLE.name(self.stage)

    @property
    def orders_table(self) -> str:
        return resources.ORDERS_TABLE.name(self.stage)

    @property
    def risk_state_table(self) -> str:
        return resources.RISK_STATE_TABLE.name(self.stage)

    @property
    def event_bus_name(self) -> str:
        return resources.EVENT_BUS.name(self.stage)

    @property
    def webhook_secret_name(self) -> str:
        return resources.WEBHOOK_SECRET.name(self.stage)

    @property
    def alpaca_paper_secret_name(self) -> str:
        return resources.ALPACA_PAPER_SECRET.name(self.stage)

    @property
    def alpaca_live_secret_name(self) -> str:
        return resources.ALPACA_LIVE_SECRET.name(self.stage)


class _ExplicitSettings(Settings):
    model_config = ConfigDict(defer_build=True)  # infra's and the local stack's, never a function's

    def __init__(self, **values: Any) -> None:
        BaseModel.__init__(self, **values)  # the given values alone: no environment


def from_environment(model: type[BaseModel], environ: Mapping[str, str]) -> dict[str, Any]:
    """The model's fields found in `environ` as TRADEPIPE_<NAME>, the name in any case (as pydantic-settings
    read them): a list or a model is JSON, anything else the text itself, for the model to validate."""
    found = {key.lower(): text for key, text in environ.items()}
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        text = found.get(f"{ENV_PREFIX}{name}".lower())
        if text is None:
            continue
        if _is_json(field.annotation):
            try:
                values[name] = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"{ENV_PREFIX}{name.upper()} is not valid JSON: {exc}") from None
        else:
            values[name] = text
    return values


def _is_json(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset, dict):
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_is_json(arg) for arg in get_args(annotation)) if origin is not Literal else False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def budget_rule(settings: Settings) -> BudgetRule:
    """The request budget's rule (the composition root skips the budget when its rate is 0)."""
    from tradepipe.domain.request_budget import BudgetRule  # the broker's callers', not every function's

    return BudgetRule(
        per_minute=max(1, settings.request_budget_per_minute), burst=settings.request_budget_burst
    )

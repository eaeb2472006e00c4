"""Stage settings for the infra, read from cdk.json context `tradepipe:stages` and validated loudly.

The functions' runtime settings live in `tradepipe.settings`; this model only covers what the CDK app
decides per stage (names, retention, capacity, thresholds). A typo in cdk.json fails synth with the path of
the bad field instead of deploying a default.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tradepipe import resources

STAGES_CONTEXT_KEY = "tradepipe:stages"
STAGE_CONTEXT_KEY = "stage"
DEFAULT_STAGE = "dev"

# The values CloudWatch Logs accepts for RetentionInDays.
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)


class ConfigError(ValueError):
    """cdk.json context is missing or invalid; the message names the stage and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiConfig(_Model):
    # Stage-wide API Gateway throttling, sized for a bar-close burst: every alert of a bar arrives within
    # about a second and TradingView never retries, so the burst limit must exceed the largest burst (a
    # throttled alert is lost). The flood guard is WAF's per-IP rate rule, not this.
    throttle_rate_limit: float = Field(gt=0, le=10_000)
    throttle_burst_limit: int = Field(gt=0, le=5_000)
    # Source addresses allowed to POST alerts (API resource policy and, in depth, the handler). Empty: any.
    # TradingView's published list is tradepipe.resources.TRADINGVIEW_SOURCE_IPS.
    allowed_source_ips: list[str] = Field(default_factory=list)

    @field_validator("allowed_source_ips")
    @classmethod
    def _valid_ips(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)
        return value


class SearchConfig(_Model):
    instance_type: str = Field(pattern=r"^[a-z0-9]+\.[a-z0-9]+\.search$")
    instance_count: int = Field(ge=1, le=10)
    volume_size_gb: int = Field(ge=10, le=1024)

    @model_validator(mode="after")
    def _zone_awareness_needs_even_count(self) -> SearchConfig:
        # More than one node means two-AZ zone awareness, which needs an even data node count.
        if self.instance_count > 1 and self.instance_count % 2:
            raise ValueError(f"instance_count={self.instance_count}: use 1, or an even count for two AZs")
        return self

    @property
    def zone_awareness(self) -> bool:
        return self.instance_count > 1


class EventsConfig(_Model):
    # How long the domain-event bus archive keeps events for replay (EventBridge archive retention).
    archive_retention_days: int = Field(ge=1, le=3650)


class AlarmConfig(_Model):
    """Thresholds for PipelineAlarms (infra/components/observability.py); each alarm has a runbook line in
    docs/operations.md. Counts are per evaluation period (five minutes unless a name says otherwise)."""

    # Messages visible in any dead-letter queue (signals, order intents, indexer failures).
    dlq_visible_messages: int = Field(ge=1)
    # Errors / invocations over five minutes, per function.
    function_error_rate_percent: float = Field(gt=0, le=100)
    # Throttled invocations per function over five minutes.
    function_throttles_per_5_minutes: int = Field(ge=1)
    # API Gateway 5XXError count over five minutes (a bad alert is a 4xx, so any 5xx is ours).
    webhook_5xx_per_5_minutes: int = Field(ge=1)
    # API Gateway Latency p99 over five minutes (TradingView gives up after about 3 s).
    api_p99_latency_ms: int = Field(ge=100, le=29_000)
    # Indexer stream iterator age (how far OpenSearch lags the tables), maximum over five minutes.
    stream_iterator_age_ms: int = Field(ge=1_000)
    # (Orders rejected at submission + asynchronous rejections) / orders over fifteen minutes, evaluated
    # only once at least `order_rejection_min_orders` orders were attempted (one rejection of two is noise).
    order_rejection_rate_percent: float = Field(gt=0, le=100)
    order_rejection_min_orders: int = Field(ge=1)
    # Addresses subscribed to the alarm topic (email); empty: subscribe on-call's tooling by hand.
    notify_emails: list[str] = Field(default_factory=list)

    @field_validator("notify_emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for email in value:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
                raise ValueError(f"{email!r} is not an email address")
        return value


class NotificationsConfig(_Model):
    """The trader's notifications (infra/components/notifications.py). Channel URLs are secrets: they go in
    the `tradepipe/<stage>/notify` secret, never here; email addresses are not, so they are subscriptions."""

    # Addresses subscribed to the notification topic (each confirms by email before it receives anything).
    emails: list[str] = Field(default_factory=list)
    # Trail links in messages: `{signal_id}` is replaced, else `/signals/<id>` is appended. None: no links.
    public_base_url: str | None = Field(default=None, pattern=r"^https://")
    # Market minutes without an alert before the pipeline is announced silent (the risk schedule); 0: off.
    silence_minutes: int = Field(default=60, ge=0, le=7 * 390)
    # Per-event switches (tradepipe.notify.toggles.NotifyToggles names); unknown names fail the synth.
    events: dict[str, bool] = Field(default_factory=dict)
    # Notifications dropped (refused by a channel, or older than a day) per five minutes before alarming.
    dropped_per_5_minutes: int = Field(default=1, ge=1)

    @field_validator("emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for email in value:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
                raise ValueError(f"{email!r} is not an email address")
        return value

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: dict[str, bool]) -> dict[str, bool]:
        from tradepipe.notify.toggles import NotifyToggles

        NotifyToggles.model_validate(value)  # raises on a name that is not a switch
        return value


class WafConfig(_Model):
    """Optional AWS WAF web ACL in front of the API stage (about $6 a month per stage plus requests)."""

    enabled: bool = False
    # Requests per source IP per five-minute window before WAF blocks it (AWS minimum: 10). TradingView
    # sends from four addresses, so the limit bounds a flood, not a busy strategy.
    rate_limit_per_5_minutes: int = Field(default=300, ge=10, le=2_000_000_000)


class FunctionsConfig(_Model):
    # Reserved concurrency per function name. The executor's bounds concurrent broker calls (Alpaca allows
    # 200 requests a minute per account); the risk stage's bounds the market-data and clock calls. Empty in
    # dev: a new account's concurrency limit is 10 and reservations must leave 10 unreserved.
    reserved_concurrency: dict[str, int] = Field(default_factory=dict)

    @field_validator("reserved_concurrency")
    @classmethod
    def _known_functions(cls, value: dict[str, int]) -> dict[str, int]:
        known = {spec.name for spec in resources.FUNCTIONS}
        for name, count in value.items():
            if name not in known:
                raise ValueError(f"unknown function {name!r}: one of {sorted(known)}")
            if not 1 <= count <= 1000:
                raise ValueError(f"reserved_concurrency[{name!r}]={count}: use 1..1000")
        return value


class StageConfig(_Model):
    stage: str = Field(pattern=r"^[a-z][a-z0-9]{1,11}$")
    name_prefix: str
    log_retention_days: int
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # RETAIN tables, secrets, the search domain and log groups on stack deletion (prod), or DESTROY (dev).
    retain_data: bool
    # Sets TRADEPIPE_LIVE_TRADING_ENABLED and whether the executor may read the live Alpaca secret.
    live_trading_allowed: bool
    api: ApiConfig
    opensearch: SearchConfig
    events: EventsConfig
    alarms: AlarmConfig
    waf: WafConfig = Field(default_factory=WafConfig)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    functions: FunctionsConfig = Field(default_factory=FunctionsConfig)
    # Optional pinning of the stack's environment; None keeps the template environment-agnostic.
    account: str | None = Field(default=None, pattern=r"^\d{12}$")
    region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")

    @field_validator("log_retention_days")
    @classmethod
    def _known_retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"{value} is not a CloudWatch Logs retention; pick one of {sorted(LOG_RETENTION_DAYS)}"
            )
        return value

    @model_validator(mode="after")
    def _prefix_matches_resources(self) -> StageConfig:
        # Tables, queues and secrets are named by tradepipe.resources; the prefix names everything else
        # (functions, log groups, API, domain), so both must agree or the stage looks like two stages.
        expected = resources.SIGNALS_TABLE.name(self.stage).removesuffix(
            f"-{resources.SIGNALS_TABLE.base_name}"
        )
        if self.name_prefix != expected:
            raise ValueError(
                f"name_prefix={self.name_prefix!r} must be {expected!r} (see tradepipe.resources)"
            )
        # The OpenSearch domain is named f"{prefix}-search" and domain names allow 28 characters.
        if not re.fullmatch(r"[a-z][a-z0-9-]{2,20}", self.name_prefix):
            raise ValueError(
                f"name_prefix={self.name_prefix!r} must be 3-21 lowercase letters, digits or '-'"
            )
        return self


def load_stage_config(context: dict[str, Any], stage: str | None = None) -> StageConfig:
    """Validate the chosen stage's settings from the CDK context (cdk.json plus `-c` overrides)."""
    chosen = stage or str(context.get(STAGE_CONTEXT_KEY) or DEFAULT_STAGE)
    stages = context.get(STAGES_CONTEXT_KEY)
    if not isinstance(stages, dict) or not stages:
        raise ConfigError(f"cdk.json context {STAGES_CONTEXT_KEY!r} is missing or not an object")
    if chosen not in stages:
        raise ConfigError(f"unknown stage {chosen!r}: {STAGES_CONTEXT_KEY} defines {sorted(stages)}")
    raw = stages[chosen]
    if not isinstance(raw, dict):
        raise ConfigError(f"{STAGES_CONTEXT_KEY}.{chosen} must be an object")
    if "stage" in raw:
        raise ConfigError(f"{STAGES_CONTEXT_KEY}.{chosen}: the stage name is the key, not a field")
    try:
        return StageConfig.model_validate({"stage": chosen, **raw})
    except ValidationError as exc:
        raise ConfigError(f"{STAGES_CONTEXT_KEY}.{chosen} is invalid:\n{exc}") from exc

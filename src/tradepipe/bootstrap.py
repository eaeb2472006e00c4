"""Builds adapters from Settings, on first use (never at import), once per process."""

from __future__ import annotations

import logging
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3

from tradepipe.adapters.clock import SystemClock
from tradepipe.adapters.dynamodb import DynamoFillStore, DynamoOrderStore, DynamoSignalStore
from tradepipe.adapters.events import EventBridgePublisher
from tradepipe.adapters.risk_state import DynamoRiskStateStore
from tradepipe.adapters.secrets import AlpacaKeys, SecretReader, WebhookPassphrases
from tradepipe.adapters.sqs import SqsIntentQueue, SqsSignalQueue
from tradepipe.settings import Settings, get_settings

if TYPE_CHECKING:
    from tradepipe.domain.risk.profile import RiskConfig
    from tradepipe.ports.market_data import MarketData

log = logging.getLogger(__name__)


@cache
def _session() -> boto3.Session:
    return boto3.Session(region_name=get_settings().region)


def aws_client(service: str) -> Any:
    settings = get_settings()
    return _session().client(service, endpoint_url=settings.aws_endpoint_url)  # type: ignore[call-overload]


@cache
def _dynamodb() -> Any:
    settings = get_settings()
    return _session().resource("dynamodb", endpoint_url=settings.aws_endpoint_url)


@cache
def signal_store() -> DynamoSignalStore:
    return DynamoSignalStore(_dynamodb().Table(get_settings().signals_table))


@cache
def order_store() -> DynamoOrderStore:
    return DynamoOrderStore(_dynamodb().Table(get_settings().orders_table))


@cache
def risk_state_store() -> DynamoRiskStateStore:
    return DynamoRiskStateStore(_dynamodb().Table(get_settings().risk_state_table))


@cache
def event_publisher() -> EventBridgePublisher:
    return EventBridgePublisher(aws_client("events"), get_settings().event_bus_name)


@cache
def market_data() -> MarketData:
    """Alpaca's market data with the paper keys (bars are the same for both accounts). While the secret is
    missing or still the deployed placeholder: a source with no bars, so ATR is None and the risk engine
    decides without it (logged once per container) instead of failing every message."""
    # Imported here so the webhook's import path never loads alpaca-py (and pandas with it).
    from tradepipe.adapters.market_data import AlpacaMarketData

    settings = get_settings()
    raw = secret_reader().json(settings.alpaca_paper_secret_name)
    keys = None if raw is None else AlpacaKeys.model_validate(raw)
    if keys is None or keys.api_key.get_secret_value() in ("", "SET_ME"):
        from tradepipe.adapters.memory_risk import MemoryMarketData

        log.warning("market data unavailable: %s holds no Alpaca keys", settings.alpaca_paper_secret_name)
        return MemoryMarketData()
    return AlpacaMarketData(
        keys.api_key.get_secret_value(),
        keys.secret_key.get_secret_value(),
        url_override=settings.alpaca_data_url_override,
    )


@cache
def risk_config() -> RiskConfig:
    """The risk profiles: the bundled risk.toml, or TRADEPIPE_RISK_CONFIG_PATH. Raises on a bad file."""
    from tradepipe.config import load_bundled_risk_config

    return load_bundled_risk_config(get_settings().risk_config_path)


@cache
def fill_store() -> DynamoFillStore:
    return DynamoFillStore(_dynamodb().Table(get_settings().fills_table))


@cache
def secret_reader() -> SecretReader:
    return SecretReader(aws_client("secretsmanager"), get_settings().secret_max_age_s)


@cache
def webhook_passphrases() -> WebhookPassphrases:
    return WebhookPassphrases(secret_reader(), get_settings().webhook_secret_name)


@cache
def _sqs() -> Any:
    return aws_client("sqs")


@cache
def signal_queue() -> SqsSignalQueue:
    return SqsSignalQueue(_sqs(), _required(get_settings(), "signals_queue_url"))


@cache
def intent_queue() -> SqsIntentQueue:
    return SqsIntentQueue(_sqs(), _required(get_settings(), "intents_queue_url"))


def clock() -> SystemClock:
    return SystemClock()


def _required(settings: Settings, name: str) -> str:
    value = getattr(settings, name)
    if not value:
        raise RuntimeError(f"setting TRADEPIPE_{name.upper()} is required by this function")
    return str(value)


def reset() -> None:
    """Forget every cached client and setting (tests and the local stack switch endpoints)."""
    for fn in (
        _session,
        _dynamodb,
        signal_store,
        order_store,
        fill_store,
        secret_reader,
        webhook_passphrases,
        _sqs,
        signal_queue,
        intent_queue,
        search_index,
        risk_state_store,
        event_publisher,
        market_data,
        risk_config,
    ):
        fn.cache_clear()
    get_settings.cache_clear()


@cache
def search_index() -> Any:
    # Imported here so the webhook's import path never loads opensearch-py.
    from tradepipe.adapters.opensearch import OpenSearchIndex, build_client

    settings = get_settings()
    return OpenSearchIndex(
        build_client(settings.opensearch_endpoint, settings.opensearch_auth, settings.region)
    )

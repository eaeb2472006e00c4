"""Builds adapters from Settings, on first use (never at import), once per process."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3

from tradepipe.adapters.clock import SystemClock
from tradepipe.adapters.dynamodb import DynamoOrderStore, DynamoSignalStore
from tradepipe.adapters.secrets import SecretReader, WebhookPassphrases
from tradepipe.adapters.sqs import SqsIntentQueue, SqsSignalQueue
from tradepipe.settings import Settings, get_settings


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
        secret_reader,
        webhook_passphrases,
        _sqs,
        signal_queue,
        intent_queue,
        search_index,
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

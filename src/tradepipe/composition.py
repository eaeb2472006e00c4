"""The one composition root: every use case's deps, built from Settings.

Handlers, the CLI and the local stack get their wiring here and nowhere else. Adapters are built on first
use (never at import) and then reused, once per process; `reset()` forgets all of them (tests and the
local stack switch endpoints). Imports happen inside the functions that need them, so importing this module
costs nothing, and the heavy libraries (alpaca-py, opensearch-py, TA-Lib) load only in the functions that
use them: the webhook's import path never does.

Stores, queues, events and secrets come from a backend (`tradepipe.backends`); `_backend()` picks it.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tradepipe.domain.model import Mode
from tradepipe.settings import get_settings

if TYPE_CHECKING:
    from tradepipe.adapters.alpaca import AlpacaBroker
    from tradepipe.adapters.budget_gate import BudgetGate
    from tradepipe.adapters.secrets import WebhookPassphrases
    from tradepipe.app.assess import RiskDeps
    from tradepipe.app.execute import ExecutorDeps
    from tradepipe.app.flatten import FlattenDeps
    from tradepipe.app.index import IndexDeps
    from tradepipe.app.intake import IntakeDeps
    from tradepipe.app.minute_schedule import ReleaseDeps
    from tradepipe.app.reconcile import ReconcileDeps
    from tradepipe.app.signal_feed import FeedDeps
    from tradepipe.app.silence import SilenceDeps
    from tradepipe.app.trading_state import StateDeps
    from tradepipe.app.trail import TrailDeps
    from tradepipe.backends import Backend
    from tradepipe.backends.aws import AwsBackend
    from tradepipe.backends.sqlite import SqliteBackend
    from tradepipe.domain.risk.profile import RiskConfig
    from tradepipe.notify.assemble import Notifier
    from tradepipe.notify.use_cases import NotifyDeps
    from tradepipe.ports.broker import BrokerFactory
    from tradepipe.ports.calendar import MarketCalendar
    from tradepipe.ports.clock import Clock
    from tradepipe.ports.market_data import MarketData
    from tradepipe.ports.messaging import EventPublisher, Redelivery
    from tradepipe.ports.quotes import Quotes
    from tradepipe.ports.search import SearchAdmin, SearchIndex
    from tradepipe.ports.stores import SignalStore, TableChange
    from tradepipe.settings import Settings

log = logging.getLogger(__name__)

PAGE_SNAPSHOT_AGE_S = 15.0

# --- the backend and the adapters that do not depend on it ---------------------------------------------


@cache
def backend() -> Backend:
    if get_settings().backend == "sqlite":
        return sqlite_backend()
    return _aws_backend()


@cache
def sqlite_backend() -> SqliteBackend:
    """The single-machine runtime's backend, with what its own processes read besides the ports (the queues'
    consumer side, the change feed, metrics, the secrets file)."""
    from tradepipe.backends.sqlite import SqliteBackend

    return SqliteBackend(get_settings())


def _aws_backend() -> AwsBackend:
    from tradepipe.backends.aws import AwsBackend

    return AwsBackend(get_settings())


def clock() -> Clock:
    from tradepipe.adapters.clock import SystemClock

    return SystemClock()


@cache
def webhook_passphrases() -> WebhookPassphrases:
    from tradepipe.adapters.secrets import WebhookPassphrases

    return WebhookPassphrases(backend().secrets, get_settings().webhook_secret_name)


class AlpacaBrokers:
    """Which broker a signal's mode may use: paper by default, live only when the stage enables it and the
    live secret holds real keys. One client per mode and process."""

    def for_mode(self, mode: Mode) -> AlpacaBroker | None:
        if mode is Mode.LIVE and not get_settings().live_trading_enabled:
            return None
        return _broker(mode)


@cache
def broker_factory() -> AlpacaBrokers:
    return AlpacaBrokers()


@cache
def _broker(mode: Mode) -> AlpacaBroker | None:
    # Imported here so the webhook's import path never loads alpaca-py (and pandas with it).
    from tradepipe.adapters.alpaca import AlpacaBroker

    settings = get_settings()
    name = settings.alpaca_live_secret_name if mode is Mode.LIVE else settings.alpaca_paper_secret_name
    keys = _alpaca_keys(name)
    if keys is None:
        return None
    return AlpacaBroker(
        mode,
        *keys,
        # The override points paper orders at the local broker; live orders always go to Alpaca itself.
        url_override=settings.alpaca_url_override if mode is Mode.PAPER else None,
        timeout_s=settings.alpaca_timeout_s,
        before_request=request_gate(mode),
    )


@cache
def request_gate(mode: Mode) -> BudgetGate | None:
    """The account's request budget, taken before every trading-API request of every stage (risk, the
    executor and its reconciler, the open's release): one budget per account, shared through the backend's
    store by every function and process. None when switched off (`request_budget_per_minute = 0`)."""
    from tradepipe.adapters.budget_gate import BudgetGate

    settings = get_settings()
    if settings.request_budget_per_minute == 0:
        return None
    return BudgetGate(
        backend().request_budget, mode.value, clock(), max_wait_s=settings.request_budget_max_wait_s
    )


@cache
def risk_brokers() -> BrokerFactory:
    """The risk stage's brokers: the account, positions and clock read once per batch, not per signal."""
    from tradepipe.adapters.broker_snapshot import SnapshotBrokers
    from tradepipe.app.patient_broker import PatientBrokers

    # Patient over the snapshot: a 429 on a read waits Alpaca's reset like every repeatable call. (The other
    # way round, each patient wrapper is new per call and the snapshot, kept per broker, would never hit.)
    age = get_settings().broker_snapshot_age_s
    # Its reads timed on the clock the stores' releases are stamped with (the caps compare the two).
    snapshots = SnapshotBrokers(broker_factory(), age, wall=clock().now) if age > 0 else broker_factory()
    return PatientBrokers(snapshots)


@cache
def page_brokers() -> BrokerFactory:
    """The live page's portfolio reads (account, positions), shared by every open tab and read at most
    every 15 s: a tab polling every 3 s would otherwise spend 40 of the account's requests a minute."""
    from tradepipe.adapters.broker_snapshot import SnapshotBrokers

    return SnapshotBrokers(broker_factory(), PAGE_SNAPSHOT_AGE_S)


def _alpaca_keys(secret_name: str) -> tuple[str, str] | None:
    """(api key, secret key), or None while the secret is missing or still the deployed placeholder (no
    credentials until an operator sets them)."""
    from tradepipe.adapters.secrets import AlpacaKeys

    raw = backend().secrets.json(secret_name)
    if raw is None:
        return None
    keys = AlpacaKeys.model_validate(raw)
    if keys.api_key.get_secret_value() in ("", "SET_ME"):
        return None
    return keys.api_key.get_secret_value(), keys.secret_key.get_secret_value()


@cache
def market_data() -> MarketData:
    """Alpaca's market data with the paper keys (bars are the same for both accounts). While the secret is
    missing or still the placeholder: a source with no bars, so ATR is None and the risk engine decides
    without it (logged once per process) instead of failing every message."""
    settings = get_settings()
    keys = _alpaca_keys(settings.alpaca_paper_secret_name)
    if keys is None:
        from tradepipe.adapters.memory_risk import MemoryMarketData

        log.warning("market data unavailable: %s holds no Alpaca keys", settings.alpaca_paper_secret_name)
        return MemoryMarketData()
    from tradepipe.adapters.market_data import AlpacaMarketData

    return AlpacaMarketData(*keys, url_override=settings.alpaca_data_url_override)


def quotes() -> Quotes | None:
    """The latest quote for the executor's collared entries: Alpaca's market data with the paper keys (the
    same source as the bars). None while the keys are missing: entries are then sized against their limit,
    the worst price they can fill at."""
    from tradepipe.adapters.market_data import AlpacaMarketData

    source = market_data()
    return source if isinstance(source, AlpacaMarketData) else None


@cache
def market_calendar() -> MarketCalendar | None:
    """Alpaca's calendar with the paper keys (sessions are the same for both accounts; locally the paper
    broker answers it). None while the keys are missing or the placeholder: the silence check waits."""
    settings = get_settings()
    keys = _alpaca_keys(settings.alpaca_paper_secret_name)
    if keys is None:
        return None
    from tradepipe.adapters.alpaca_calendar import AlpacaCalendar

    return AlpacaCalendar(
        *keys,
        url_override=settings.alpaca_url_override,
        timeout_s=settings.alpaca_timeout_s,
        before_request=request_gate(Mode.PAPER),
    )


@cache
def risk_config() -> RiskConfig:
    """The risk profiles: the bundled risk.toml, or TRADEPIPE_RISK_CONFIG_PATH. Raises on a bad file."""
    from tradepipe.config import load_bundled_risk_config

    return load_bundled_risk_config(get_settings().risk_config_path)


@cache
def search_index() -> SearchIndex:
    # Imported here so the webhook's import path never loads opensearch-py.
    from tradepipe.adapters.opensearch import OpenSearchIndex, build_client

    settings = get_settings()
    return OpenSearchIndex(
        build_client(settings.opensearch_endpoint, settings.opensearch_auth, settings.region)
    )


def search_admin(endpoint: str, master_secret_arn: str) -> SearchAdmin:
    """The search domain as its master user: deploy-time setup only."""
    from tradepipe.adapters.search_admin import OpenSearchAdmin

    return OpenSearchAdmin.with_master_secret(endpoint, master_secret_arn)


def stream_changes(event: dict[str, Any]) -> list[TableChange]:
    """A DynamoDB Streams event, decoded: what the indexer indexes."""
    from tradepipe.adapters.dynamodb import table_changes

    return table_changes(event, get_settings().stage)


@cache
def notifier() -> Notifier:
    """The notifier as the Lambda runs it: channels from Secrets Manager (or the environment), email through
    SNS, an in-memory outbox (on Lambda the SQS queue in front is the durable store: a record is reported
    failed while any channel lacks its event; the outbox remembers, for the container's life, which channel
    took which event, so a redelivery reaches only the channels that missed it)."""
    from tradepipe.notify.assemble import build_notifier
    from tradepipe.notify.channels import ChannelKind
    from tradepipe.notify.outbox import MemoryOutbox
    from tradepipe.notify.sns import Boto3SnsPublisher
    from tradepipe.notify.sources import channel_urls, load_channels

    settings = get_settings()
    channels = load_channels(channel_urls(settings, backend().secrets.json), settings.notify_telegram_api)
    email = any(c.kind is ChannelKind.EMAIL for c in channels)
    sns = Boto3SnsPublisher(_aws_backend().client("sns")) if email else None
    return build_notifier(settings, channels=channels, outbox=MemoryOutbox(), sns=sns)


# --- what the pipeline announces (app/notices.py) ----------------------------------------------------------


class _EventsOnFirstPublish:
    """The backend's publisher, built when the first event is published: the webhook announces only on its
    rarer branches (rejections, duplicates), so its cold start never pays for an EventBridge client."""

    def publish(self, detail_type: str, detail: Any) -> None:
        backend().events.publish(detail_type, detail)


def _events() -> EventPublisher:
    return _EventsOnFirstPublish()


def _announcing(store: SignalStore) -> SignalStore:
    """The signal store every stage that can reject writes through: each signal it moves to REJECTED is
    announced as `SignalRejected`, whichever stage and code path rejected it."""
    from tradepipe.app.notices import AnnouncedRejections

    return backend().in_one_transaction(AnnouncedRejections(store, _events()))


def local_notifier(settings: Settings | None = None) -> Notifier:
    """The single-machine runtime's notifier (and `tradepipe notify test`'s): channels from
    `TRADEPIPE_NOTIFY_URLS` or the secrets file, the outbox in SQLite under `notify_state_dir`, so what waits
    for a channel survives a restart."""
    from tradepipe.notify.assemble import local_notifier as build

    return build(settings or get_settings())


def notify_check_deps(secrets_file: Path) -> NotifyDeps:
    """What `tradepipe notify test` sends through: the channels the notifier would use (the environment,
    else `secrets_file` when the environment names no source, else the stage's secret), sent directly (no
    outbox: a test message is never queued behind the runtime's)."""
    from tradepipe.notify.assemble import build_notifier
    from tradepipe.notify.channels import ChannelKind
    from tradepipe.notify.outbox import MemoryOutbox
    from tradepipe.notify.sns import Boto3SnsPublisher
    from tradepipe.notify.sources import channel_urls, load_channels

    settings = get_settings()
    if not (settings.notify_urls or settings.notify_secrets_file or settings.notify_secret_name):
        settings = settings.model_copy(update={"notify_secrets_file": str(secrets_file)})
    read_secret = _aws_backend().secrets.json if settings.notify_secret_name else None
    channels = load_channels(channel_urls(settings, read_secret), settings.notify_telegram_api)
    email = any(c.kind is ChannelKind.EMAIL for c in channels)
    sns = Boto3SnsPublisher(_aws_backend().client("sns")) if email else None
    return build_notifier(settings, channels=channels, outbox=MemoryOutbox(), sns=sns).deps


# --- one deps per use case --------------------------------------------------------------------------------


def intake_deps() -> IntakeDeps:
    from tradepipe.app.intake import IntakeDeps

    settings = get_settings()
    return IntakeDeps(
        secrets=webhook_passphrases(),
        store=_announcing(backend().signal_store),
        queue=backend().signal_queue,
        clock=clock(),
        dedupe_ttl_s=settings.dedupe_ttl_s,
        max_lag_s=settings.max_alert_lag_s,
        max_lead_s=settings.max_alert_lead_s,
        allowed_networks=settings.allowed_networks,
        events=_events(),
        admission=backend().signal_admission,
    )


def local_intake_deps() -> IntakeDeps:
    """The single-machine intake's deps: the webhook's, with every write going to the intake's own inbox
    (adapters/sqlite/inbox.py), so its commit never waits for a worker's; rejections announced there too."""
    from dataclasses import replace

    from tradepipe.adapters.sqlite.inbox import (
        InboxAdmission,
        InboxEvents,
        InboxSignalQueue,
        InboxSignalStore,
    )
    from tradepipe.adapters.sqlite.one_transaction import OneTransactionSignalStore
    from tradepipe.app.notices import AnnouncedRejections

    sqlite = sqlite_backend()
    inbox = sqlite.inbox
    events = InboxEvents(inbox)
    store = InboxSignalStore(inbox, sqlite.signal_store)
    return replace(
        intake_deps(),
        store=OneTransactionSignalStore(inbox.db, AnnouncedRejections(store, events)),
        queue=InboxSignalQueue(inbox),
        events=events,
        admission=InboxAdmission(inbox),
    )


def feed_deps() -> FeedDeps:
    from tradepipe.app.signal_feed import FeedDeps

    return FeedDeps(backend().signal_feed, clock(), get_settings().dedupe_ttl_s)


def trail_deps() -> TrailDeps:
    from tradepipe.app.trail import TrailDeps

    return TrailDeps(backend().signal_store, backend().order_store)


def state_deps() -> StateDeps:
    from tradepipe.app.trading_state import StateDeps

    return StateDeps(trading_state=backend().trading_state, events=backend().events, clock=clock())


def flatten_deps() -> FlattenDeps:
    from tradepipe.app.flatten import FlattenDeps

    b = backend()
    return FlattenDeps(signals=_announcing(b.signal_store), intents=b.intent_queue, clock=clock())


def risk_deps() -> RiskDeps:
    from tradepipe.analytics.indicators import average_true_range  # TA-Lib: the risk function only
    from tradepipe.app.assess import RiskDeps

    b = backend()
    return RiskDeps(
        store=_announcing(b.signal_store),
        intents=b.intent_queue,
        clock=clock(),
        config=risk_config(),
        brokers=risk_brokers(),
        trading_state=b.trading_state,
        history=b.symbol_history,
        reservations=b.reservations,
        positions=b.position_reports,
        queued=b.queued_entries,
        market_data=market_data(),
        events=b.events,
        atr=average_true_range,
        unit_of_work=b.unit_of_work,
    )


def release_deps() -> ReleaseDeps:
    from tradepipe.app.minute_schedule import ReleaseDeps

    b = backend()
    return ReleaseDeps(
        b.signal_store,
        b.queued_entries,
        _patient_brokers(),
        b.signal_queue,
        b.trading_state,
        closes=b.queued_closes,
        intents=b.intent_queue,
    )


def _patient_brokers() -> Any:
    """Brokers whose repeatable calls wait out a 429 (the executor and the reconciler wrap theirs)."""
    from tradepipe.app.patient_broker import PatientBrokers

    return PatientBrokers(broker_factory())


def executor_deps() -> ExecutorDeps:
    from tradepipe.app.execute import ExecutorDeps

    b = backend()
    return ExecutorDeps(
        signals=_announcing(b.signal_store),
        orders=b.order_store,
        brokers=broker_factory(),
        clock=clock(),
        history=b.symbol_history,
        leases=b.ticker_leases,
        queued=b.queued_entries,
        closes=b.queued_closes,
        events=b.events,
        reservations=b.reservations,
        profiles=risk_config(),
        quotes=quotes(),
        lots=b.lots,
    )


def intent_redelivery() -> Redelivery:
    """The intents queue's redelivery on AWS: a message waiting for the broker comes back in seconds."""
    from tradepipe.adapters.sqs import SqsIntentQueue

    queue = backend().intent_queue
    if not isinstance(queue, SqsIntentQueue):
        raise TypeError("redelivery is the Lambda's (the local workers retry on their own)")
    return queue


def reconcile_deps() -> ReconcileDeps:
    from tradepipe.app.reconcile import ReconcileDeps

    b = backend()
    return ReconcileDeps(
        signals=_announcing(b.signal_store),
        orders=b.order_store,
        fills=b.fill_store,
        brokers=broker_factory(),
        history=b.symbol_history,
        positions=b.position_reports,
        events=b.events,
        clock=clock(),
        snapshots=b.equity_snapshots,
        leases=b.ticker_leases,
        manual_stop_pct=_manual_stop_pct(),
        reservations=b.reservations,
        fill_cursor=b.fill_cursor,
        lots=b.lots,
    )


def silence_deps() -> SilenceDeps:
    from tradepipe.app.silence import SilenceDeps

    b = backend()
    return SilenceDeps(
        feed=b.signal_feed,
        calendar=market_calendar(),
        notices=b.notice_ledger,
        events=b.events,
        clock=clock(),
        threshold_minutes=get_settings().notify_silence_minutes,
    )


def _manual_stop_pct() -> Any:
    from decimal import Decimal

    pct = get_settings().protect_manual_stop_pct
    return None if pct is None else Decimal(str(pct))


def index_deps() -> IndexDeps:
    from tradepipe.app.index import IndexDeps

    return IndexDeps(search=search_index(), signals=backend().signal_lookup)


def reset() -> None:
    """Forget every adapter and the settings: the next call builds them again from the environment."""
    for cached in (
        backend,
        sqlite_backend,
        webhook_passphrases,
        broker_factory,
        _broker,
        request_gate,
        risk_brokers,
        page_brokers,
        market_data,
        market_calendar,
        risk_config,
        search_index,
        notifier,
    ):
        cached.cache_clear()
    get_settings.cache_clear()

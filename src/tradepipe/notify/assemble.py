"""Builds a notifier (use-case deps + delivery worker) from Settings and the adapters it is given.

The one place that knows which adapters a notifier is made of; the composition root calls `local_notifier`
(the single-machine runtime: SQLite outbox) or `composition.notifier` (in-memory outbox behind SQS).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tradepipe.adapters.clock import SystemClock
from tradepipe.notify.channels import Channel
from tradepipe.notify.delivery import DeliveryWorker, RetryPolicy
from tradepipe.notify.outbox import Outbox
from tradepipe.notify.outbox_sqlite import SqliteOutbox
from tradepipe.notify.senders import ChannelSender, HttpTransport, SnsPublisher, UrllibTransport
from tradepipe.notify.sources import channel_urls, load_channels
from tradepipe.notify.use_cases import NotifyDeps
from tradepipe.ports.clock import Clock
from tradepipe.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notifier:
    deps: NotifyDeps
    worker: DeliveryWorker


def build_notifier(
    settings: Settings,
    *,
    channels: Sequence[Channel],
    outbox: Outbox,
    sns: SnsPublisher | None = None,
    http: HttpTransport | None = None,
    clock: Clock | None = None,
    sleep: Callable[[float], None] = time.sleep,
    policy: RetryPolicy | None = None,
) -> Notifier:
    if not channels:
        log.warning("no notification channels configured: events are filtered and dropped")
    clock = clock or SystemClock()
    sender = ChannelSender(http or UrllibTransport(), sns, settings.notify_http_timeout_s)
    worker = DeliveryWorker(outbox, channels, sender, clock, sleep, policy)
    deps = NotifyDeps(
        channels=tuple(channels),
        outbox=outbox,
        sender=sender,
        clock=clock,
        toggles=settings.notify_events,
        public_base_url=settings.notify_public_base_url,
        stage=settings.stage,
        on_enqueued=worker.kick,
    )
    return Notifier(deps, worker)


def local_notifier(settings: Settings, **adapters: object) -> Notifier:
    """Channels from `TRADEPIPE_NOTIFY_URLS` or the secrets file; the outbox in SQLite under the state dir,
    so messages waiting for a channel survive a restart."""
    channels = load_channels(channel_urls(settings), settings.notify_telegram_api)
    return build_notifier(
        settings,
        channels=channels,
        outbox=SqliteOutbox(settings.notify_state_dir),
        **adapters,  # type: ignore[arg-type]
    )

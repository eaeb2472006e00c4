"""The notifier on Lambda: channels from Secrets Manager, email through SNS, an in-memory outbox.

On Lambda the SQS queue in front is the durable store: a record is reported failed while any channel has
not received its event, so SQS delivers it again after the visibility timeout (and to the DLQ after its
receives). The in-memory outbox lives as long as the container and remembers which channel took which
event, so a redelivery landing on the same container reaches only the channels that missed it.
"""

from __future__ import annotations

from functools import cache

from tradepipe import bootstrap
from tradepipe.notify.assemble import Notifier, build_notifier
from tradepipe.notify.channels import ChannelKind
from tradepipe.notify.outbox import MemoryOutbox
from tradepipe.notify.sns import Boto3SnsPublisher
from tradepipe.notify.sources import channel_urls, load_channels
from tradepipe.settings import get_settings


@cache
def lambda_notifier() -> Notifier:
    settings = get_settings()
    urls = channel_urls(settings, bootstrap.secret_reader().json)
    channels = load_channels(urls, settings.notify_telegram_api)
    email = any(c.kind is ChannelKind.EMAIL for c in channels)
    sns = Boto3SnsPublisher(bootstrap.aws_client("sns")) if email else None
    return build_notifier(settings, channels=channels, outbox=MemoryOutbox(), sns=sns)

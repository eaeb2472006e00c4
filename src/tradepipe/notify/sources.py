"""Where channel URLs come from: `TRADEPIPE_NOTIFY_URLS` (a JSON list), else the local secrets file, else the
Secrets Manager secret (AWS). The first source that is set wins, so a test or a one-off run can override
the file without editing it. The stack's email topic (`TRADEPIPE_NOTIFY_EMAIL_TOPIC_ARN`) is added to
whichever it is. Errors name the source and the position, never a URL.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from tradepipe.notify.channels import TELEGRAM_API, Channel, ChannelUrl, ChannelUrlError, parse_channel
from tradepipe.settings import Settings

URLS_KEY = "notify_urls"


class NotifyConfigError(ValueError):
    """The notification configuration cannot be used. Raised at start: a broken config fails loudly."""


def channel_urls(settings: Settings, read_secret: Callable[[str], Any] | None = None) -> list[ChannelUrl]:
    urls = _configured(settings, read_secret)
    if settings.notify_email_topic_arn:
        urls.append(ChannelUrl(f"sns://{settings.notify_email_topic_arn}"))
    return urls


def _configured(settings: Settings, read_secret: Callable[[str], Any] | None) -> list[ChannelUrl]:
    if settings.notify_urls:
        return [ChannelUrl(u.get_secret_value()) for u in settings.notify_urls]
    if settings.notify_secrets_file:
        return _from_file(Path(settings.notify_secrets_file))
    if settings.notify_secret_name and read_secret is not None:
        value = read_secret(settings.notify_secret_name)
        if value is None:
            raise NotifyConfigError(f"secret {settings.notify_secret_name} is missing")
        return _from_value(value, f"secret {settings.notify_secret_name}")
    return []


def load_channels(urls: Sequence[str | SecretStr], telegram_api: str = TELEGRAM_API) -> tuple[Channel, ...]:
    """Typed channels, one per distinct URL."""
    channels: dict[str, Channel] = {}
    for position, url in enumerate(urls, start=1):
        try:
            channel = parse_channel(url, telegram_api)
        except ChannelUrlError as error:
            raise NotifyConfigError(f"notify URL #{position}: {error}") from None
        channels.setdefault(channel.id, channel)
    return tuple(channels.values())


def _from_file(path: Path) -> list[ChannelUrl]:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return []  # no file: no channels configured yet
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise NotifyConfigError(f"{path} holds secrets and is readable by others: chmod 600 {path}")
    try:
        value = json.loads(path.read_text())
    except ValueError:
        raise NotifyConfigError(f"{path} is not JSON") from None
    return _from_value(value, str(path))


def _from_value(value: Any, source: str) -> list[ChannelUrl]:
    urls = value.get(URLS_KEY, []) if isinstance(value, dict) else value
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise NotifyConfigError(f"{source}: expected {{{URLS_KEY!r}: [url, ...]}}")
    return [ChannelUrl(u) for u in urls if u.strip()]

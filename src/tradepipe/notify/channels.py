"""Notification channels, typed from their URLs. A channel URL is a secret (the token is in it), so it is
held as a `ChannelUrl` (repr/str show the scheme only) and each channel carries the fragments that must
never be printed; `redact_channels` removes them from any text.

| URL | channel | request |
|---|---|---|
| `sns://<topic-arn>` | email: an SNS topic whose email subscriptions are the recipients | SNS Publish |
| `slack+https://hooks.slack.com/services/...` | Slack incoming webhook | POST `{"text": ...}` |
| `discord+https://discord.com/api/webhooks/<id>/<token>` | Discord webhook | POST `{"content": ...}` |
| `telegram://<bot-token>@<chat-id>` | Telegram bot | POST `<api>/bot<token>/sendMessage` |
| any other `https://` URL | generic JSON webhook | POST `{"text": ..., "event": {...}, "events": [...]}` |

Plain `http` is accepted only for loopback hosts (local stand-ins in tests); a token never travels in clear.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import SecretStr

TELEGRAM_API = "https://api.telegram.org"
MASK = "***"
_SNS_ARN = re.compile(r"^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
_TELEGRAM_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_TELEGRAM_CHAT = re.compile(r"^(-?\d+|@[A-Za-z][A-Za-z0-9_]{4,})$")
_MIN_SECRET_FRAGMENT = 12  # path segments and query values this long are treated as tokens


class ChannelUrl(SecretStr):
    """A channel URL: printable as `slack+https://***`, never as itself."""

    def _display(self) -> str:
        value = self.get_secret_value()
        scheme = value.split(":", 1)[0] if ":" in value else "?"
        return f"{scheme[:24]}://{MASK}"


class ChannelKind(StrEnum):
    EMAIL = "email"
    SLACK = "slack"
    DISCORD = "discord"
    TELEGRAM = "telegram"
    WEBHOOK = "webhook"


# Message size per channel, in UTF-16 code units (how Telegram counts; stricter than code points for the
# others): Discord `content` is at most 2000 characters (Execute Webhook); Telegram `sendMessage` text is
# 1-4096 characters after entity parsing; Slack truncates `text` past 40,000 characters and recommends
# staying under 4,000 (chat.postMessage); an SNS message may be 256 KB, an email stays readable far below.
MAX_CHARS = {
    ChannelKind.SLACK: 4000,
    ChannelKind.DISCORD: 2000,
    ChannelKind.TELEGRAM: 4096,
    ChannelKind.EMAIL: 16000,
    ChannelKind.WEBHOOK: 4000,
}
# Pace per channel: Slack allows about one message per second per webhook, short bursts tolerated
# (api.slack.com/docs/rate-limits, "Incoming webhooks"); Telegram asks bots to avoid more than one message
# per second in a chat and allows 20 a minute in a group (core.telegram.org/bots/faq, "My bot is hitting
# limits"). Discord publishes no fixed number: its rate-limit headers and 429 `retry_after` decide
# (discord.com/developers/docs/topics/rate-limits). SNS and generic webhooks are not paced.
MIN_INTERVAL_S = {
    ChannelKind.SLACK: 1.0,
    ChannelKind.DISCORD: 0.0,
    ChannelKind.TELEGRAM: 1.0,
    ChannelKind.EMAIL: 0.0,
    ChannelKind.WEBHOOK: 0.0,
}
TELEGRAM_GROUP_INTERVAL_S = 3.0  # 20 messages a minute


class ChannelUrlError(ValueError):
    """A channel URL that cannot be used. The message names the problem, never the URL."""


@dataclass(frozen=True, repr=False)
class Channel:
    kind: ChannelKind
    id: str  # `<kind>-<digest>`: stable across restarts, safe to log and to store
    target: SecretStr  # the URL to POST to, or the SNS topic ARN
    chat_id: str | None = None  # Telegram only
    min_interval_s: float = 0.0
    fragments: tuple[str, ...] = field(default=(), compare=False)  # never printed, longest first

    @property
    def max_chars(self) -> int:
        return MAX_CHARS[self.kind]

    def __repr__(self) -> str:
        return f"Channel({self.kind.value}, {self.id})"

    __str__ = __repr__


def channel_id(kind: ChannelKind, url: str) -> str:
    return f"{kind.value}-{hashlib.sha256(url.encode()).hexdigest()[:10]}"


def parse_channel(url: str | SecretStr, telegram_api: str = TELEGRAM_API) -> Channel:
    raw = url.get_secret_value() if isinstance(url, SecretStr) else url
    raw = raw.strip()
    scheme = raw.split(":", 1)[0].lower() if ":" in raw else ""
    if scheme == "sns":
        return _sns(raw)
    if scheme in ("slack+https", "slack+http"):
        return _webhook(ChannelKind.SLACK, raw, raw.split("+", 1)[1])
    if scheme in ("discord+https", "discord+http"):
        return _webhook(ChannelKind.DISCORD, raw, raw.split("+", 1)[1])
    if scheme == "telegram":
        return _telegram(raw, telegram_api)
    if scheme in ("https", "http"):
        return _webhook(ChannelKind.WEBHOOK, raw, raw)
    raise ChannelUrlError(f"unsupported channel scheme {scheme[:24]!r}")


def redact_channels(text: str, channels: Iterable[Channel]) -> str:
    """`text` with every channel's URL, endpoint and tokens replaced by `***`."""
    fragments = sorted({f for c in channels for f in c.fragments}, key=len, reverse=True)
    for fragment in fragments:
        text = text.replace(fragment, MASK)
    return text


def is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked_http_url(url: str, what: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ChannelUrlError(f"{what}: not an http(s) URL with a host")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ChannelUrlError(f"{what}: plain http is allowed only to a loopback host")


def _fragments(*values: str) -> tuple[str, ...]:
    found: set[str] = set()
    for value in values:
        found.add(value)
        parts = urlsplit(value)
        if parts.password:
            found.add(parts.password)
        for piece in [*parts.path.split("/"), *re.split(r"[&=]", parts.query)]:
            if len(piece) >= _MIN_SECRET_FRAGMENT:
                found.add(piece)
    return tuple(sorted((f for f in found if f), key=len, reverse=True))


def _webhook(kind: ChannelKind, raw: str, endpoint: str) -> Channel:
    _checked_http_url(endpoint, f"{kind.value} URL")
    return Channel(
        kind=kind,
        id=channel_id(kind, raw),
        target=SecretStr(endpoint),
        min_interval_s=MIN_INTERVAL_S[kind],
        fragments=_fragments(raw, endpoint),
    )


def _sns(raw: str) -> Channel:
    arn = raw.split("://", 1)[1] if "://" in raw else ""
    if not _SNS_ARN.match(arn):
        raise ChannelUrlError("sns URL: expected sns://arn:aws:sns:<region>:<account>:<topic>")
    return Channel(
        kind=ChannelKind.EMAIL,
        id=channel_id(ChannelKind.EMAIL, raw),
        target=SecretStr(arn),
        fragments=(raw, arn),
    )


def _telegram(raw: str, api: str) -> Channel:
    rest = raw.split("://", 1)[1] if "://" in raw else ""
    # A bot token has no '@' ("123456:ABC-..."), a channel username starts with one: split at the first.
    token, _, chat = rest.partition("@")
    chat = chat.rstrip("/")
    if not _TELEGRAM_TOKEN.match(token) or not _TELEGRAM_CHAT.match(chat):
        raise ChannelUrlError("telegram URL: expected telegram://<bot-token>@<chat-id>")
    _checked_http_url(api, "telegram API base")
    endpoint = f"{api.rstrip('/')}/bot{token}/sendMessage"
    group = chat.startswith(("-", "@"))  # groups, supergroups and channels; private chats are positive
    return Channel(
        kind=ChannelKind.TELEGRAM,
        id=channel_id(ChannelKind.TELEGRAM, raw),
        target=SecretStr(endpoint),
        chat_id=chat,
        min_interval_s=TELEGRAM_GROUP_INTERVAL_S if group else MIN_INTERVAL_S[ChannelKind.TELEGRAM],
        fragments=tuple(sorted({raw, endpoint, token, f"bot{token}"}, key=len, reverse=True)),
    )

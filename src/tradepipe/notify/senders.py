"""One attempt to hand a message to a channel, and what its answer means.

The answer decides: 2xx delivered; 429 waits for what the service asked (Discord's body `retry_after` in
seconds, discord.com/developers/docs/topics/rate-limits; Telegram's `parameters.retry_after`,
core.telegram.org/bots/api#responseparameters; Slack's `Retry-After` header, api.slack.com/docs/rate-limits);
408, 5xx and network faults retry with backoff; any other answer (a revoked webhook's 404, a bad chat id's
400) is final: retrying cannot fix a configuration, so the message is dropped and logged by channel id.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tradepipe.notify.channels import Channel, ChannelKind
from tradepipe.notify.render import Message

MAX_ANSWER_BYTES = 64 * 1024
MAX_RETRY_AFTER_S = 3600.0  # a service asking for more is asked again in an hour


@dataclass(frozen=True)
class Delivered:
    pause_s: float = 0.0  # the service's rate-limit headers ask for this much quiet before the next


@dataclass(frozen=True)
class RetryLater:
    reason: str
    after_s: float | None = None  # None: the retry policy's backoff


@dataclass(frozen=True)
class Refused:
    reason: str


Outcome = Delivered | RetryLater | Refused


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: Mapping[str, str]  # lower-cased names
    body: bytes


class TransportError(Exception):
    """No answer: refused connection, timeout, reset. Its message never contains the URL."""


class HttpTransport(Protocol):
    def post_json(self, url: str, body: Mapping[str, Any], timeout_s: float) -> HttpAnswer: ...


class SnsFault(Exception):
    def __init__(self, code: str, retryable: bool) -> None:
        super().__init__(code)
        self.code = code
        self.retryable = retryable


class SnsPublisher(Protocol):
    def publish(self, topic_arn: str, subject: str, message: str) -> None:
        """Raises SnsFault."""
        ...


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A webhook that redirects is misconfigured; following it would post the body somewhere unchecked.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class UrllibTransport:
    """The standard library's client: nothing to add to a Lambda package, a timeout on every call."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirect())

    def post_json(self, url: str, body: Mapping[str, Any], timeout_s: float) -> HttpAnswer:
        request = urllib.request.Request(  # noqa: S310 - channels.parse_channel allows only http(s)
            url,
            data=json.dumps(body, separators=(",", ":")).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "tradepipe-notify"},
        )
        try:
            with self._opener.open(request, timeout=timeout_s) as answer:
                return HttpAnswer(answer.status, _lower(answer.headers), answer.read(MAX_ANSWER_BYTES))
        except urllib.error.HTTPError as error:
            with error:
                return HttpAnswer(error.code, _lower(error.headers), error.read(MAX_ANSWER_BYTES))
        except urllib.error.URLError as error:
            raise TransportError(f"no answer: {type(error.reason).__name__}") from None
        except (TimeoutError, OSError, http.client.HTTPException) as error:
            raise TransportError(f"no answer: {type(error).__name__}") from None


def _lower(headers: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (headers.items() if headers else [])}


def payload(channel: Channel, message: Message) -> dict[str, Any]:
    """The JSON body each service expects."""
    match channel.kind:
        case ChannelKind.SLACK:
            return {"text": message.text}
        case ChannelKind.DISCORD:
            # No @everyone or role pings from alert text; no link previews (flags: SUPPRESS_EMBEDS = 1 << 2).
            return {"content": message.text, "allowed_mentions": {"parse": []}, "flags": 4}
        case ChannelKind.TELEGRAM:
            # Plain text (no parse_mode): nothing in a ticker or a strategy name can break the markup.
            return {
                "chat_id": channel.chat_id,
                "text": message.text,
                "link_preview_options": {"is_disabled": True},
            }
        case _:
            event = message.events[0] if len(message.events) == 1 else None
            return {"text": message.text, "event": event, "events": list(message.events)}


class ChannelSender:
    def __init__(self, http: HttpTransport, sns: SnsPublisher | None = None, timeout_s: float = 5.0) -> None:
        self._http = http
        self._sns = sns
        self._timeout_s = timeout_s

    def send(self, channel: Channel, message: Message) -> Outcome:
        """One attempt. Never raises for the service's or the network's faults."""
        if channel.kind is ChannelKind.EMAIL:
            return self._publish(channel, message)
        try:
            answer = self._http.post_json(
                channel.target.get_secret_value(), payload(channel, message), self._timeout_s
            )
        except TransportError as error:
            return RetryLater(str(error))
        return classify(answer)

    def _publish(self, channel: Channel, message: Message) -> Outcome:
        if self._sns is None:
            return Refused("no SNS client here (email channels work on AWS)")
        try:
            self._sns.publish(channel.target.get_secret_value(), message.subject, message.text)
        except SnsFault as fault:
            return RetryLater(f"SNS {fault.code}") if fault.retryable else Refused(f"SNS {fault.code}")
        return Delivered()


def classify(answer: HttpAnswer) -> Outcome:
    status = answer.status
    if 200 <= status < 300:
        return Delivered(pause_s=_bucket_empty_for(answer))
    if status == 429:
        return RetryLater("429 rate limited", _retry_after(answer))
    if status == 408 or status >= 500:
        return RetryLater(f"{status} from the service", _header_seconds(answer, "retry-after"))
    return Refused(f"{status} from the service: {_service_message(answer)}")


def _retry_after(answer: HttpAnswer) -> float | None:
    body = _json(answer)
    seconds: Any = None
    if isinstance(body, dict):
        seconds = body.get("retry_after")  # Discord
        parameters = body.get("parameters")
        if seconds is None and isinstance(parameters, dict):
            seconds = parameters.get("retry_after")  # Telegram
    value = _seconds(seconds)
    return value if value is not None else _header_seconds(answer, "retry-after")


def _bucket_empty_for(answer: HttpAnswer) -> float:
    # Discord announces an emptied bucket on the answer that emptied it: wait for its reset first.
    if answer.headers.get("x-ratelimit-remaining") == "0":
        return _header_seconds(answer, "x-ratelimit-reset-after") or 0.0
    return 0.0


def _header_seconds(answer: HttpAnswer, name: str) -> float | None:
    return _seconds(answer.headers.get(name))


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None  # absent, or an HTTP date: the backoff decides
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _json(answer: HttpAnswer) -> Any:
    try:
        return json.loads(answer.body or b"null")
    except ValueError:
        return None


def _service_message(answer: HttpAnswer) -> str:
    # Services answer in their own words ("invalid_token", "Unknown Webhook", "chat not found"): short,
    # and scrubbed of channel secrets by the lane before they are logged or stored.
    body = _json(answer)
    if isinstance(body, dict):
        text = body.get("description") or body.get("message") or body.get("error") or ""
        return str(text)[:120]
    return answer.body[:120].decode("utf-8", "replace")

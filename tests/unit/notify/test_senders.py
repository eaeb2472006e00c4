"""What each service's answer means, and the body each one expects."""

from __future__ import annotations

import json

import pytest

from tests.notify_samples import discord_url, fill, slack_url, telegram_url, webhook_url
from tradepipe.notify.channels import parse_channel
from tradepipe.notify.render import render
from tradepipe.notify.senders import (
    MAX_RETRY_AFTER_S,
    Delivered,
    HttpAnswer,
    Outcome,
    Refused,
    RetryLater,
    classify,
    payload,
)


def _answer(status: int, body: object = None, **headers: str) -> HttpAnswer:
    raw = b"" if body is None else json.dumps(body).encode()
    return HttpAnswer(status, {k.replace("_", "-"): v for k, v in headers.items()}, raw)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param(_answer(200), Delivered(), id="ok"),
        pytest.param(
            _answer(204, x_ratelimit_remaining="0", x_ratelimit_reset_after="1.5"),
            Delivered(1.5),
            id="discord-bucket-emptied",
        ),
        pytest.param(
            _answer(429, {"message": "You are being rate limited.", "retry_after": 0.75, "global": False}),
            RetryLater("429 rate limited", 0.75),
            id="discord-429",
        ),
        pytest.param(
            _answer(429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 7}}),
            RetryLater("429 rate limited", 7.0),
            id="telegram-429",
        ),
        pytest.param(
            _answer(429, None, retry_after="30"), RetryLater("429 rate limited", 30.0), id="slack-429-header"
        ),
        pytest.param(
            _answer(429, None, retry_after="Wed, 21 Oct 2015 07:28:00 GMT"),
            RetryLater("429 rate limited", None),
            id="http-date-backoff",
        ),
        pytest.param(
            _answer(429, {"retry_after": 172800}),
            RetryLater("429 rate limited", MAX_RETRY_AFTER_S),
            id="absurd-wait-capped",
        ),
        pytest.param(_answer(503), RetryLater("503 from the service", None), id="5xx"),
        pytest.param(_answer(408), RetryLater("408 from the service", None), id="timeout"),
        pytest.param(
            _answer(404, {"message": "Unknown Webhook", "code": 10015}),
            Refused("404 from the service: Unknown Webhook"),
            id="revoked",
        ),
        pytest.param(
            _answer(400, {"ok": False, "description": "Bad Request: chat not found"}),
            Refused("400 from the service: Bad Request: chat not found"),
            id="bad-chat",
        ),
        pytest.param(
            HttpAnswer(403, {}, b"invalid_token"),
            Refused("403 from the service: invalid_token"),
            id="slack-text",
        ),
    ],
)
def test_classify(answer: HttpAnswer, expected: Outcome) -> None:
    assert classify(answer) == expected


def test_payload_per_service() -> None:
    message = render([fill()], parse_channel(slack_url()))[0]

    assert payload(parse_channel(slack_url()), message) == {"text": message.text}
    discord = payload(parse_channel(discord_url()), message)
    assert discord["content"] == message.text
    assert discord["allowed_mentions"] == {"parse": []}  # no @everyone from alert text
    telegram = payload(parse_channel(telegram_url("-100200")), message)
    assert (telegram["chat_id"], telegram["text"]) == ("-100200", message.text)
    assert "parse_mode" not in telegram
    webhook = parse_channel(webhook_url())
    generic = payload(webhook, render([fill()], webhook)[0])
    assert generic["text"] == message.text
    assert generic["event"]["type"] == "EntryFilled"
    assert generic["event"]["detail"]["ticker"] == "AAPL"
    assert generic["events"] == [generic["event"]]


def test_generic_payload_of_a_group_lists_every_event() -> None:
    channel = parse_channel(webhook_url())
    (message,) = render([fill(1), fill(2)], channel)

    body = payload(channel, message)

    assert body["event"] is None
    assert [e["detail"]["qty"] for e in body["events"]] == ["101", "102"]

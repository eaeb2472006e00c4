"""Channel URLs: typed by scheme, never printed, refused without naming the URL."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from tests.notify_samples import (
    DISCORD_TOKEN,
    SLACK_TOKEN,
    TELEGRAM_TOKEN,
    WEBHOOK_TOKEN,
    discord_url,
    slack_url,
    telegram_url,
    webhook_url,
)
from tradepipe.notify.channels import (
    ChannelKind,
    ChannelUrl,
    ChannelUrlError,
    parse_channel,
    redact_channels,
)

TOPIC = "arn:aws:sns:us-east-1:123456789012:tradepipe-prod-notify"


@pytest.mark.parametrize(
    ("url", "kind", "target"),
    [
        pytest.param(
            slack_url(),
            ChannelKind.SLACK,
            f"https://hooks.slack.com/services/T0001/B0001/{SLACK_TOKEN}",
            id="slack",
        ),
        pytest.param(
            discord_url(),
            ChannelKind.DISCORD,
            f"https://discord.com/api/webhooks/1234567890/{DISCORD_TOKEN}",
            id="discord",
        ),
        pytest.param(
            telegram_url(),
            ChannelKind.TELEGRAM,
            f"https://api.telegram.org/bot{TELEGRAM_TOKEN}/sendMessage",
            id="telegram",
        ),
        pytest.param(webhook_url(), ChannelKind.WEBHOOK, webhook_url(), id="generic"),
        pytest.param(f"sns://{TOPIC}", ChannelKind.EMAIL, TOPIC, id="email-sns"),
    ],
)
def test_parse_channel_types_each_scheme(url: str, kind: ChannelKind, target: str) -> None:
    channel = parse_channel(SecretStr(url))

    assert channel.kind is kind
    assert channel.target.get_secret_value() == target
    assert channel.id.startswith(f"{kind.value}-")


@pytest.mark.parametrize("url", [slack_url(), discord_url(), telegram_url(), webhook_url()])
def test_channel_and_its_url_never_print_the_token(url: str) -> None:
    channel = parse_channel(url)
    printed = " ".join(
        [repr(channel), str(channel), repr(ChannelUrl(url)), str(ChannelUrl(url)), f"{channel!r}"]
    )

    for token in (SLACK_TOKEN, DISCORD_TOKEN, TELEGRAM_TOKEN, WEBHOOK_TOKEN):
        assert token not in printed
    assert ChannelUrl(url).get_secret_value() == url


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        pytest.param(f"ftp://files.example.com/{WEBHOOK_TOKEN}", "unsupported channel scheme", id="scheme"),
        pytest.param(f"http://hooks.example.com/{WEBHOOK_TOKEN}", "plain http", id="http-off-loopback"),
        pytest.param(f"slack+http://hooks.slack.com/services/{SLACK_TOKEN}", "plain http", id="slack-http"),
        pytest.param(f"telegram://{TELEGRAM_TOKEN}", "telegram URL", id="telegram-no-chat"),
        pytest.param(f"telegram://notatoken{WEBHOOK_TOKEN}@123", "telegram URL", id="telegram-bad-token"),
        pytest.param(f"sns://arn:aws:s3:::{WEBHOOK_TOKEN}", "sns URL", id="sns-not-a-topic"),
    ],
)
def test_parse_channel_when_unusable_then_error_names_the_problem_not_the_url(url: str, problem: str) -> None:
    with pytest.raises(ChannelUrlError) as error:
        parse_channel(url)

    assert problem in str(error.value)
    for token in (SLACK_TOKEN, TELEGRAM_TOKEN, WEBHOOK_TOKEN):
        assert token not in str(error.value)


def test_plain_http_is_allowed_to_loopback_stand_ins() -> None:
    channel = parse_channel(slack_url("http://127.0.0.1:8123"))

    assert channel.target.get_secret_value().startswith("http://127.0.0.1:8123/services/")


def test_telegram_paces_groups_at_twenty_a_minute_and_private_chats_at_one_a_second() -> None:
    assert parse_channel(telegram_url("987654321")).min_interval_s == 1.0
    assert parse_channel(telegram_url("-1001234567890")).min_interval_s == 3.0
    assert parse_channel(telegram_url("@trader_alerts")).chat_id == "@trader_alerts"


def test_telegram_api_base_can_point_at_a_local_stand_in() -> None:
    channel = parse_channel(telegram_url(), telegram_api="http://127.0.0.1:9999")

    assert channel.target.get_secret_value() == f"http://127.0.0.1:9999/bot{TELEGRAM_TOKEN}/sendMessage"


def test_channel_id_is_stable_and_distinct_per_url() -> None:
    assert parse_channel(slack_url()).id == parse_channel(slack_url()).id
    assert parse_channel(slack_url()).id != parse_channel(slack_url("https://hooks.slack.com/x")).id


def test_redact_channels_removes_urls_endpoints_and_tokens() -> None:
    channels = [parse_channel(u) for u in (slack_url(), discord_url(), telegram_url(), webhook_url())]
    text = (
        f"failed {slack_url()} and https://api.telegram.org/bot{TELEGRAM_TOKEN}/sendMessage, "
        f"token {DISCORD_TOKEN}, query {WEBHOOK_TOKEN}"
    )

    redacted = redact_channels(text, channels)

    for token in (SLACK_TOKEN, DISCORD_TOKEN, TELEGRAM_TOKEN, WEBHOOK_TOKEN):
        assert token not in redacted
    assert redacted.startswith("failed ***")

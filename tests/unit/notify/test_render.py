"""Messages: short, naming ticker, strategy and mode; bursts grouped within each channel's limit; nothing
secret in any of them."""

from __future__ import annotations

import json

import pytest

from tests.notify_samples import (
    PASSPHRASE,
    SECRETS,
    discord_url,
    exit_fill,
    fill,
    halt,
    rejection,
    silence,
    slack_url,
    telegram_url,
    unprotected,
    webhook_url,
)
from tradepipe.contracts.events import DomainEvent, SignalRejected
from tradepipe.domain.model import Mode
from tradepipe.notify.channels import Channel, parse_channel
from tradepipe.notify.render import render, trail_url, units

CHANNELS = {
    "slack": parse_channel(slack_url()),
    "discord": parse_channel(discord_url()),
    "telegram": parse_channel(telegram_url()),
    "webhook": parse_channel(webhook_url()),
    "email": parse_channel("sns://arn:aws:sns:us-east-1:123456789012:notify"),
}
ALL = tuple(CHANNELS.values())
BASE = "https://trader.example.com"


def _texts(events: list[DomainEvent], channel: Channel, base: str | None = BASE) -> list[str]:
    return [m.text for m in render(events, channel, base_url=base, secrets=ALL)]


def test_fill_names_ticker_strategy_mode_and_links_the_trail() -> None:
    event = fill()

    (text,) = _texts([event], CHANNELS["telegram"])

    assert text.startswith("[paper] ✅ AAPL entry filled: BUY 100 @ 187.12, stop 185.00, target 192.00")
    assert "momentum_breakout" in text
    assert text.endswith(f"{BASE}/signals/{event.signal_id}")


def test_live_is_loud_and_never_shares_a_message_with_paper() -> None:
    messages = render([fill(1), exit_fill(Mode.LIVE), fill(2)], CHANNELS["telegram"])

    assert len(messages) == 2
    assert messages[0].text.startswith("🔴 LIVE")
    assert "MSFT" in messages[0].text
    assert "LIVE" not in messages[1].text
    assert "long 10, 400.00 → 396.00, P&L −40.00 (−1.00R)" in messages[0].text


def test_without_a_public_base_url_there_is_no_link() -> None:
    (text,) = _texts([fill()], CHANNELS["slack"], base=None)

    assert "http" not in text


def test_trail_url_fills_a_template_or_appends_the_signal_path() -> None:
    assert (
        trail_url("https://d.example.com/app#/trail/{signal_id}", "abc")
        == "https://d.example.com/app#/trail/abc"
    )
    assert trail_url("https://d.example.com/", "abc") == "https://d.example.com/signals/abc"
    assert trail_url("https://d.example.com", None) is None


@pytest.mark.parametrize("name", list(CHANNELS))
def test_burst_of_40_fills_is_a_few_messages_each_within_the_channel_limit(name: str) -> None:
    channel = CHANNELS[name]
    burst = [fill(n, ticker=f"T{n:02d}") for n in range(40)]

    messages = render(burst, channel, base_url=BASE)

    assert 1 <= len(messages) <= 4
    assert all(units(m.text) <= channel.max_chars for m in messages)
    assert sorted(k for m in messages for k in m.event_keys) == sorted(e.event_key() for e in burst)
    assert messages[0].text.splitlines()[0].startswith("[paper] tradepipe: ")


def test_what_needs_action_comes_first() -> None:
    (message,) = render([fill(), rejection(), halt()], CHANNELS["discord"])

    lines = message.text.splitlines()
    assert lines[0] == "[paper] tradepipe: 1 state switch, 1 rejection, 1 entry fill"
    assert lines[1].startswith("🛑 trading HALTED by rule max_drawdown: drawdown 20.00%")
    assert lines[3].startswith("✅ AAPL entry filled")


def test_system_events_carry_no_mode_and_come_first() -> None:
    messages = render([fill(), silence()], CHANNELS["slack"])

    assert messages[0].text.startswith("🔇 pipeline silent: no alert for 75 market minutes (threshold 60")
    assert messages[1].text.startswith("[paper]")


def test_slack_text_escapes_its_control_characters() -> None:
    event = rejection(detail="stop <!channel> & co")

    (text,) = _texts([event], CHANNELS["slack"])

    assert "&lt;!channel&gt; &amp; co" in text
    assert "<!channel>" not in text


def test_email_subject_is_ascii_single_line_and_under_100_characters() -> None:
    burst = [unprotected(), *[fill(n, mode=Mode.LIVE, ticker="VERYLONGTICKERNAME") for n in range(5)]]

    for message in render(burst, CHANNELS["email"]):
        assert message.subject.isascii()
        assert "\n" not in message.subject
        assert 0 < len(message.subject) < 100


def test_no_passphrase_key_or_channel_url_reaches_any_message() -> None:
    leaky: list[DomainEvent] = [
        rejection(detail=f"passphrase={PASSPHRASE} and {slack_url()}"),
        rejection(detail=f"posting to {telegram_url()} failed"),
        SignalRejected.model_validate({**rejection().as_detail(), "detail": f"secret_key: {SECRETS[-1]}"}),
        rejection(detail=f"{discord_url()} {webhook_url()} /webhook/{PASSPHRASE}"),
    ]

    for channel in ALL:
        for message in render(leaky, channel, base_url=BASE, secrets=ALL):
            body = json.dumps({"text": message.text, "subject": message.subject, "events": message.events})
            for secret in SECRETS:
                assert secret not in body, (channel.kind, secret)


def test_only_generic_webhooks_carry_the_event_details() -> None:
    assert render([fill()], CHANNELS["slack"])[0].events == ()
    (event,) = render([fill()], CHANNELS["webhook"])[0].events
    assert event["detail"]["signal_id"] == fill().signal_id


def test_slack_escaping_is_counted_against_the_limit() -> None:
    burst = [rejection(detail="&" * 300).model_copy(update={"signal_id": f"{n:032x}"}) for n in range(40)]

    messages = render(burst, CHANNELS["slack"])

    assert all(units(m.text) <= CHANNELS["slack"].max_chars for m in messages)

"""Channel URLs: from the environment, the local secrets file or Secrets Manager, first set wins."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tests.notify_samples import SLACK_TOKEN, TELEGRAM_TOKEN, slack_url, telegram_url
from tradepipe.notify.channels import ChannelKind
from tradepipe.notify.sources import NotifyConfigError, channel_urls, load_channels
from tradepipe.settings import Settings


def _file(tmp_path: Path, value: Any, mode: int = 0o600) -> Path:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps(value))
    path.chmod(mode)
    return path


def test_environment_list_wins_over_file_and_secret(tmp_path: Path) -> None:
    path = _file(tmp_path, {"notify_urls": [telegram_url()]})
    settings = Settings(
        notify_urls=[SecretStr(slack_url())],
        notify_secrets_file=str(path),
        notify_secret_name="tradepipe/x/notify",
    )

    urls = channel_urls(settings, read_secret=lambda name: pytest.fail("secret read"))

    assert [u.get_secret_value() for u in urls] == [slack_url()]


def test_local_secrets_file_is_read_when_private(tmp_path: Path) -> None:
    settings = Settings(notify_secrets_file=str(_file(tmp_path, {"notify_urls": [telegram_url(), " "]})))

    assert [u.get_secret_value() for u in channel_urls(settings)] == [telegram_url()]


def test_local_secrets_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    settings = Settings(
        notify_secrets_file=str(_file(tmp_path, {"notify_urls": [telegram_url()]}, mode=0o644))
    )

    with pytest.raises(NotifyConfigError, match="chmod 600"):
        channel_urls(settings)


def test_secrets_manager_secret_is_read_on_aws_and_its_absence_is_loud() -> None:
    settings = Settings(notify_secret_name="tradepipe/prod/notify")

    urls = channel_urls(settings, read_secret=lambda name: {"notify_urls": [slack_url()]})

    assert [u.get_secret_value() for u in urls] == [slack_url()]
    with pytest.raises(NotifyConfigError, match="missing"):
        channel_urls(settings, read_secret=lambda name: None)


def test_load_channels_names_the_position_of_a_bad_url_not_the_url() -> None:
    with pytest.raises(NotifyConfigError) as error:
        load_channels([SecretStr(slack_url()), SecretStr(f"telegram://{TELEGRAM_TOKEN}")])

    assert str(error.value).startswith("notify URL #2: telegram URL")
    assert TELEGRAM_TOKEN not in str(error.value)


def test_load_channels_keeps_one_channel_per_distinct_url() -> None:
    channels = load_channels([SecretStr(slack_url()), SecretStr(slack_url()), SecretStr(telegram_url())])

    assert [c.kind for c in channels] == [ChannelKind.SLACK, ChannelKind.TELEGRAM]


def test_settings_never_print_channel_urls() -> None:
    settings = Settings(notify_urls=[SecretStr(slack_url())])

    assert SLACK_TOKEN not in repr(settings)
    assert SLACK_TOKEN not in settings.model_dump_json()


def test_the_stacks_email_topic_is_added_to_the_configured_urls() -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:tradepipe-prod-notify"
    settings = Settings(notify_secret_name="tradepipe/prod/notify", notify_email_topic_arn=topic)

    urls = channel_urls(settings, read_secret=lambda name: {"notify_urls": [slack_url()]})

    assert [u.get_secret_value() for u in urls] == [slack_url(), f"sns://{topic}"]
    assert [c.kind for c in load_channels(urls)] == [ChannelKind.SLACK, ChannelKind.EMAIL]

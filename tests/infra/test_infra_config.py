"""Stage settings from cdk.json: the shipped stages validate, and a bad one fails loudly before synth."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.app import cdk_json_context
from infra.config import STAGES_CONTEXT_KEY, ConfigError, load_stage_config


@pytest.fixture
def context() -> dict[str, Any]:
    return copy.deepcopy(cdk_json_context())


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_load_stage_config_when_shipped_stage_then_valid(context: dict[str, Any], stage: str) -> None:
    config = load_stage_config(context, stage)

    assert config.stage == stage
    assert config.name_prefix == f"tradepipe-{stage}"


def test_load_stage_config_when_no_stage_given_then_dev(context: dict[str, Any]) -> None:
    assert load_stage_config(context).stage == "dev"


def test_shipped_stages_never_allow_live_trading_in_dev(context: dict[str, Any]) -> None:
    assert load_stage_config(context, "dev").live_trading_allowed is False
    assert load_stage_config(context, "dev").retain_data is False
    assert load_stage_config(context, "prod").retain_data is True


def test_load_stage_config_when_unknown_stage_then_error_lists_known(context: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"unknown stage 'qa'.*\['dev', 'prod'\]"):
        load_stage_config(context, "qa")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        pytest.param(
            ("log_retention_days",), 10, "not a CloudWatch Logs retention", id="retention-not-allowed"
        ),
        pytest.param(
            ("name_prefix",), "tp-dev", "must be 'tradepipe-dev'", id="prefix-drifts-from-resources"
        ),
        pytest.param(("opensearch", "instance_count"), 3, "even count", id="odd-multi-node-count"),
        pytest.param(("opensearch", "instance_type"), "t3.small", "instance_type", id="not-a-search-type"),
        pytest.param(("api", "throttle_rate_limit"), 0, "throttle_rate_limit", id="zero-throttle"),
        pytest.param(
            ("events", "archive_retention_days"), 0, "archive_retention_days", id="zero-archive-retention"
        ),
        pytest.param(("live_trading_alowed",), True, "live_trading_alowed", id="typo-key-forbidden"),
    ],
)
def test_load_stage_config_when_field_invalid_then_error_names_it(
    context: dict[str, Any], path: tuple[str, ...], value: object, message: str
) -> None:
    target = context[STAGES_CONTEXT_KEY]["dev"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    with pytest.raises(ConfigError, match=message):
        load_stage_config(context, "dev")


def test_load_stage_config_when_required_field_missing_then_error(context: dict[str, Any]) -> None:
    del context[STAGES_CONTEXT_KEY]["dev"]["retain_data"]

    with pytest.raises(ConfigError, match="retain_data"):
        load_stage_config(context, "dev")


def test_load_stage_config_when_stages_missing_then_error() -> None:
    with pytest.raises(ConfigError, match="missing"):
        load_stage_config({}, "dev")

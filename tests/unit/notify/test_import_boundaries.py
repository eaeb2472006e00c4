"""The notifier stays light: its handler loads no heavy library, the silence rule nothing of AWS."""

from __future__ import annotations

from tests.unit.test_import_boundaries import HEAVY, _modules_after_import


def test_notifier_handler_import_loads_no_pandas_numpy_talib_alpaca_or_opensearch() -> None:
    loaded = _modules_after_import("functions.notifier.handler")

    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)


def test_silence_rule_and_event_contracts_import_no_aws_broker_search_or_powertools() -> None:
    loaded = _modules_after_import("tradepipe.domain.silence") | _modules_after_import(
        "tradepipe.contracts.events"
    )

    assert loaded.isdisjoint({*HEAVY, "boto3", "botocore", "aws_lambda_powertools"})

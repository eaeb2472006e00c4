"""Layering rules that keep cold starts small and the domain pure, checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "talib", "alpaca", "opensearchpy")


def _modules_after_import(module: str) -> set[str]:
    code = (
        "import json, os, sys; os.environ.setdefault('POWERTOOLS_METRICS_NAMESPACE', 'T');"
        f"import {module}; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    return set(json.loads(out.stdout))


def test_webhook_handler_import_loads_no_pandas_numpy_talib_alpaca_or_opensearch() -> None:
    loaded = _modules_after_import("functions.webhook.handler")

    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)


@pytest.mark.parametrize(
    "module",
    [
        "tradepipe.domain.risk.engine",
        "tradepipe.domain.parsing",
        "tradepipe.domain.lifecycle",
        "tradepipe.domain.signal_id",
    ],
)
def test_domain_imports_no_aws_broker_search_or_powertools(module: str) -> None:
    loaded = _modules_after_import(module)

    assert loaded.isdisjoint({*HEAVY, "boto3", "botocore", "aws_lambda_powertools"})

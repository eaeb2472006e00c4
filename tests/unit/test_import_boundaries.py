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
    loaded = _modules_after_import("functions.api.handler")

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


def test_webhook_handler_import_loads_no_xray_no_resolver_no_read_routes_and_builds_no_order_models() -> None:
    # TradingView waits on the alert route's cold start: X-Ray never loads (tracing is off for the API
    # function), Powertools' resolver and the read routes' use cases load on the first request that is not
    # an alert (tradepipe.api_routes), and the order and intent models are not built at import. Settings are
    # read without pydantic-settings (its import is asyncio, argparse and dotenv), the alert's answers come
    # without the read API's contracts, and the notify switches without the events they govern.
    code = (
        "import json, os, sys; os.environ.setdefault('POWERTOOLS_METRICS_NAMESPACE', 'T');"
        "import functions.api.handler;"
        "from tradepipe.contracts.items import OrderItem, SignalItem;"
        "from tradepipe.contracts.messages import OrderIntent;"
        "from tradepipe.domain.alerts.formats import StandardAlert, StrategyAlert, TradersPostAlert;"
        "models = (OrderItem, OrderIntent, SignalItem, StandardAlert, StrategyAlert, TradersPostAlert);"
        "built = {m.__name__: m.__pydantic_complete__ for m in models};"
        "print(json.dumps({'modules': sorted(sys.modules), 'built': built}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    found = json.loads(out.stdout)
    not_at_cold_start = {
        "aws_xray_sdk",
        "aws_lambda_powertools.event_handler",
        "tradepipe.api_routes",
        "tradepipe.app.signal_feed",
        "tradepipe.app.trading_state",
        "tradepipe.app.trail",
        "pydantic_settings",
        "tradepipe.contracts.api",
        "tradepipe.contracts.events",
        "tradepipe.domain.risk.context",
    }

    assert not_at_cold_start.isdisjoint(found["modules"]), not_at_cold_start & set(found["modules"])
    # Each alert format's validator is built by the first alert of that format, not at import.
    assert found["built"] == {
        "OrderItem": False,
        "OrderIntent": False,
        "SignalItem": True,
        "StandardAlert": False,
        "StrategyAlert": False,
        "TradersPostAlert": False,
    }

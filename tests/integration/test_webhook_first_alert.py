"""A fresh webhook container's first alert (against moto) loads only what an alert uses: TradingView waits
on that cold start. The import alone is held by tests/unit/test_import_boundaries.py; this holds the
invocation."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.integration.conftest import PASSPHRASE, Aws
from tests.integration.events import rest_event
from tests.unit.builders import alert_body, fresh_timestamp

pytestmark = pytest.mark.usefixtures("empty_queues")

# Runs in a fresh interpreter (the test process has everything loaded): the handler answers one alert, and
# the modules loaded by then and the boto3 resources created are printed.
_FIRST_ALERT = """
import json, os, sys
import boto3.session
from tests.support.lambda_context import LocalLambdaContext

resources = []
original = boto3.session.Session.resource
def resource(self, *args, **kwargs):
    resources.append(args[0] if args else kwargs.get("service_name"))
    return original(self, *args, **kwargs)
boto3.session.Session.resource = resource

from functions.api.handler import lambda_handler
response = lambda_handler(json.loads(sys.stdin.read()), LocalLambdaContext("webhook", 10))
print(json.dumps({"status": response["statusCode"], "modules": sorted(sys.modules), "resources": resources}))
"""


def _first_alert(aws: Aws) -> dict[str, Any]:
    event = rest_event(json.dumps(alert_body(passphrase=PASSPHRASE, timestamp=fresh_timestamp(7))))
    out = subprocess.run(  # noqa: S603 - this interpreter, our code
        [sys.executable, "-c", _FIRST_ALERT],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


def test_first_alert_is_answered_without_a_boto3_resource_or_the_other_functions_stores(aws: Aws) -> None:
    found = _first_alert(aws)

    assert found["status"] == 202
    # boto3's DynamoDB resource builds its classes from a resource model on first use: the tables are
    # clients that speak Python values (adapters/dynamodb_table.py).
    assert found["resources"] == []
    not_for_an_alert = {
        "tradepipe.adapters.risk_state",
        "tradepipe.ports.risk_state",
        "tradepipe.domain.risk.reservations",
        "tradepipe.adapters.lots",
        "tradepipe.adapters.request_budget",
        "tradepipe.ports.broker",
        "tradepipe.contracts.api",
        "tradepipe.contracts.events",
        "pydantic_settings",
        "aws_lambda_powertools.utilities.parameters",
    }
    assert not_for_an_alert.isdisjoint(found["modules"]), not_for_an_alert & set(found["modules"])

"""The floor a handler's cold start is measured against: boto3 and Powertools' Logger imported, and the same
AWS calls the real handler made (replayed from the event, as botocore sent them), nothing else.

Its interpreter gets only this directory, the core layer (for Powertools) and the runtime's boto3."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

logger = Logger(service="cold-start-floor")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    clients: dict[str, Any] = {}
    for call in event["calls"]:
        client = clients.get(call["service"])
        if client is None:
            client = clients[call["service"]] = boto3.client(call["service"])
        # A replayed conditional write fails its condition; the round trip is what counts.
        with suppress(ClientError):
            getattr(client, call["method"])(**call["params"])
    logger.info("floor", extra={"calls": len(event["calls"])})
    return {"calls": len(event["calls"])}

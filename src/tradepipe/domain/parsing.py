"""From a raw webhook body to a normalized Signal, or to field errors that name the problem."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from tradepipe.contracts.alert import AlertPayload
from tradepipe.domain.model import Signal
from tradepipe.domain.signal_id import derive_signal_id


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class BodyNotJson(ValueError):
    """The body is not a JSON object: nothing in it can be trusted, not even a passphrase."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def load_json_object(raw: str) -> dict[str, Any]:
    """Strict JSON object: NaN and Infinity (what a broken placeholder renders) are refused."""
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except ValueError as exc:
        raise BodyNotJson(f"body is not valid JSON: {exc.__class__.__name__}") from None
    if not isinstance(value, dict):
        raise BodyNotJson("body must be a JSON object")
    return value


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Errors that name the field and never echo the value that was sent (it may hold a secret)."""
    return [
        FieldError(
            field=".".join(str(p) for p in err["loc"]) or "body",
            message=err["msg"],
        )
        for err in exc.errors(include_input=False, include_url=False, include_context=False)
    ]


def normalize(payload: AlertPayload) -> Signal:
    """Normalized content (passphrase excluded) -> deterministic signal_id -> Signal."""
    content = {
        "side": payload.signal.value,
        "ticker": payload.ticker,
        "mode": payload.mode.value,
        "risk_amount": str(payload.risk_amount.normalize()),
        "entry_price": str(payload.entry_price.normalize()),
        "stop_loss": str(payload.stop_loss.normalize()),
        "take_profit": None if payload.take_profit is None else str(payload.take_profit.normalize()),
        "alert_time": payload.timestamp.isoformat(),
        "strategy": payload.strategy,
        "timeframe": payload.timeframe,
    }
    return Signal(
        signal_id=derive_signal_id(content),
        side=payload.signal,
        ticker=payload.ticker,
        mode=payload.mode,
        risk_amount=payload.risk_amount,
        entry_price=payload.entry_price,
        stop_loss=payload.stop_loss,
        take_profit=payload.take_profit,
        alert_time=payload.timestamp,
        strategy=payload.strategy,
        timeframe=payload.timeframe,
    )


def parse_alert(body: dict[str, Any]) -> Signal | list[FieldError]:
    try:
        payload = AlertPayload.model_validate(body)
    except ValidationError as exc:
        return field_errors(exc)
    return normalize(payload)


def extract_passphrase(body: dict[str, Any]) -> str | None:
    value = body.get("passphrase")
    return value if isinstance(value, str) else None

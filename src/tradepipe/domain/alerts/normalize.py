"""Each intake format -> the one normalized Signal, with field errors named as the sender named them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import ValidationError

from tradepipe.domain.alerts.formats import StandardAlert, StrategyAlert, TradersPostAlert, format_of
from tradepipe.domain.model import Action, OrderType, Side, Signal, SizingMode
from tradepipe.domain.signal_id import derive_signal_id

SECRET_KEYS = ("passphrase", "secret")
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}")
_QUANTITY_TYPES = {
    "fixed_quantity": SizingMode.FIXED_QUANTITY,
    "dollar_amount": SizingMode.DOLLAR_AMOUNT,
    "percent_of_equity": SizingMode.PERCENT_OF_EQUITY,
    "risk_dollar_amount": SizingMode.RISK_DOLLARS,
}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _strings(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _strings(inner, f"{path}.{i}")


def unresolved_placeholders(body: dict[str, Any]) -> list[FieldError]:
    """`{{close}}` left as text means TradingView did not render the message (wrong alert type)."""
    return [
        FieldError(path, f"unresolved TradingView placeholder {match.group(0)}: the message was not rendered")
        for path, text in _strings(body, "")
        if (match := _PLACEHOLDER.search(text))
    ]


def _errors(exc: ValidationError) -> list[FieldError]:
    """Name the field as sent; never echo the value (it may hold a secret)."""
    return [
        FieldError(".".join(str(p) for p in err["loc"]) or "body", err["msg"])
        for err in exc.errors(include_input=False, include_url=False, include_context=False)
    ]


def _from_standard(alert: StandardAlert) -> dict[str, Any]:
    return {
        "action": Action.ENTER,
        "side": alert.signal,
        "ticker": alert.ticker,
        "alert_time": alert.timestamp,
        "sizing_mode": SizingMode.RISK_DOLLARS,
        "sizing_value": alert.risk_amount,
        "entry_price": alert.entry_price,
        "stop_loss": alert.stop_loss,
        "take_profit": alert.take_profit,
    }


def _traderspost_action(alert: TradersPostAlert) -> tuple[Action, Side | None]:
    if alert.action == "cancel":
        return Action.CANCEL, None
    if alert.action == "exit" or alert.sentiment == "flat":
        return Action.EXIT, None
    if alert.action == "add":
        return Action.ENTER, Side.SELL if alert.sentiment in ("short", "bearish") else Side.BUY
    return Action.ENTER, Side.BUY if alert.action == "buy" else Side.SELL


def _from_traderspost(alert: TradersPostAlert) -> dict[str, Any] | list[FieldError]:
    action, side = _traderspost_action(alert)
    problems: list[FieldError] = []
    if action is Action.ENTER and (alert.quantity is None or alert.quantity_type is None):
        problems.append(FieldError("quantity", "quantity and quantityType are needed for an entry"))
    if alert.order_type == "limit" and alert.limit_price is None:
        problems.append(FieldError("limitPrice", "a limit order needs limitPrice"))
    stop, target = alert.stop_loss, alert.take_profit
    if stop is not None and (stop.stop_price is None) == (stop.percent is None):
        problems.append(FieldError("stopLoss", "give exactly one of stopPrice or percent"))
    if target is not None and (target.limit_price is None) == (target.percent is None):
        problems.append(FieldError("takeProfit", "give exactly one of limitPrice or percent"))
    if problems:
        return problems
    return {
        "action": action,
        "side": side,
        "ticker": alert.ticker,
        "alert_time": alert.time,
        "sizing_mode": _QUANTITY_TYPES[alert.quantity_type] if alert.quantity_type else None,
        "sizing_value": alert.quantity if action is Action.ENTER else None,
        "order_type": OrderType.LIMIT if alert.order_type == "limit" else OrderType.MARKET,
        "limit_price": alert.limit_price,
        "entry_price": alert.signal_price,
        "stop_loss": stop.stop_price if stop else None,
        "stop_loss_percent": stop.percent if stop else None,
        "take_profit": target.limit_price if target else None,
        "take_profit_percent": target.percent if target else None,
    }


def _from_strategy(alert: StrategyAlert) -> dict[str, Any]:
    side = Side.BUY if alert.action == "buy" else Side.SELL
    toward = {"long": Side.BUY, "short": Side.SELL}.get(alert.market_position)
    # An order against the resulting position's direction (or one that leaves it flat) is an exit.
    action = Action.ENTER if toward is side else Action.EXIT
    by_risk = alert.risk_amount is not None
    return {
        "action": action,
        "side": side if action is Action.ENTER else None,
        "ticker": alert.ticker,
        "alert_time": alert.time,
        "sizing_mode": None
        if action is Action.EXIT
        else SizingMode.RISK_DOLLARS
        if by_risk
        else SizingMode.FIXED_QUANTITY,
        "sizing_value": None if action is Action.EXIT else alert.risk_amount if by_risk else alert.contracts,
        "entry_price": alert.price,
        "stop_loss": alert.stop_loss,
        "take_profit": alert.take_profit,
        "strategy_position": alert.position_size,
        "strategy_order_id": alert.order_id,
    }


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def to_signal(fields: dict[str, Any]) -> Signal:
    """The id hashes every field of the normalized signal (defaults included), so formats that leave a field
    implicit and formats that spell it out give the same id."""
    draft = Signal(signal_id="", **fields)
    content = {k: _canonical(v) for k, v in draft.model_dump(exclude={"signal_id"}).items() if v is not None}
    return draft.model_copy(update={"signal_id": derive_signal_id(content)})


def parse_alert(body: dict[str, Any]) -> Signal | list[FieldError]:
    """Any supported format -> Signal, or the field errors that stop it. Secrets must already be removed."""
    placeholders = unresolved_placeholders(body)
    if placeholders:
        return placeholders
    model = format_of(body)
    try:
        alert = model.model_validate(body)
    except ValidationError as exc:
        return _errors(exc)
    if isinstance(alert, TradersPostAlert):
        mapped = _from_traderspost(alert)
    elif isinstance(alert, StrategyAlert):
        mapped = _from_strategy(alert)
    else:
        assert isinstance(alert, StandardAlert)  # noqa: S101 - format_of returns one of three models
        mapped = _from_standard(alert)
    if isinstance(mapped, list):
        return mapped
    common = {
        "mode": alert.trading_mode,
        "strategy": alert.strategy,
        "timeframe": alert.timeframe,
        "exchange": alert.exchange,
    }
    return to_signal({**mapped, **common})

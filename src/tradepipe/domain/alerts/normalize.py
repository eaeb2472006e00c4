"""Each intake format -> the one normalized Signal, with field errors named as the sender named them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

from pydantic import AliasChoices, BaseModel, ValidationError

from tradepipe.domain.alerts.formats import StandardAlert, StrategyAlert, TradersPostAlert, format_of
from tradepipe.domain.alerts.secrets import SECRET_KEYS
from tradepipe.domain.alerts.windows import dedupe_window
from tradepipe.domain.model import Action, OrderType, Side, Signal, SizingMode
from tradepipe.domain.signal_id import derive_signal_id

__all__ = ["SECRET_KEYS", "FieldError", "field_as_sent", "parse_alert", "to_signal"]
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


def _placeholder(text: str) -> str | None:
    """The first `{{…}}` within one line of `text`, the match `{{.*?}}` would give, in linear time (the
    regex scans to the line's end from every `{{` of a value like `{{{{…`; a line whose first `{{` has no
    `}}` after it has none after a later one either). Quoted up to 80 characters."""
    for line in text.split("\n"):
        start = line.find("{{")
        end = -1 if start < 0 else line.find("}}", start + 2)
        if end >= 0:
            found = line[start : end + 2]
            return found if len(found) <= 80 else found[:77] + "…"
    return None


def unresolved_placeholders(body: dict[str, Any]) -> list[FieldError]:
    """`{{close}}` left as text means TradingView did not render the message (wrong alert type)."""
    return [
        FieldError(path, f"unresolved TradingView placeholder {found}: the message was not rendered")
        for path, text in _strings(body, "")
        if (found := _placeholder(text))
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
    if action is Action.ENTER and alert.quantity is None:
        problems.append(FieldError("quantity", "quantity is needed for an entry"))
    if alert.order_type == "limit" and alert.limit_price is None:
        problems.append(FieldError("limitPrice", "a limit order needs limitPrice"))
    stop, target = alert.stop_loss, alert.take_profit
    if stop is not None and (stop.stop_price is None) == (stop.percent is None):
        problems.append(FieldError("stopLoss", "give exactly one of stopPrice or percent"))
    if target is not None and (target.limit_price is None) == (target.percent is None):
        problems.append(FieldError("takeProfit", "give exactly one of limitPrice or percent"))
    if problems:
        return problems
    entry = action is Action.ENTER
    # TradersPost reads a quantity without quantityType as a number of shares ("quantity": 1 "would be
    # executed to buy 1 share": docs.traderspost.io/docs/core-concepts/signals/webhooks).
    sizing = _QUANTITY_TYPES[alert.quantity_type or "fixed_quantity"] if entry else None
    return {
        "action": action,
        "side": side,
        "ticker": alert.ticker,
        "alert_time": alert.time,
        "sizing_mode": sizing,
        "sizing_value": alert.quantity if entry else None,
        "order_type": OrderType.LIMIT if alert.order_type == "limit" else OrderType.MARKET,
        "limit_price": alert.limit_price,
        "entry_price": alert.signal_price,
        "stop_loss": stop.stop_price if stop else None,
        "stop_loss_percent": stop.percent if stop else None,
        "stop_limit_price": stop.limit_price if stop else None,
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
    implicit and formats that spell it out give the same id. A field that is None is left out of the hash,
    so a field added later changes no id of an alert that does not use it."""
    draft = Signal(signal_id="", **fields)
    content = {k: _canonical(v) for k, v in draft.model_dump(exclude={"signal_id"}).items() if v is not None}
    return draft.model_copy(update={"signal_id": derive_signal_id(content)})


def _names(model: type[BaseModel], field: str) -> tuple[str, ...]:
    """Every key the sender may use for `field` of `model`, the preferred spelling first."""
    return _spellings(model)[field]


@cache
def _spellings(model: type[BaseModel]) -> dict[str, tuple[str, ...]]:
    """Per field of a format, its keys (read once per format: this runs for every alert of a burst)."""
    spellings = {}
    for field, info in model.model_fields.items():
        alias = info.validation_alias
        names = [c for c in alias.choices if isinstance(c, str)] if isinstance(alias, AliasChoices) else []
        names += [n for n in (info.alias, field) if n and n not in names]
        spellings[field] = tuple(names)
    return spellings


def _given_twice(model: type[BaseModel], body: dict[str, Any]) -> list[FieldError]:
    """`ticker` and `symbol` (or `stopLoss` and `sl`...) in one alert: the model would quietly take the first;
    the sender meant one of them, and we would be guessing which."""
    problems = []
    for names in _spellings(model).values():
        if len(names) < 2:
            continue
        given = [name for name in names if name in body]
        if len(given) > 1:
            problems.append(FieldError(given[0], f"given more than once, as {' and '.join(given)}: send one"))
    return problems


def field_as_sent(body: dict[str, Any], signal_field: str) -> str:
    """The key, as the sender spelled it, that set one field of the signal (for decisions about a valid
    alert, e.g. a stop on the wrong side: `stopLoss`, `sl`, `stopLoss.stopPrice`)."""
    model = format_of(body)
    if model is TradersPostAlert and signal_field in _TRADERSPOST_NESTED:
        outer, inner = _TRADERSPOST_NESTED[signal_field]
        return f"{outer}.{inner}"
    field = _SIZING_FIELD.get(model, "risk_amount") if signal_field == "sizing_value" else signal_field
    if field not in model.model_fields:
        return signal_field
    names = _names(model, field)
    return next((name for name in names if name in body), names[0])


_TRADERSPOST_NESTED = {
    "stop_loss": ("stopLoss", "stopPrice"),
    "stop_loss_percent": ("stopLoss", "percent"),
    "stop_limit_price": ("stopLoss", "limitPrice"),
    "take_profit": ("takeProfit", "limitPrice"),
    "take_profit_percent": ("takeProfit", "percent"),
}
_SIZING_FIELD: dict[type[BaseModel], str] = {TradersPostAlert: "quantity", StrategyAlert: "risk_amount"}


def parse_alert(body: dict[str, Any], received_at: datetime | None = None) -> Signal | list[FieldError]:
    """Any supported format -> Signal, or the field errors that stop it. Secrets must already be removed.

    `received_at` (the intake's clock) places an alert without a time in its dedupe window
    (`domain.alerts.windows`): the same alert on the next bar is then a new signal, not a duplicate."""
    placeholders = unresolved_placeholders(body)
    if placeholders:
        return placeholders
    model = format_of(body)
    twice = _given_twice(model, body)
    if twice:
        return twice
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
    common: dict[str, Any] = {
        "mode": alert.trading_mode,
        "strategy": alert.strategy,
        "timeframe": alert.timeframe,
        "exchange": alert.exchange,
    }
    if mapped["alert_time"] is None and received_at is not None:
        common["dedupe_window"] = dedupe_window(received_at, alert.timeframe)
    return to_signal({**mapped, **common})

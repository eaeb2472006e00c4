"""The alert grammar: what TradingView sends, one tolerant model per intake format. Field names follow what
the trader pastes into the alert message; every model maps to the one normalized `Signal` in
`domain.alerts.normalize`. Domain, not a boundary contract: what counts as a valid alert is a trading rule
(a price above zero, a ticker's shape, a time with a zone), and the domain decides it."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from tradepipe.domain.model import Mode, Side

Price = Annotated[Decimal, Field(gt=0, allow_inf_nan=False, max_digits=18, decimal_places=8)]
Amount = Annotated[Decimal, Field(gt=0, allow_inf_nan=False, max_digits=18, decimal_places=8)]
Percent = Annotated[Decimal, Field(gt=0, lt=100, allow_inf_nan=False, max_digits=12, decimal_places=6)]
SignedAmount = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=18, decimal_places=8)]


# Case is folded for ASCII text only: Python's upper() maps the Turkish dotless `ı` to `I` and the long `ſ`
# to `S`, so `ıbm` would become IBM and `ſell` SELL. Anything else is left as sent and fails validation.
def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) and value.isascii() else value


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) and value.isascii() else value


def _ticker(value: object) -> object:
    if isinstance(value, str) and not value.isascii():
        raise ValueError("a ticker is ASCII letters and digits with '.' or '-' (AAPL, BRK.B)")
    return _upper(value)


def _display_name(value: str) -> str:
    """A strategy name as TradingView rendered it ({{strategy.order.id}} gives `Long Entry`): kept for
    display, in NFC so two renderings that look the same are the same name. Keys are derived from it
    (`domain.signal_id.strategy_key`), never the name itself."""
    value = unicodedata.normalize("NFC", value)
    if not value.isprintable():
        raise ValueError("a strategy name is printable text: no control characters or line breaks")
    return value


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("time must carry a timezone, e.g. 2024-01-01T12:00:00Z")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first UTC instant a datetime can hold
        raise ValueError("time is out of range: no such UTC time") from None


def _mode(value: object) -> object:
    """Paper/Production (our template), paper/live (TradersPost style), any case."""
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("paper", "sandbox"):
            return Mode.PAPER
        if v in ("production", "live"):
            return Mode.LIVE
    return value


Ticker = Annotated[str, BeforeValidator(_ticker), Field(pattern=r"^[A-Z][A-Z0-9.\-]{0,9}$")]
Name = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_display_name)]
TradingMode = Annotated[Mode, BeforeValidator(_mode)]
Timestamp = Annotated[datetime, Field(description="ISO 8601 with a zone, or epoch seconds / milliseconds")]
Exchange = Annotated[str, BeforeValidator(_upper), Field(max_length=16)]


# `defer_build`: each format's validator is built when an alert of that format first arrives, so a cold start
# builds the one it parses, not all three.
class _Alert(BaseModel):
    model_config = ConfigDict(
        defer_build=True, extra="ignore", populate_by_name=True, str_strip_whitespace=True, frozen=True
    )

    strategy: Name = "default"
    timeframe: Annotated[str, Field(min_length=1, max_length=16)] = "unknown"
    trading_mode: TradingMode = Field(
        default=Mode.PAPER, validation_alias=AliasChoices("tradingMode", "mode", "trading_mode")
    )
    exchange: Exchange | None = None


class StandardAlert(_Alert):
    """Our template (and its short form, and key=value text, which map onto the same names)."""

    signal: Annotated[Side, BeforeValidator(_upper)] = Field(validation_alias=AliasChoices("signal", "side"))
    ticker: Ticker = Field(validation_alias=AliasChoices("ticker", "symbol"))
    risk_amount: Amount = Field(validation_alias=AliasChoices("riskAmount", "risk", "risk_amount"))
    # Without an entry the risk stage uses the latest price; without a stop, entry -/+ atr_stop x ATR. So the
    # seed's short form {"signal", "ticker", "mode", "risk"} is a complete alert.
    entry_price: Price | None = Field(
        default=None, validation_alias=AliasChoices("entryPrice", "entry", "price", "entry_price")
    )
    stop_loss: Price | None = Field(
        default=None, validation_alias=AliasChoices("stopLoss", "stop", "sl", "stop_loss")
    )
    take_profit: Price | None = Field(
        default=None, validation_alias=AliasChoices("takeProfit", "tp", "target", "take_profit")
    )
    timestamp: Timestamp | None = Field(default=None, validation_alias=AliasChoices("timestamp", "time"))

    @field_validator("timestamp")
    @classmethod
    def check_timestamp(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _aware_utc(value)


class StopSpec(BaseModel):
    """TradersPost's stopLoss: `stop` (a stop market leg) or `stop_limit` (a stop-limit leg with its
    `limitPrice`), both what an Alpaca bracket's stop_loss takes (`stop_price`, optional `limit_price`).
    A trailing stop cannot be a bracket leg at Alpaca, so it is refused rather than sent as something else."""

    model_config = ConfigDict(defer_build=True, extra="ignore", populate_by_name=True, frozen=True)

    type: Annotated[Literal["stop", "stop_limit", "trailing_stop"], BeforeValidator(_lower)] = "stop"
    stop_price: Price | None = Field(default=None, alias="stopPrice")
    percent: Percent | None = None
    limit_price: Price | None = Field(default=None, alias="limitPrice")

    @field_validator("type")
    @classmethod
    def _no_trailing_stop(cls, value: str) -> str:
        if value == "trailing_stop":
            raise ValueError("a trailing stop cannot be a bracket leg at Alpaca: use type stop or stop_limit")
        return value

    @model_validator(mode="after")
    def _limit_only_for_stop_limit(self) -> StopSpec:
        if self.type == "stop_limit" and self.limit_price is None:
            raise ValueError("type stop_limit needs limitPrice (the stop-limit leg's limit)")
        if self.type == "stop" and self.limit_price is not None:
            raise ValueError("limitPrice is for type stop_limit; type stop is a stop market leg")
        return self


class TargetSpec(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore", populate_by_name=True, frozen=True)

    limit_price: Price | None = Field(default=None, alias="limitPrice")
    percent: Percent | None = None


class TradersPostAlert(_Alert):
    """The TradersPost-compatible subset."""

    ticker: Ticker
    action: Annotated[Literal["buy", "sell", "exit", "cancel", "add"], BeforeValidator(_lower)]
    sentiment: Annotated[
        Literal["long", "short", "flat", "bullish", "bearish"] | None, BeforeValidator(_lower)
    ] = None
    quantity: Amount | None = None
    quantity_type: Annotated[
        Literal["fixed_quantity", "dollar_amount", "percent_of_equity", "risk_dollar_amount"] | None,
        BeforeValidator(_lower),
    ] = Field(default=None, alias="quantityType")
    order_type: Annotated[Literal["market", "limit"], BeforeValidator(_lower)] = Field(
        default="market", alias="orderType"
    )
    limit_price: Price | None = Field(default=None, alias="limitPrice")
    stop_loss: StopSpec | None = Field(default=None, alias="stopLoss")
    take_profit: TargetSpec | None = Field(default=None, alias="takeProfit")
    signal_price: Price | None = Field(default=None, validation_alias=AliasChoices("signalPrice", "price"))
    time: Timestamp | None = None

    @field_validator("time")
    @classmethod
    def check_time(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _aware_utc(value)


class StrategyAlert(_Alert):
    """A Pine strategy's alert, placeholders rendered: {{strategy.order.action}},
    {{strategy.order.contracts}}, {{strategy.position_size}}, {{strategy.market_position}},
    {{strategy.order.id}}, {{close}}, {{timenow}}, {{exchange}}."""

    ticker: Ticker
    action: Annotated[Literal["buy", "sell"], BeforeValidator(_lower)]
    contracts: Amount
    position_size: SignedAmount = Field(alias="positionSize")
    market_position: Annotated[Literal["long", "short", "flat"], BeforeValidator(_lower)] = Field(
        alias="marketPosition"
    )
    order_id: Annotated[str, Field(max_length=64)] | None = Field(default=None, alias="orderId")
    price: Price
    time: Timestamp
    risk_amount: Amount | None = Field(default=None, alias="riskAmount")
    stop_loss: Price | None = Field(default=None, alias="stopLoss")
    take_profit: Price | None = Field(default=None, alias="takeProfit")

    @field_validator("time")
    @classmethod
    def check_time(cls, value: datetime) -> datetime:
        return _aware_utc(value)


def format_of(body: dict[str, Any]) -> type[_Alert]:
    """Which model a body is meant for, from the keys only a given format uses."""
    keys = set(body)
    if keys & {"marketPosition", "positionSize", "contracts"}:
        return StrategyAlert
    if keys & {"action", "sentiment", "quantityType", "signalPrice"}:
        return TradersPostAlert
    return StandardAlert

"""The alert grammar: what TradingView sends, one tolerant model per intake format. Field names follow what
the trader pastes into the alert message; every model maps to the one normalized `Signal` in
`domain.alerts.normalize`. Domain, not a boundary contract: what counts as a valid alert is a trading rule
(a price above zero, a ticker's shape, a time with a zone), and the domain decides it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from tradepipe.domain.model import Mode, Side

Price = Annotated[Decimal, Field(gt=0, allow_inf_nan=False, max_digits=18, decimal_places=8)]
Amount = Annotated[Decimal, Field(gt=0, allow_inf_nan=False, max_digits=18, decimal_places=8)]
Percent = Annotated[Decimal, Field(gt=0, lt=100, allow_inf_nan=False, max_digits=12, decimal_places=6)]
SignedAmount = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=18, decimal_places=8)]


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("time must carry a timezone, e.g. 2024-01-01T12:00:00Z")
    return value.astimezone(UTC)


def _mode(value: object) -> object:
    """Paper/Production (our template), paper/live (TradersPost style), any case."""
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("paper", "sandbox"):
            return Mode.PAPER
        if v in ("production", "live"):
            return Mode.LIVE
    return value


Ticker = Annotated[str, BeforeValidator(_upper), Field(pattern=r"^[A-Z][A-Z0-9.\-]{0,9}$")]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
TradingMode = Annotated[Mode, BeforeValidator(_mode)]
Timestamp = Annotated[datetime, Field(description="ISO 8601 with a zone, or epoch seconds / milliseconds")]
Exchange = Annotated[str, BeforeValidator(_upper), Field(max_length=16)]


class _Alert(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_strip_whitespace=True, frozen=True)

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
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    type: Literal["stop", "stop_limit", "trailing_stop"] = "stop"
    stop_price: Price | None = Field(default=None, alias="stopPrice")
    percent: Percent | None = None

    @field_validator("type")
    @classmethod
    def _only_stop(cls, value: str) -> str:
        if value != "stop":
            raise ValueError("only type 'stop' is supported for stopLoss")
        return value


class TargetSpec(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

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

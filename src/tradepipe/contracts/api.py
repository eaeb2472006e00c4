"""Read API contracts: `GET /signals` (query and page), `GET /signals/{signal_id}` (the trail), and the
kill switch's request."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from tradepipe.contracts.answers import BatchAnswer as BatchAnswer
from tradepipe.contracts.answers import BatchElementAnswer as BatchElementAnswer
from tradepipe.contracts.answers import ErrorBody as ErrorBody
from tradepipe.contracts.answers import IntakeAnswer as IntakeAnswer
from tradepipe.contracts.items import ErrorEntry, OrderItem, SignalItem, StatusEntry
from tradepipe.domain.alerts.formats import Ticker
from tradepipe.domain.model import CapApplied, Mode, SignalStatus
from tradepipe.domain.risk.context import TradingState

# The alert's answers and the error body live in `contracts.answers` (the webhook's cold start imports that
# module, not this one), re-exported above. `defer_build`: the models here are built on first use.


class OrderView(BaseModel):
    model_config = ConfigDict(defer_build=True)

    client_order_id: str
    purpose: str
    side: str
    qty: str
    order_class: str
    status: str
    broker_order_id: str | None
    filled_qty: str | None
    filled_avg_price: str | None
    submitted_at: datetime | None
    filled_at: datetime | None
    reject_code: str | None
    reject_reason: str | None

    @classmethod
    def from_item(cls, item: OrderItem) -> OrderView:
        return cls(
            client_order_id=item.client_order_id,
            purpose=item.purpose,
            side=item.side.value,
            qty=str(item.qty),
            order_class=item.order_class,
            status=item.status,
            broker_order_id=item.broker_order_id,
            filled_qty=None if item.filled_qty is None else str(item.filled_qty),
            filled_avg_price=None if item.filled_avg_price is None else str(item.filled_avg_price),
            submitted_at=item.submitted_at,
            filled_at=item.filled_at,
            reject_code=item.reject_code,
            reject_reason=item.reject_reason,
        )


class TradingStateView(BaseModel):
    """GET|POST /trading-state/{account}: the account's trading state as stored."""

    model_config = ConfigDict(defer_build=True)

    account: str
    state: str
    high_water_mark: Decimal
    losing_streak: int
    changed_at: datetime | None
    rule: str | None
    detail: str | None


class TradingStateRequest(BaseModel):
    """POST /trading-state/{account}: the kill switch (halt, reduce, resume)."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    state: TradingState
    reason: str = Field(default="", max_length=500)
    by: str | None = Field(default=None, max_length=128)


class FlattenRequest(BaseModel):
    """POST /flatten/{account}: close a ticker's whole position, every strategy's shares (app/flatten.py)."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    ticker: Ticker  # the alert grammar's: what an alert could have opened, a flatten can close
    by: str | None = Field(default=None, max_length=128)


class FlattenAnswer(BaseModel):
    model_config = ConfigDict(defer_build=True)

    signal_id: str  # the flatten's trail: GET /signals/{signal_id}
    account: str
    ticker: str
    status: str = "accepted"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class SignalQuery(BaseModel):
    """`GET /signals` query parameters. Unknown parameters are refused (a typo must not silently widen
    the result); an empty parameter means "any"."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    since: AwareDatetime | None = None  # received at or after; default: everything still stored
    status: SignalStatus | None = None
    ticker: str | None = Field(default=None, pattern=r"^[A-Z0-9.\-]{1,12}$")
    strategy: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    mode: Mode | None = None
    limit: int = Field(default=50, ge=1, le=200)
    page_token: str | None = Field(default=None, max_length=2048)

    @model_validator(mode="before")
    @classmethod
    def _empty_means_unset(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v != ""} if isinstance(data, dict) else data

    @field_validator("status", "ticker", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("mode", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class SignalSummary(BaseModel):
    """One row of the feed: what happened to an alert, without its trail (`GET /signals/{id}` has it)."""

    model_config = ConfigDict(defer_build=True)

    signal_id: str
    received_at: datetime
    updated_at: datetime
    status: str
    action: str | None
    mode: str | None
    ticker: str | None
    side: str | None
    strategy: str | None
    timeframe: str | None
    qty: str | None
    entry_price: str | None
    stop_loss: str | None
    take_profit: str | None
    filled_qty: str | None
    filled_avg_price: str | None
    reject_reason: str | None
    reject_detail: str | None
    broker_order_id: str | None

    @classmethod
    def from_item(cls, item: SignalItem) -> SignalSummary:
        return cls(
            signal_id=item.signal_id,
            received_at=item.received_at,
            updated_at=item.updated_at,
            status=item.status.value,
            action=None if item.action is None else item.action.value,
            mode=None if item.mode is None else item.mode.value,
            ticker=item.ticker,
            side=None if item.side is None else item.side.value,
            strategy=item.strategy,
            timeframe=item.timeframe,
            qty=_text(item.qty),
            entry_price=_text(item.entry_price),
            stop_loss=_text(item.stop_loss),
            take_profit=_text(item.take_profit),
            filled_qty=_text(item.filled_qty),
            filled_avg_price=_text(item.filled_avg_price),
            reject_reason=item.reject_reason,
            reject_detail=item.reject_detail,
            broker_order_id=item.broker_order_id,
        )


class SignalTrail(SignalSummary):
    """A signal's summary plus its states with timestamps, the caps that bit, the field errors of an invalid
    alert and the orders it produced: what happened to one alert (`GET /signals/{id}`)."""

    risk_caps: list[CapApplied] | None
    errors: list[ErrorEntry] | None
    trail: list[StatusEntry]
    orders: list[OrderView]

    @classmethod
    def build(cls, item: SignalItem, orders: list[OrderItem]) -> SignalTrail:
        return cls(
            **SignalSummary.from_item(item).model_dump(),
            risk_caps=item.risk_caps,
            errors=item.errors,
            trail=item.history,
            orders=[OrderView.from_item(o) for o in orders],
        )


class SignalPage(BaseModel):
    """`GET /signals`: newest first. `next_token` null means the end; a page may hold fewer than `limit`
    items (even none) while `next_token` is set: keep following it."""

    model_config = ConfigDict(defer_build=True)

    items: list[SignalSummary]
    next_token: str | None


class DayCounts(BaseModel):
    """Today's numbers for the live page: from the signals table, duplicates from the webhook's metric."""

    model_config = ConfigDict(defer_build=True)

    day: str
    received: int  # signals recorded (accepted and rejected at intake)
    accepted: int  # passed intake (enqueued for risk)
    duplicates: int | None  # None where no metric source is at hand
    rejected: dict[str, int]  # by reason
    filled: int
    open: int  # not yet terminal
    per_minute: dict[str, dict[str, int]]  # "HH:MM" (UTC) -> status -> count, the last 60 minutes

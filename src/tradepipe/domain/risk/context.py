"""What the risk engine decides from: values the app layer gathered from the broker, market data and the
risk-state table. Nothing here does I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class TradingState(StrEnum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"  # exits only
    HALTED = "HALTED"  # nothing


@dataclass(frozen=True)
class Account:
    equity: Decimal
    last_equity: Decimal  # equity at the previous close: the daily loss is measured from it
    buying_power: Decimal
    high_water_mark: Decimal  # the highest equity seen, kept in the risk-state table


@dataclass(frozen=True)
class Holding:
    qty: Decimal  # signed: long positive, short negative
    market_value: Decimal  # signed like qty


@dataclass(frozen=True)
class Asset:
    tradable: bool = True
    fractionable: bool = False
    shortable: bool = True


@dataclass(frozen=True)
class MarketClock:
    is_open: bool
    next_open: datetime | None = None


@dataclass(frozen=True)
class SymbolHistory:
    """What happened before on this account, ticker and strategy."""

    last_exit_at: datetime | None = None
    last_stop_out_at: datetime | None = None
    last_entry_bar: datetime | None = None  # the alert_time of the last accepted entry


@dataclass(frozen=True)
class RiskContext:
    account: Account
    holdings: Mapping[str, Holding]
    state: TradingState
    clock: MarketClock
    asset: Asset
    history: SymbolHistory = field(default_factory=SymbolHistory)
    orders_last_minute: int = 0
    losing_streak: int = 0
    last_price: Decimal | None = None  # the latest trade / close: entry for alerts that carry no price
    atr: Decimal | None = None  # ATR(profile.atr_period) on daily bars, None when bars are unavailable
    # When the broker's account and positions above were read (the older of the two; None: unknown). The
    # reservations released or handed off after it are not in them (domain/risk/reservations.py).
    figures_read_at: datetime | None = None

"""The domain's vocabulary: sides, modes, statuses, reasons and the normalized signal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class Mode(StrEnum):
    """Paper and live never mix: every record, event and document carries one of these."""

    PAPER = "paper"
    LIVE = "live"


class Action(StrEnum):
    """What the alert asks for. `add` and `buy`/`sell` are ENTER; `exit` and `flat` are EXIT."""

    ENTER = "ENTER"
    EXIT = "EXIT"
    CANCEL = "CANCEL"


class SizingMode(StrEnum):
    RISK_DOLLARS = "RISK_DOLLARS"  # risk / |entry - stop|
    RISK_PERCENT = "RISK_PERCENT"  # percent of equity lost at the stop
    FIXED_QUANTITY = "FIXED_QUANTITY"
    DOLLAR_AMOUNT = "DOLLAR_AMOUNT"  # notional
    PERCENT_OF_EQUITY = "PERCENT_OF_EQUITY"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"


class SignalStatus(StrEnum):
    RECEIVED = "RECEIVED"
    ENQUEUED = "ENQUEUED"
    SIZED = "SIZED"
    QUEUED = "QUEUED"  # outside regular hours: waits for the next open
    SUBMITTED = "SUBMITTED"
    FILLED = "FILLED"
    COMPLETED = "COMPLETED"  # a CANCEL carried out, or an EXIT with nothing left to close
    REJECTED = "REJECTED"
    # A collared entry (a marketable limit) that did not fill within its profile's entry_timeout_s: cancelled,
    # nothing bought, its reservations released. Not a rejection: the market moved away from the alert.
    ENTRY_NOT_FILLED = "ENTRY_NOT_FILLED"


TERMINAL_STATUSES = frozenset(
    {SignalStatus.FILLED, SignalStatus.COMPLETED, SignalStatus.REJECTED, SignalStatus.ENTRY_NOT_FILLED}
)


class RejectReason(StrEnum):
    """Why a signal stopped. Values read the same in DynamoDB, OpenSearch, logs and the demo summary."""

    INVALID_ALERT = "INVALID_ALERT"
    STALE_ALERT = "STALE_ALERT"
    STALE_AT_SUBMIT = "STALE_AT_SUBMIT"  # an entry decided too long before the executor could send it
    SOURCE_NOT_ALLOWED = "SOURCE_NOT_ALLOWED"
    ENTRY_PRICE_UNKNOWN = "ENTRY_PRICE_UNKNOWN"
    STOP_REQUIRED = "STOP_REQUIRED"  # no stop in the alert and none derivable: every entry needs one
    STOP_INVALID = "STOP_INVALID"  # a stop <= 0 or farther than max_stop_pct from the entry
    SIZING_MODE_UNSUPPORTED = "SIZING_MODE_UNSUPPORTED"
    NO_POSITION = "NO_POSITION"
    TRADING_HALTED = "TRADING_HALTED"
    TRADING_REDUCING = "TRADING_REDUCING"
    SYMBOL_NOT_ALLOWED = "SYMBOL_NOT_ALLOWED"
    ASSET_NOT_TRADABLE = "ASSET_NOT_TRADABLE"
    NOT_SHORTABLE = "NOT_SHORTABLE"
    COOLDOWN = "COOLDOWN"
    ONE_ENTRY_PER_BAR = "ONE_ENTRY_PER_BAR"
    ORDER_RATE_LIMIT = "ORDER_RATE_LIMIT"
    MARKET_CLOSED = "MARKET_CLOSED"
    STOP_TOO_TIGHT = "STOP_TOO_TIGHT"
    STOP_TOO_WIDE = "STOP_TOO_WIDE"
    MAX_OPEN_POSITIONS = "MAX_OPEN_POSITIONS"
    CAPPED_TO_ZERO = "CAPPED_TO_ZERO"
    ORDER_INVALID = "ORDER_INVALID"  # breaks an Alpaca order rule: caught before sending
    STOP_WRONG_SIDE = "STOP_WRONG_SIDE"
    STOP_LIMIT_WRONG_SIDE = "STOP_LIMIT_WRONG_SIDE"  # a stop-limit leg whose limit is past its stop
    TAKE_PROFIT_WRONG_SIDE = "TAKE_PROFIT_WRONG_SIDE"
    ZERO_STOP_DISTANCE = "ZERO_STOP_DISTANCE"
    SIZE_BELOW_ONE_SHARE = "SIZE_BELOW_ONE_SHARE"
    LIVE_TRADING_DISABLED = "LIVE_TRADING_DISABLED"
    BROKER_REJECTED = "BROKER_REJECTED"
    QUOTE_BEYOND_COLLAR = "QUOTE_BEYOND_COLLAR"  # the quote gapped past the entry's limit: it would not fill
    RISK_OVER_BUDGET = "RISK_OVER_BUDGET"  # the fill's risk to the stop beyond budget x (1 + tolerance)
    # Why a signal ends ENTRY_NOT_FILLED (the status): its collared limit was cancelled at entry_timeout_s.
    ENTRY_NOT_FILLED = "ENTRY_NOT_FILLED"
    # An entry against the net position other strategies own: Alpaca nets one position per ticker, so it
    # would sell (or buy back) their shares (domain/lots.py, app/execute.py).
    OPPOSITE_LOTS_HELD = "OPPOSITE_LOTS_HELD"


class Signal(BaseModel):
    """A validated, normalized alert: the unit every stage after the webhook works on. Every intake format
    maps to this one shape, so the same alert sent as JSON, TradersPost JSON or key=value text is the same
    signal with the same id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    signal_id: str
    action: Action
    side: Side | None  # None for EXIT and CANCEL: the position decides the side
    ticker: str
    mode: Mode
    strategy: str
    timeframe: str
    alert_time: datetime | None  # None when the alert carried no time (then staleness cannot be judged)
    sizing_mode: SizingMode | None = None
    sizing_value: Decimal | None = None
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    entry_price: Decimal | None = None  # the price the alert saw ({{close}}, signalPrice, entryPrice)
    stop_loss: Decimal | None = None
    stop_loss_percent: Decimal | None = None
    # The stop leg's limit (TradersPost stopLoss type stop_limit): the leg is then a stop-limit order.
    stop_limit_price: Decimal | None = None
    take_profit: Decimal | None = None
    take_profit_percent: Decimal | None = None
    strategy_position: Decimal | None = (
        None  # {{strategy.position_size}} when sent: checked against the broker
    )
    strategy_order_id: str | None = None
    exchange: str | None = None
    # For an alert without a time only: the start of the window it arrived in (its bar, see
    # domain.alerts.windows), part of the id so the same alert on the next bar is a new signal.
    dedupe_window: datetime | None = None

    @property
    def reference_price(self) -> Decimal | None:
        """The entry the risk is measured from: the limit price for a limit order, else the alert's price."""
        return self.limit_price if self.order_type is OrderType.LIMIT else self.entry_price


class CapApplied(BaseModel):
    """One cap that bit at sizing: which one, the quantity before and after it, and the limit in words. A
    structured value from the risk engine to the signal item, the `RiskCapApplied` event and the
    risk-events index: nothing downstream reads numbers back out of text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cap: str  # what it caps: max_notional_per_position, buying_power, max_open_positions, ...
    qty_before: Decimal
    qty_after: Decimal
    limit: str  # the limit and the numbers it came from, e.g. "5000 notional"

    def note(self) -> str:
        """For people (the trail, logs): `max_notional_per_position: qty 100 -> 50 (5000 notional)`."""
        return f"{self.cap}: qty {self.qty_before} -> {self.qty_after} ({self.limit})"


@dataclass(frozen=True)
class Rejected:
    """A decision not to go on, with a reason code and the numbers behind it."""

    reason: RejectReason
    detail: str
    caps: tuple[CapApplied, ...] = ()  # the caps that left nothing (CAPPED_TO_ZERO, MAX_OPEN_POSITIONS)

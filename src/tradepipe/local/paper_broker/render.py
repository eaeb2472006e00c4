"""Alpaca's JSON shapes for orders, positions, the account, assets, fills and bars.

Numbers go out as strings (Alpaca's convention, and exact), timestamps as RFC 3339 in UTC. Every field of
alpaca-py's models is present, optional ones as null, so `Order(**body)` and friends parse what we send.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tradepipe.local.paper_broker.accounting import CENT, Valuation
from tradepipe.local.paper_broker.assets import terms
from tradepipe.local.paper_broker.market_data import DailyBar
from tradepipe.local.paper_broker.quotes import Quote
from tradepipe.local.paper_broker.state import Account, Fill, Order, OrderClass, Position, stable_id

NEW_YORK = ZoneInfo("America/New_York")
_RATIO = Decimal("0.0000000001")
_PRICE = Decimal("0.000001")

Json = dict[str, Any]


def opt_num(value: Decimal | None) -> str | None:
    return None if value is None else num(value)


def num(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros: Decimal('430.4700') -> '430.47'."""
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def price_text(value: Decimal) -> str:
    return num(value.quantize(_PRICE))


def timestamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def asset_id(symbol: str) -> str:
    return stable_id("asset", symbol)


def exchange_of(symbol: str) -> str:
    return terms(symbol).exchange


def asset_json(symbol: str, shorting_enabled: bool = True) -> Json:
    """Alpaca's Asset; `shortable` and `easy_to_borrow` read false for an account that may not short."""
    asset = terms(symbol)
    return {
        "id": asset_id(symbol),
        "class": "us_equity",
        "exchange": asset.exchange,
        "symbol": symbol,
        "name": asset.name,
        "status": "active",
        "tradable": True,
        "marginable": asset.marginable,
        "maintenance_margin_requirement": 30,
        "shortable": asset.shortable and shorting_enabled,
        "easy_to_borrow": asset.easy_to_borrow and shorting_enabled,
        "fractionable": asset.fractionable,
        "attributes": [],
    }


def quote_json(symbol: str, q: Quote, at: datetime) -> Json:
    """The paper market's quote (an admin view: Alpaca's own quotes are market data)."""
    return {"symbol": symbol, "bid": num(q.bid), "ask": num(q.ask), "last": num(q.last), "t": timestamp(at)}


def latest_quote_json(q: Quote, at: datetime) -> Json:
    """One symbol's entry in `GET /v2/stocks/quotes/latest` as Alpaca's market-data API sends it (alpaca-py's
    `QUOTE_MAPPING`: t, ap/as/ax ask price/size/exchange, bp/bs/bx bid, c conditions, z tape)."""
    return {
        "t": timestamp(at),
        "ap": num(q.ask),
        "as": 1,
        "ax": "V",
        "bp": num(q.bid),
        "bs": 1,
        "bx": "V",
        "c": ["R"],
        "z": "C",
    }


def order_json(order: Order, orders: Mapping[str, Order], with_legs: bool) -> Json:
    """One order; `with_legs` nests a complex order's legs (legs themselves never have legs)."""
    legs = None
    if with_legs and order.leg_ids:
        legs = [order_json(orders[i], orders, False) for i in order.leg_ids]
    body: Json = {
        "id": order.id,
        "client_order_id": order.client_order_id,
        "created_at": timestamp(order.submitted_at),
        "updated_at": timestamp(order.updated_at or order.submitted_at),
        "submitted_at": timestamp(order.submitted_at),
        "filled_at": timestamp(order.filled_at),
        "expired_at": timestamp(order.expired_at),
        "expires_at": None,
        "canceled_at": timestamp(order.canceled_at),
        "failed_at": timestamp(order.failed_at),
        "replaced_at": timestamp(order.replaced_at),
        "replaced_by": order.replaced_by,
        "replaces": order.replaces,
        "asset_id": order.asset_id,
        "symbol": order.symbol,
        "asset_class": "us_equity",
        "notional": opt_num(order.notional),
        # A notional order has no share quantity until it fills (Alpaca sends qty null).
        "qty": None if order.notional is not None else num(order.qty),
        "filled_qty": num(order.filled_qty),
        "filled_avg_price": None if order.filled_avg_price is None else price_text(order.filled_avg_price),
        "order_class": order.order_class.value,
        "order_type": order.type.value,
        "type": order.type.value,
        "side": order.side.value,
        "position_intent": order.position_intent,
        "time_in_force": order.time_in_force.value,
        "limit_price": opt_num(order.limit_price),
        "stop_price": opt_num(order.stop_price),
        "status": order.status.value,
        "extended_hours": order.extended_hours,
        "legs": legs,
        "trail_percent": None,
        "trail_price": None,
        "hwm": None,
        "subtag": None,
        "source": None,
    }
    if order.order_class is not OrderClass.SIMPLE:
        body["group_id"] = order.group_id
        body["group_role"] = None if order.group_role is None else order.group_role.value
    return body


def _ratio(numerator: Decimal, denominator: Decimal) -> str:
    if denominator == 0:
        return "0"
    return num((numerator / denominator).quantize(_RATIO))


def position_json(position: Position, price: Decimal, lastday_price: Decimal, qty_available: Decimal) -> Json:
    qty = position.qty
    market_value = (qty * price).quantize(CENT)
    cost_basis = position.cost_basis.quantize(CENT)
    unrealized = market_value - cost_basis
    # Intraday P/L against yesterday's close, as if the whole position was held overnight.
    intraday = ((price - lastday_price) * qty).quantize(CENT)
    lastday_value = abs(lastday_price * qty)
    return {
        "asset_id": position.asset_id,
        "symbol": position.symbol,
        "exchange": exchange_of(position.symbol),
        "asset_class": "us_equity",
        "asset_marginable": True,
        "qty": num(qty),
        "qty_available": num(qty_available),
        "avg_entry_price": price_text(position.avg_entry_price),
        "side": "long" if qty > 0 else "short",
        "market_value": num(market_value),
        "cost_basis": num(cost_basis),
        "unrealized_pl": num(unrealized),
        "unrealized_plpc": _ratio(unrealized, abs(cost_basis)),
        "unrealized_intraday_pl": num(intraday),
        "unrealized_intraday_plpc": _ratio(intraday, lastday_value),
        "current_price": num(price),
        "lastday_price": num(lastday_price),
        "change_today": _ratio(price - lastday_price, lastday_price),
    }


def account_json(account: Account, valuation: Valuation, daytrade_count: int) -> Json:
    cash = num(account.cash)
    equity = num(valuation.equity)
    buying_power = num(valuation.buying_power)
    return {
        "id": account.id,
        "account_number": account.account_number,
        "status": "ACTIVE",
        "crypto_status": "INACTIVE",
        "currency": "USD",
        "cash": cash,
        "buying_power": buying_power,
        "regt_buying_power": buying_power,
        "non_marginable_buying_power": num(max(account.cash, Decimal(0))),
        "options_buying_power": num(max(account.cash, Decimal(0))),
        "accrued_fees": "0",
        "pending_transfer_in": "0",
        "pending_transfer_out": "0",
        "portfolio_value": equity,
        "equity": equity,
        "last_equity": num(account.last_equity),
        "long_market_value": num(valuation.long_market_value),
        "short_market_value": num(valuation.short_market_value),
        "initial_margin": num(valuation.initial_margin),
        "maintenance_margin": num(valuation.maintenance_margin),
        "last_maintenance_margin": num(valuation.maintenance_margin),
        "sma": "0",
        "daytrade_count": daytrade_count,
        "pattern_day_trader": False,
        "multiplier": num(account.multiplier),
        "shorting_enabled": account.shorting_enabled,
        "trading_blocked": False,
        "transfers_blocked": False,
        "account_blocked": False,
        "trade_suspended_by_user": False,
        "created_at": timestamp(account.created_at),
        "options_approved_level": 0,
        "options_trading_level": 0,
    }


def fill_json(fill: Fill, account_id: str) -> Json:
    return {
        "id": fill.id,
        "account_id": account_id,
        "activity_type": "FILL",
        "transaction_time": timestamp(fill.transaction_time),
        "type": "fill" if fill.leaves_qty == 0 else "partial_fill",
        "price": price_text(fill.price),
        "qty": num(fill.qty),
        "side": fill.side.value,
        "symbol": fill.symbol,
        "leaves_qty": num(fill.leaves_qty),
        "order_id": fill.order_id,
        "cum_qty": num(fill.cum_qty),
        "order_status": fill.order_status.value,
    }


def bar_time(day: date) -> datetime:
    """Alpaca stamps a daily bar with midnight New York time of its trading day."""
    return datetime.combine(day, time(0), NEW_YORK)


def bar_json(bar: DailyBar) -> Json:
    # n (trade count) and vw (VWAP) are not in the source data: sent as null, never invented. alpaca-py's
    # Bar declares them Optional but without defaults, so the keys must be present.
    return {
        "t": timestamp(bar_time(bar.day)),
        "o": float(bar.open),
        "h": float(bar.high),
        "l": float(bar.low),
        "c": float(bar.close),
        "v": bar.volume,
        "n": None,
        "vw": None,
    }

"""`POST /v2/orders` after parsing: every rule an order must pass before Alpaca takes it, then the order.

The rules are in `order_request` (the body alone), `rules` (quotes, positions, assets, open orders) and
`pdt`; this module applies them in order and hands the accepted order to the lifecycle.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from tradepipe.local.paper_broker import book, lifecycle, pdt, rules
from tradepipe.local.paper_broker.assets import terms
from tradepipe.local.paper_broker.core import BrokerCore
from tradepipe.local.paper_broker.errors import invalid
from tradepipe.local.paper_broker.faults import Fault
from tradepipe.local.paper_broker.market_data import UnknownSymbol
from tradepipe.local.paper_broker.nyse_calendar import trading_days_ending
from tradepipe.local.paper_broker.order_request import NewOrder, check_increments
from tradepipe.local.paper_broker.quotes import Quote
from tradepipe.local.paper_broker.state import ZERO, Order, OrderClass, OrderType, Side, TimeInForce

SHARE_PRECISION = Decimal("0.000000001")  # Alpaca: up to 9 decimals of a share


def accept(core: BrokerCore, new: NewOrder, fault: Fault | None, at: datetime) -> Order:
    if new.client_order_id is not None and new.client_order_id in core.state.by_client_id:
        raise invalid("client_order_id must be unique")
    try:
        q = core.quote(new.symbol)
    except UnknownSymbol:
        raise invalid(f'asset "{new.symbol}" not found') from None
    check_increments(new)
    rules.check_exit_sides(new, q)
    asset = terms(new.symbol)
    rules.check_fractionable(new.symbol, asset, new.is_fractional)
    qty = _share_qty(new, q)
    _check_account_rules(core, new, qty, q, at)
    order = book.register(core, new, qty, at)
    if fault is Fault.ASYNC_REJECT:
        lifecycle.hold_for_rejection(core, order, at)
        core.injected[fault] += 1
        return order
    if fault is Fault.PARTIAL_FILL and _plan_partial_fill(core, order):
        core.injected[fault] += 1
    lifecycle.queue(core, order, at)
    return order


def _share_qty(new: NewOrder, q: Quote) -> Decimal:
    if new.qty is not None:
        return new.qty
    notional = new.notional or ZERO  # parsing guarantees one of qty and notional
    qty = (notional / q.paid_by(new.side)).quantize(SHARE_PRECISION, rounding=ROUND_DOWN)
    if qty <= 0:
        raise invalid("notional is too small")
    return qty


def _check_account_rules(core: BrokerCore, new: NewOrder, qty: Decimal, q: Quote, at: datetime) -> None:
    state = core.state
    open_orders = state.open_orders(new.symbol)
    position_qty = core.position_qty(new.symbol)
    if core.rules.wash_trade:
        rules.check_wash_trade(new, open_orders)
    if core.rules.held_qty:
        rules.check_held_qty(
            new.symbol, new.side, qty, position_qty, open_orders, lambda o: book.hold_group(core, o)
        )
    if core.behaviour.pattern_day_trader_check:
        today = core.market.trading_day(at)
        pdt.check(
            state,
            side=new.side,
            symbol=new.symbol,
            position_qty=position_qty,
            has_exit_legs=new.order_class in (OrderClass.BRACKET, OrderClass.OTO),
            open_orders=open_orders,
            today=today,
            window=trading_days_ending(today, pdt.WINDOW_BUSINESS_DAYS),
        )
    if not rules.is_opening(new.side, position_qty):
        return
    if new.side is Side.SELL:
        rules.check_short_allowed(
            new.symbol, terms(new.symbol), state.account.shorting_enabled, new.is_fractional
        )
    if core.rules.buying_power:
        order_value = rules.opening_value(new.side, qty, q, new.limit_price)
        reserved = rules.reserved_buying_power(
            state.open_orders(), {s: p.qty for s, p in state.positions.items()}, core.quote
        )
        rules.check_buying_power(order_value, core.valuation().buying_power, reserved)


def _plan_partial_fill(core: BrokerCore, order: Order) -> bool:
    """Split a market or limit order's quantity into parts; False when it does not apply (a stop, an order
    that may not rest (IOC/FOK), or a quantity too small to split). Alpaca fills limit orders in parts as
    it fills market orders ("Orders at Alpaca", Order Lifecycle: `partially_filled`), and a marketable limit
    entry (issue 19) is the order this pipeline sends."""
    plain = order.type in (OrderType.MARKET, OrderType.LIMIT)
    if not plain or order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
        return False
    parts = core.faults.split(order.qty)
    if len(parts) < 2:
        return False
    order.fill_parts = parts
    order.part_delay_s = core.faults.partial_fill_delay_s
    return True

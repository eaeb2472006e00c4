"""Alpaca's order-acceptance rules that depend on prices, positions and other open orders.

Each rule can be switched off (`RuleSet`) to test a caller against a more lenient broker, but they are
on by default because a caller that passes here should not be surprised by Alpaca.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from tradepipe.local.paper_broker.errors import forbidden, unprocessable
from tradepipe.local.paper_broker.order_request import NewOrder
from tradepipe.local.paper_broker.state import ZERO, GroupRole, Order, OrderClass, OrderType, Side
from tradepipe.local.paper_broker.wire import num

TICK = Decimal("0.01")
# Alpaca values an opening short at 3% above the current price (its docs: "3% above the current ask").
SHORT_PRICE_BUFFER = Decimal("1.03")


@dataclass(frozen=True)
class RuleSet:
    wash_trade: bool = True
    held_qty: bool = True
    buying_power: bool = True


def base_price(order: NewOrder, market_price: Decimal) -> Decimal:
    """Where a bracket's exits are measured from: the entry's own price, or the market for a market entry."""
    if order.order_class is OrderClass.OCO:
        return market_price
    if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and order.limit_price is not None:
        return order.limit_price
    if order.type is OrderType.STOP and order.stop_price is not None:
        return order.stop_price
    return market_price


def check_exit_sides(order: NewOrder, market_price: Decimal) -> None:
    """Take-profit beyond the base price in the trade's favour, stop-loss beyond it against (by a cent)."""
    if order.order_class is OrderClass.SIMPLE:
        return
    base = base_price(order, market_price)
    # An OCO is itself the exit, so the position it protects was opened on the other side.
    entry_side = order.side.opposite if order.order_class is OrderClass.OCO else order.side
    details = {"base_price": num(base)}
    if order.take_profit is not None:
        limit = order.take_profit.limit_price
        if entry_side is Side.BUY and limit < base + TICK:
            raise unprocessable("take_profit.limit_price must be >= base_price + 0.01", details)
        if entry_side is Side.SELL and limit > base - TICK:
            raise unprocessable("take_profit.limit_price must be <= base_price - 0.01", details)
    if order.stop_loss is not None:
        stop = order.stop_loss.stop_price
        if entry_side is Side.BUY and stop > base - TICK:
            raise unprocessable("stop_loss.stop_price must be <= base_price - 0.01", details)
        if entry_side is Side.SELL and stop < base + TICK:
            raise unprocessable("stop_loss.stop_price must be >= base_price + 0.01", details)


def _working_price(order_type: OrderType, limit_price: Decimal | None) -> Decimal | None:
    """The price an order would trade at against another: its limit, or None for "any price"."""
    if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        return limit_price
    return None


def check_wash_trade(order: NewOrder, open_orders: Iterable[Order]) -> None:
    """Refuse an order that could trade against one of our own opposite-side orders already working.

    Working means at the market center: a live limit (including a bracket's take-profit) or a queued market
    order. Stops waiting to trigger (a bracket's held stop-loss) do not count. Legs submitted together with
    their entry are exempt: that is what "use complex orders" in Alpaca's message points to.
    """
    mine = _working_price(order.type, order.limit_price)
    for other in open_orders:
        if other.side is order.side or not other.at_market_center or other.type is OrderType.STOP:
            continue
        theirs = _working_price(other.type, other.limit_price)
        if mine is None or theirs is None:
            crosses = True
        elif order.side is Side.BUY:
            crosses = mine >= theirs
        else:
            crosses = mine <= theirs
        if crosses:
            raise forbidden("potential wash trade detected. use complex orders")


def held_for_orders(position_qty: Decimal, open_orders: Iterable[Order]) -> Decimal:
    """Shares already promised to open orders that would reduce the position.

    An OCO pair (a bracket's two exits) promises its quantity once, since only one of them can fill.
    """
    if position_qty == 0:
        return ZERO
    closing_side = Side.SELL if position_qty > 0 else Side.BUY
    per_group: dict[str, Decimal] = {}
    for order in open_orders:
        if order.side is not closing_side or order.awaiting_parent:
            continue
        key = min([order.id, *order.oco_peer_ids])
        per_group[key] = max(per_group.get(key, ZERO), order.remaining_qty)
    return sum(per_group.values(), ZERO)


def check_held_qty(
    symbol: str, side: Side, qty: Decimal, position_qty: Decimal, open_orders: Iterable[Order]
) -> None:
    """An order against a position may use only the shares not already held for other closing orders,
    and may not flip the position in one go (Alpaca: "insufficient qty available for order")."""
    reduces = (position_qty > 0 and side is Side.SELL) or (position_qty < 0 and side is Side.BUY)
    if not reduces:
        return
    held = held_for_orders(position_qty, open_orders)
    available = abs(position_qty) - held
    if qty > available:
        raise forbidden(
            f"insufficient qty available for order (requested: {num(qty)}, available: {num(available)})",
            {
                "symbol": symbol,
                "existing_qty": num(abs(position_qty)),
                "held_for_orders": num(held),
                "available": num(available),
            },
        )


def opening_value(side: Side, qty: Decimal, price: Decimal, limit_price: Decimal | None) -> Decimal:
    """What an opening order costs in buying power (Alpaca's "order value")."""
    if side is Side.BUY:
        return qty * (limit_price if limit_price is not None else price)
    return qty * max(limit_price or ZERO, price * SHORT_PRICE_BUFFER)


def is_opening(side: Side, position_qty: Decimal) -> bool:
    return position_qty == 0 or (position_qty > 0) == (side is Side.BUY)


def reserved_buying_power(
    open_orders: Iterable[Order], position_qty_of: dict[str, Decimal], price_of: dict[str, Decimal]
) -> Decimal:
    """Buying power already taken by open opening orders (exit legs open nothing)."""
    total = ZERO
    for order in open_orders:
        if order.group_role in (GroupRole.TAKE_PROFIT, GroupRole.STOP_LOSS):
            continue
        if is_opening(order.side, position_qty_of.get(order.symbol, ZERO)):
            total += opening_value(order.side, order.remaining_qty, price_of[order.symbol], order.limit_price)
    return total


def check_buying_power(value: Decimal, buying_power: Decimal, reserved: Decimal) -> None:
    available = buying_power - reserved
    if value > available:
        raise forbidden(
            "insufficient buying power",
            {"buying_power": num(max(available, ZERO)), "cost_basis": num(value.quantize(TICK))},
        )


def check_short_allowed(shorting_enabled: bool, fractional: bool) -> None:
    if not shorting_enabled:
        raise forbidden("account is not allowed to short")
    if fractional:
        raise forbidden("fractional orders cannot be sold short")

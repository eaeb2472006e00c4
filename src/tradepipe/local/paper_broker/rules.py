"""Alpaca's order-acceptance rules that depend on quotes, positions, assets and other open orders.

Each rule cites where Alpaca states it. Rules can be switched off (`RuleSet`) to test a caller against a
more lenient broker, but they are on by default: a caller that passes here should not be surprised by
Alpaca. The wording of a refusal is Alpaca's where it is known (stack-notes, alpaca-py issues), else ours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from tradepipe.local.paper_broker.assets import AssetTerms
from tradepipe.local.paper_broker.errors import forbidden, unprocessable
from tradepipe.local.paper_broker.order_request import NewOrder
from tradepipe.local.paper_broker.quotes import Quote
from tradepipe.local.paper_broker.render import num
from tradepipe.local.paper_broker.state import ZERO, GroupRole, Order, OrderClass, OrderType, Side

TICK = Decimal("0.01")
# Docs "Orders at Alpaca", Buying Power: an opening short is valued at "MAX(order's limit price, 3% above
# the current ask price)".
SHORT_PRICE_BUFFER = Decimal("1.03")


@dataclass(frozen=True)
class RuleSet:
    wash_trade: bool = True
    held_qty: bool = True
    buying_power: bool = True


def base_price(order: NewOrder, q: Quote) -> Decimal:
    """Where a complex order's exits are measured from. Docs "Orders at Alpaca", Threshold on stop price of
    stop-loss orders: the entry's limit price for a limit entry, else the market; the market is the ask
    for a buy and the bid for a sell (a bracket's entry side; an OCO's own side, since it is the exit)."""
    if order.order_class is not OrderClass.OCO:
        if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and order.limit_price is not None:
            return order.limit_price
        if order.type is OrderType.STOP and order.stop_price is not None:
            return order.stop_price
    return q.paid_by(order.side)


def check_exit_sides(order: NewOrder, q: Quote) -> None:
    """Take-profit at least a cent beyond the base price in the trade's favour, stop-loss at least a cent
    beyond it against ("The stop price input has to be at least $0.01 below (for stop-loss sell, above for
    buy) than the base price"; `take_profit.limit_price` likewise on the other side)."""
    if order.order_class is OrderClass.SIMPLE:
        return
    base = base_price(order, q)
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


def _limit_of(order_type: OrderType, limit_price: Decimal | None) -> Decimal | None:
    """The price an order would trade at against another: its limit, or None for "any price" (a market
    order, a stop: once elected it is a market order)."""
    if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        return limit_price
    return None


def check_wash_trade(order: NewOrder, open_orders: Iterable[Order]) -> None:
    """Refuse a simple order that could trade against one of our own opposite-side orders resting at the
    market (docs "User Protection", Preventing Wash Trades: 403 "potential wash trade detected. use complex
    orders"). Alpaca's table rejects, e.g., a limit buy against a resting stop sell "always", and a stop
    sell against a resting limit buy "always"; "complex orders and trailing stop orders are exceptions".
    Modelled: two orders cross when either trades at any price (market, stop) or the buy limit is at or
    above the sell limit. The incoming order is exempt when it is a bracket, OTO or OCO (what "use complex
    orders" points to); a resting order counts while it is open and awake, a pending cancel included (it can
    still fill), a held stop-loss not (Alpaca holds it back). The body also names the resting order
    (`existing_order_id`, `reject_reason`), as Alpaca's does."""
    if order.order_class is not OrderClass.SIMPLE:
        return
    mine = _limit_of(order.type, order.limit_price)
    for other in open_orders:
        if other.side is order.side or not other.at_market_center:
            continue
        theirs = (
            None
            if other.stop_triggered and other.type is OrderType.STOP
            else _limit_of(other.type, other.limit_price)
        )
        if mine is None or theirs is None:
            crosses = True
        elif order.side is Side.BUY:
            crosses = mine >= theirs
        else:
            crosses = mine <= theirs
        if crosses:
            raise forbidden(
                "potential wash trade detected. use complex orders",
                {
                    "existing_order_id": other.id,
                    "reject_reason": f"opposite side {other.type.value} order exists",
                },
            )


def held_for_orders(
    position_qty: Decimal, open_orders: Iterable[Order], group_of: Callable[[Order], str]
) -> tuple[Decimal, list[str]]:
    """Shares already promised to open orders that would reduce the position, and those orders' ids.

    Every open closing order holds (a bracket's legs once their entry filled, a pending cancel until it is
    done: Alpaca-API#111). An exit pair or an order with its pending replacement (`group_of` gives one key)
    holds the larger of the two once, since only one of them can fill.
    """
    if position_qty == 0:
        return ZERO, []
    closing_side = Side.SELL if position_qty > 0 else Side.BUY
    per_group: dict[str, Decimal] = {}
    related: list[str] = []
    for order in open_orders:
        if order.side is not closing_side or order.awaiting_parent:
            continue
        key = group_of(order)
        per_group[key] = max(per_group.get(key, ZERO), order.remaining_qty)
        related.append(order.id)
    return sum(per_group.values(), ZERO), related


def check_held_qty(
    symbol: str,
    side: Side,
    qty: Decimal,
    position_qty: Decimal,
    open_orders: Iterable[Order],
    group_of: Callable[[Order], str],
) -> None:
    """An order against a position may use only the shares not already held for other closing orders, and
    may not flip the position in one go: 403 "insufficient qty available for order (requested: X,
    available: Y)" with the body Alpaca sends (symbol, existing_qty, held_for_orders, available,
    related_orders)."""
    reduces = (position_qty > 0 and side is Side.SELL) or (position_qty < 0 and side is Side.BUY)
    if not reduces:
        return
    held, related = held_for_orders(position_qty, open_orders, group_of)
    available = abs(position_qty) - held
    if qty > available:
        raise forbidden(
            f"insufficient qty available for order (requested: {num(qty)}, available: {num(available)})",
            {
                "symbol": symbol,
                "existing_qty": num(abs(position_qty)),
                "held_for_orders": num(held),
                "available": num(available),
                "related_orders": related,
            },
        )


def opening_value(side: Side, qty: Decimal, q: Quote, limit_price: Decimal | None) -> Decimal:
    """What an opening order costs in buying power (docs "Orders at Alpaca", Buying Power): a buy at its
    limit or the ask; a short at the larger of its limit and 3% above the ask."""
    if side is Side.BUY:
        return qty * (limit_price if limit_price is not None else q.ask)
    return qty * max(limit_price or ZERO, q.ask * SHORT_PRICE_BUFFER)


def is_opening(side: Side, position_qty: Decimal) -> bool:
    return position_qty == 0 or (position_qty > 0) == (side is Side.BUY)


def reserved_buying_power(
    open_orders: Iterable[Order], position_qty_of: dict[str, Decimal], quote_of: Callable[[str], Quote]
) -> Decimal:
    """Buying power already taken by open opening orders (exit legs open nothing): "your available buying
    power is reduced by your existing open buy long and sell short orders"."""
    total = ZERO
    for order in open_orders:
        if order.group_role in (GroupRole.TAKE_PROFIT, GroupRole.STOP_LOSS):
            continue
        if is_opening(order.side, position_qty_of.get(order.symbol, ZERO)):
            total += opening_value(order.side, order.remaining_qty, quote_of(order.symbol), order.limit_price)
    return total


def check_buying_power(value: Decimal, buying_power: Decimal, reserved: Decimal) -> None:
    available = buying_power - reserved
    if value > available:
        raise forbidden(
            "insufficient buying power",
            {"buying_power": num(max(available, ZERO)), "cost_basis": num(value.quantize(TICK))},
        )


def check_short_allowed(symbol: str, asset: AssetTerms, shorting_enabled: bool, fractional: bool) -> None:
    """An order that opens or adds to a short. Docs "Margin and Short Selling": "Alpaca currently only
    supports opening short positions in easy to borrow ("ETB") securities"; docs "Fractional Trading":
    "We do not support short sales in fractional orders". The account-level refusal is Alpaca's wording
    (alpaca-trade-api-js#57); the asset-level ones are ours."""
    if not shorting_enabled:
        raise forbidden("account is not allowed to short")
    if fractional:
        raise forbidden("fractional orders cannot be sold short")
    if not asset.shortable:
        raise forbidden(f'asset "{symbol}" is not shortable')
    if not asset.easy_to_borrow:
        raise forbidden(
            f'asset "{symbol}" is hard to borrow: short sales can only open in easy to borrow assets'
        )


def check_fractionable(symbol: str, asset: AssetTerms, fractional: bool) -> None:
    """Docs "Fractional Trading": "If you request a fractional share order for a stock that is not yet
    fractionable, the order will get rejected with an error message that reads `requested asset is not
    fractionable`"."""
    if fractional and not asset.fractionable:
        raise unprocessable("requested asset is not fractionable", {"symbol": symbol})

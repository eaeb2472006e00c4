"""EntryFilled / ExitFilled from what we recorded (the orders table) and what the broker says (the order), and
the exit's place in the symbol's history (cooldown, losing streak). Published where the fill is learnt: by
the executor when the answer is already `filled`, else by the reconciler's sweep. Both carry the order's
own fill time, so a repeat is the same event (the notifier drops it by `event_key`) and the same exit
(`record_exit` keeps one per time)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from tradepipe.app.realized_risk import fill_risk
from tradepipe.contracts.events import EntryFilled, ExitFilled, ExitReason
from tradepipe.contracts.items import OrderItem
from tradepipe.domain.model import Side
from tradepipe.ports.broker import BrokerOrder
from tradepipe.ports.risk_state import SymbolHistoryStore


def entry_filled(item: OrderItem, order: BrokerOrder, now: datetime) -> EntryFilled | None:
    if order.filled_avg_price is None or order.filled_qty <= 0:
        return None
    return EntryFilled(
        at=order.filled_at or now,
        mode=item.mode,
        signal_id=item.signal_id,
        ticker=item.symbol,
        strategy=item.strategy,
        side=item.side,
        qty=order.filled_qty,
        price=order.filled_avg_price,
        stop_loss=item.stop_loss,
        take_profit=item.take_profit,
        client_order_id=item.client_order_id,
        **_risk_fields(item, order),
    )


def _risk_fields(item: OrderItem, order: BrokerOrder) -> dict[str, object]:
    risk = fill_risk(item, order.filled_qty, order.filled_avg_price)
    if risk is None:
        return {}
    return {
        "risk_budget": risk.budget,
        "realized_risk": risk.realized,
        "over_budget": risk.breach is not None,
    }


def exit_pnl(item: OrderItem, order: BrokerOrder) -> Decimal | None:
    """A close's realized P&L: (exit - entry) x qty for a long (the close sells), the opposite for a short."""
    if item.entry_price is None or order.filled_avg_price is None:
        return None
    sign = Decimal(1) if item.side is Side.SELL else Decimal(-1)
    return (order.filled_avg_price - item.entry_price) * order.filled_qty * sign


def exit_filled(
    item: OrderItem, order: BrokerOrder, now: datetime, reason: ExitReason = ExitReason.SIGNAL
) -> ExitFilled | None:
    pnl = exit_pnl(item, order)
    if pnl is None or item.entry_price is None or order.filled_avg_price is None:
        return None
    risk = None if item.stop_loss is None else abs(item.entry_price - item.stop_loss) * order.filled_qty
    return ExitFilled(
        at=order.filled_at or now,
        mode=item.mode,
        signal_id=item.signal_id,
        ticker=item.symbol,
        strategy=item.strategy,
        position="long" if item.side is Side.SELL else "short",
        qty=order.filled_qty,
        entry_price=item.entry_price,
        exit_price=order.filled_avg_price,
        pnl=pnl,
        r_multiple=None if not risk else (pnl / risk).quantize(Decimal("0.01")),
        exit_reason=reason,
        client_order_id=item.client_order_id,
    )


def record_exit(
    history: SymbolHistoryStore | None,
    item: OrderItem,
    order: BrokerOrder,
    now: datetime,
    stop_out: bool = False,
) -> None:
    if history is None or order.filled_qty <= 0:
        return
    history.record_exit(
        item.mode.value,
        item.symbol,
        item.strategy,
        order.filled_at or now,
        stop_out=stop_out,
        pnl=exit_pnl(item, order),
    )

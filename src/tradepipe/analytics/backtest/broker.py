"""A simulated broker for daily bars: one account, positions netted per symbol as Alpaca nets them.

Fill rules (what a daily bar can tell; each choice leans against the strategy when the bar cannot say):
- Market orders (entries and closes) placed on a bar's close fill at the symbol's next bar's open, moved
  against the order by `slippage_bps` (a buy pays open x (1 + s), a sell gets open x (1 - s)).
- A collared entry (a marketable limit, issue 19) follows the executor's rule at that open, the slipped
  open standing for the quote: past its limit it is refused QUOTE_BEYOND_COLLAR (the executor would not
  send it; live a limit the market left is cancelled at its timeout); else it is re-sized against it
  (`domain/collar.py::size_against_quote`) and fills there.
- A bracket's legs (stop and take-profit, one pair per filled entry, OCO) are live from the entry's fill,
  so they can trigger in the entry's own bar. Which leg fills and at what print follows the daily-bar rules
  the paper broker uses too (`tradepipe.domain.daily_bar_fills`): a gap through the stop fills it at the
  open; a target the open crosses fills at the open; otherwise the stop wins when the range reaches both,
  since a bar cannot say which came first. A stop then pays slippage (it is a market order once
  triggered); a take-profit fills at its limit or better, without slippage.
- Fees per execution: `commission_per_share` x qty + `commission_bps` of the notional. Alpaca charges no
  commission on US stocks, hence both default to 0; regulatory fees on sales are not modelled.
- Closes and reversals follow the executor: a close (or the first half of a reverse) cancels the symbol's
  open legs and closes the whole position with one market order.
- Times: open fills are stamped 09:30 New York, leg fills 12:00 (the intrabar time is unknown), alerts
  16:00. Fill prices are rounded to $0.0001.

Pure state and arithmetic: nothing here reads a clock, a file or the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from tradepipe.analytics.fills import ZERO, Fill
from tradepipe.domain.collar import size_against_quote
from tradepipe.domain.daily_bar_fills import Bar, ExitLeg, exit_pair_fill
from tradepipe.domain.model import Rejected, RejectReason, Side

_NEW_YORK = ZoneInfo("America/New_York")
_OPEN, _MIDDAY = time(9, 30), time(12, 0)
PRICE_STEP = Decimal("0.0001")
_BPS = Decimal(10_000)


def _stamp(day: date, at: time) -> datetime:
    return datetime.combine(day, at, _NEW_YORK).astimezone(UTC)


@dataclass(frozen=True)
class Costs:
    slippage_bps: Decimal = Decimal(5)
    commission_per_share: Decimal = ZERO
    commission_bps: Decimal = ZERO

    def fee(self, qty: Decimal, price: Decimal) -> Decimal:
        return (self.commission_per_share * qty + self.commission_bps * qty * price / _BPS).quantize(
            Decimal("0.000001"), rounding=ROUND_HALF_EVEN
        )

    def slipped(self, price: Decimal, side: Side) -> Decimal:
        factor = 1 + self.slippage_bps / _BPS if side is Side.BUY else 1 - self.slippage_bps / _BPS
        return (price * factor).quantize(PRICE_STEP, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class OrderRequest:
    """What the executor would send: an entry (with its bracket) or a close of the symbol's position."""

    order_id: str  # the live client_order_id: tp-<signal_id>-open / -close
    signal_id: str
    strategy: str
    mode: str
    ticker: str
    purpose: str  # open | close
    side: Side | None = None  # entries only; a close takes the side that flattens
    qty: Decimal | None = None  # entries only
    stop: Decimal | None = None
    target: Decimal | None = None
    planned_entry: Decimal | None = None
    placed_at: datetime | None = None
    # A collared entry (issue 19): its marketable limit, the risk budget and the tolerance over it.
    limit: Decimal | None = None
    risk_budget: Decimal | None = None
    risk_tolerance_pct: Decimal | None = None


@dataclass(frozen=True)
class Refusal:
    """An entry the executor would not send at the open: the quote gapped past its collar."""

    order: OrderRequest
    reason: str
    detail: str


def _collared_qty(order: OrderRequest, quote: Decimal) -> Decimal | Rejected:
    """The executor's rule at the open (app/collar_entry.py): the open (slipped: the price a buy pays) is the
    quote; past the limit the entry is refused, else re-sized so the risk is within the budget at the quote
    and within budget x (1 + tolerance) at the limit. Not collared: the quantity as sized."""
    qty, side = order.qty or ZERO, order.side or Side.BUY
    if order.limit is None:
        return qty
    if order.stop is None or order.risk_budget is None:
        beyond = quote > order.limit if side is Side.BUY else quote < order.limit
        if beyond:
            return Rejected(RejectReason.QUOTE_BEYOND_COLLAR, f"open {quote} is past the limit {order.limit}")
        return qty
    tolerance = (order.risk_tolerance_pct or ZERO) / 100
    sized = size_against_quote(side, qty, order.stop, order.risk_budget, quote, order.limit, tolerance)
    return sized if isinstance(sized, Rejected) else sized.qty


@dataclass
class _Bracket:
    parent: OrderRequest
    qty: Decimal  # shares the legs still cover
    long: bool


@dataclass
class Position:
    qty: Decimal = ZERO  # signed
    avg_entry: Decimal = ZERO


@dataclass(frozen=True)
class ExitEvent:
    """A filled close or stop leg, for the risk history (cooldowns, losing streak), as live records it."""

    ticker: str
    strategy: str
    at: datetime
    stop_out: bool
    pnl: Decimal


@dataclass
class SimulatedBroker:
    cash: Decimal
    costs: Costs = field(default_factory=Costs)
    positions: dict[str, Position] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    exits: list[ExitEvent] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    _pending: dict[str, list[OrderRequest]] = field(default_factory=dict)
    _brackets: dict[str, list[_Bracket]] = field(default_factory=dict)
    _marks: dict[str, Decimal] = field(default_factory=dict)

    # --- what the risk context reads ------------------------------------------------------------------

    def holding(self, ticker: str) -> Position | None:
        position = self.positions.get(ticker)
        return position if position is not None and position.qty != 0 else None

    def mark(self, ticker: str, close: Decimal) -> None:
        self._marks[ticker] = close

    def market_value(self, ticker: str) -> Decimal:
        position = self.positions.get(ticker)
        if position is None or position.qty == 0:
            return ZERO
        return position.qty * self._marks.get(ticker, position.avg_entry)

    def equity(self) -> Decimal:
        return self.cash + sum((self.market_value(t) for t in self.positions), ZERO)

    def gross_exposure(self) -> Decimal:
        return sum((abs(self.market_value(t)) for t in self.positions), ZERO)

    def invested(self) -> bool:
        return any(p.qty != 0 for p in self.positions.values())

    def has_pending(self, ticker: str) -> bool:
        return bool(self._pending.get(ticker))

    # --- orders -----------------------------------------------------------------------------------------

    def place(self, order: OrderRequest) -> None:
        """Queue a market order for the symbol's next open."""
        self._pending.setdefault(order.ticker, []).append(order)

    def cancel(self, ticker: str) -> None:
        """Cancel the symbol's open orders: what waits for the open and the bracket legs."""
        self._pending.pop(ticker, None)
        self._brackets.pop(ticker, None)

    def on_bar(self, ticker: str, day: date, o: Decimal, h: Decimal, lo: Decimal) -> None:
        """The symbol's bar: fill what waits for the open, then let the legs act on the bar's range."""
        for order in self._pending.pop(ticker, []):
            if order.purpose == "close":
                self._close_all(order, day, o)
            else:
                self._open(order, day, o)
        self._run_legs(ticker, day, o, h, lo)

    def _open(self, order: OrderRequest, day: date, o: Decimal) -> None:
        if order.side is None or order.qty is None:
            raise ValueError(f"entry {order.order_id} needs a side and a qty")
        held = self.positions.get(order.ticker)
        if held is not None and held.qty != 0 and (held.qty > 0) != (order.side is Side.BUY):
            # A reverse: the executor closes first (cancelling the legs), then opens.
            self._close_all(order, day, o)
        price = self.costs.slipped(o, order.side)
        qty = _collared_qty(order, price)
        if isinstance(qty, Rejected):
            self.refusals.append(Refusal(order, qty.reason.value, qty.detail))
            return
        self._execute(order, order.side, qty, price, _stamp(day, _OPEN), order.order_id, opening=True)
        if order.stop is not None or order.target is not None:
            self._brackets.setdefault(order.ticker, []).append(_Bracket(order, qty, order.side is Side.BUY))

    def _close_all(self, order: OrderRequest, day: date, o: Decimal) -> None:
        held = self.positions.get(order.ticker)
        self._brackets.pop(order.ticker, None)
        if held is None or held.qty == 0:
            return
        side = Side.SELL if held.qty > 0 else Side.BUY
        qty = abs(held.qty)
        at = _stamp(day, _OPEN)
        price = self.costs.slipped(o, side)
        pnl = (price - held.avg_entry) * held.qty  # the executor's realized P&L: signed qty, before fees
        close_id = order.order_id if order.purpose == "close" else order.order_id.replace("-open", "-close")
        self._execute(order, side, qty, price, at, close_id, opening=False)
        self.exits.append(ExitEvent(order.ticker, order.strategy, at, stop_out=False, pnl=pnl))

    def _run_legs(self, ticker: str, day: date, o: Decimal, h: Decimal, lo: Decimal) -> None:
        brackets = self._brackets.get(ticker)
        if not brackets:
            return
        for bracket in list(brackets):
            side = Side.SELL if bracket.long else Side.BUY
            hit = exit_pair_fill(side, bracket.parent.stop, bracket.parent.target, Bar(o, h, lo))
            if hit is None:
                continue
            leg, level = hit
            price = self.costs.slipped(level, side) if leg is ExitLeg.STOP else level
            held = self.positions[ticker]
            qty = min(bracket.qty, abs(held.qty))
            brackets.remove(bracket)
            if qty <= 0:
                continue
            at = _stamp(day, _MIDDAY)
            pnl = (price - held.avg_entry) * qty * (1 if held.qty > 0 else -1)
            self._execute(
                bracket.parent, side, qty, price, at, f"{bracket.parent.order_id}:{leg}", opening=False
            )
            # As live (the reconciler): either filled leg is an exit with its P&L (a win resets the losing
            # streak, a loss extends it); only the stop leg is a stop-out (cooldown).
            self.exits.append(
                ExitEvent(ticker, bracket.parent.strategy, at, stop_out=leg is ExitLeg.STOP, pnl=pnl)
            )

    def _execute(
        self,
        order: OrderRequest,
        side: Side,
        qty: Decimal,
        price: Decimal,
        at: datetime,
        order_id: str,
        opening: bool,
    ) -> None:
        fee = self.costs.fee(qty, price)
        signed = qty if side is Side.BUY else -qty
        self.cash -= signed * price + fee
        held = self.positions.setdefault(order.ticker, Position())
        new_qty = held.qty + signed
        if held.qty == 0 or (held.qty > 0) == (signed > 0):
            held.avg_entry = (held.avg_entry * abs(held.qty) + price * qty) / abs(new_qty)
        elif new_qty != 0 and (new_qty > 0) != (held.qty > 0):
            held.avg_entry = price  # through zero: what is left was opened at this price
        held.qty = new_qty
        if new_qty == 0:
            held.avg_entry = ZERO
        self.fills.append(
            Fill(
                at=at,
                mode=order.mode,
                strategy=order.strategy,
                ticker=order.ticker,
                side=side,
                qty=qty,
                price=price,
                fee=fee,
                order_id=order_id,
                execution_id=f"{order_id}#{len(self.fills)}",
                signal_id=order.signal_id,
                stop=order.stop if opening else None,
                target=order.target if opening else None,
                planned_entry=order.planned_entry if opening else None,
            )
        )

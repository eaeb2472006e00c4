"""Trades from fills: FIFO lot matching per book (mode, strategy, ticker). Pure, Decimal throughout.

Rules
- Fills are taken in time order (ties keep their input order). A fill in the book's direction (or into an
  empty book) opens a lot; a fill against it closes the oldest lots first (FIFO), and what is left of the
  fill after the book is flat opens a lot the other way: a reversal through zero is a close and an open.
- Fees are allocated by quantity: a lot carries the entry fee it has not yet charged, a closing fill
  charges its fee to the lots it closes in proportion, and the last share takes the remainder, so the fees
  of all trades plus those still on open lots add up exactly to the fees paid.
- A trade is what one entry order opened and one exit order closed: the partial fills of one order are one
  trade, while a position scaled out by two exit orders is two trades (two decisions).
- R multiple: net P&L over the trade's initial risk, `|planned entry - stop| x qty`, where the planned entry
  is the alert's price the risk stage sized from (the fill price when the alert carried none) and the stop
  is the entry signal's. This is the 1R the trader chose; a gap past the stop shows as a loss beyond -1R.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from tradepipe.analytics.fills import ZERO, Fill
from tradepipe.domain.model import Side


@dataclass(frozen=True)
class Trade:
    """A closed round trip. `direction` BUY is a long trade, SELL a short one."""

    mode: str
    strategy: str
    ticker: str
    direction: Side
    qty: Decimal
    entry_at: datetime  # first entry fill matched into this trade
    exit_at: datetime  # last exit fill matched into this trade
    entry_price: Decimal  # quantity-weighted average of the matched entry fills
    exit_price: Decimal
    fees: Decimal
    gross_pnl: Decimal  # summed piece by piece, exactly (the average prices above are rounded)
    entry_order_id: str
    exit_order_id: str
    entry_signal_id: str | None = None
    exit_signal_id: str | None = None
    stop: Decimal | None = None
    target: Decimal | None = None
    planned_entry: Decimal | None = None

    @property
    def trade_id(self) -> str:
        return f"{self.mode}|{self.strategy}|{self.ticker}|{self.entry_order_id}|{self.exit_order_id}"

    @property
    def pnl(self) -> Decimal:
        """Net of every fee on the matched quantity, entry and exit."""
        return self.gross_pnl - self.fees

    @property
    def return_pct(self) -> Decimal:
        """Net P&L over the capital the entry committed (entry price x qty), as a fraction."""
        return self.pnl / (self.entry_price * self.qty)

    @property
    def initial_risk(self) -> Decimal | None:
        if self.stop is None:
            return None
        per_share = abs((self.planned_entry or self.entry_price) - self.stop)
        return per_share * self.qty if per_share > 0 else None

    @property
    def r_multiple(self) -> Decimal | None:
        risk = self.initial_risk
        return None if risk is None else self.pnl / risk


@dataclass
class Lot:
    """What is left of one opening fill."""

    fill: Fill
    qty: Decimal
    fee_left: Decimal  # the part of the fill's fee not yet charged to a trade

    @property
    def direction(self) -> Side:
        return self.fill.side

    def unrealized(self, mark: Decimal) -> Decimal:
        """Mark-to-market P&L of the lot, net of the entry fee it still carries."""
        sign = 1 if self.direction is Side.BUY else -1
        return (mark - self.fill.price) * self.qty * sign - self.fee_left


@dataclass
class _Chunk:
    """One piece of a lot closed by one fill; pieces of the same entry and exit order form one trade."""

    entry: Fill
    exit: Fill
    qty: Decimal
    fees: Decimal


@dataclass(frozen=True)
class TradeBook:
    trades: list[Trade]
    open_lots: dict[tuple[str, str, str], list[Lot]] = field(default_factory=dict)

    def position(self, book: tuple[str, str, str]) -> Decimal:
        """Signed quantity held in a book (long positive)."""
        return sum(
            (lot.qty if lot.direction is Side.BUY else -lot.qty for lot in self.open_lots.get(book, [])), ZERO
        )

    def unrealized(self, marks: Mapping[str, Decimal]) -> Decimal:
        """Open lots at `marks` (ticker -> price); a ticker without a mark raises KeyError."""
        return sum(
            (lot.unrealized(marks[book[2]]) for book, lots in self.open_lots.items() for lot in lots),
            ZERO,
        )

    @property
    def realized(self) -> Decimal:
        return sum((t.pnl for t in self.trades), ZERO)


FEE_STEP = Decimal("0.000001")


def _take_fee(fee_left: Decimal, qty_left: Decimal, take: Decimal) -> Decimal:
    """The fee share of `take` out of `qty_left`, on a fixed step so pieces add up; the last piece takes
    the exact remainder (totals equal the fees paid)."""
    return fee_left if take == qty_left else (fee_left * take / qty_left).quantize(FEE_STEP)


def match_trades(fills: Iterable[Fill]) -> TradeBook:
    """FIFO-match `fills` into closed trades and open lots, per (mode, strategy, ticker)."""
    ordered = sorted(enumerate(fills), key=lambda pair: (pair[1].at, pair[0]))
    books: dict[tuple[str, str, str], deque[Lot]] = {}
    chunks: list[_Chunk] = []
    for _, fill in ordered:
        lots = books.setdefault(fill.book, deque())
        qty_left, fee_left = fill.qty, fill.fee
        while qty_left > 0 and lots and lots[0].direction is not fill.side:
            lot = lots[0]
            take = min(lot.qty, qty_left)
            entry_fee = _take_fee(lot.fee_left, lot.qty, take)
            exit_fee = _take_fee(fee_left, qty_left, take)
            chunks.append(_Chunk(lot.fill, fill, take, entry_fee + exit_fee))
            lot.qty -= take
            lot.fee_left -= entry_fee
            qty_left -= take
            fee_left -= exit_fee
            if lot.qty == 0:
                lots.popleft()
        if qty_left > 0:
            lots.append(Lot(fill, qty_left, fee_left))
    return TradeBook(_merge(chunks), {book: list(lots) for book, lots in books.items() if lots})


def _order_key(fill: Fill) -> str:
    return fill.order_id or fill.execution_id or f"{fill.at.isoformat()}#{fill.side}#{fill.price}"


def _merge(chunks: list[_Chunk]) -> list[Trade]:
    """Chunks with the same book, entry order and exit order -> one trade, in the order trades closed."""
    groups: dict[tuple[tuple[str, str, str], str, str], list[_Chunk]] = {}
    for chunk in chunks:
        groups.setdefault((chunk.entry.book, _order_key(chunk.entry), _order_key(chunk.exit)), []).append(
            chunk
        )
    trades = []
    for (book, entry_order, exit_order), parts in groups.items():
        qty = sum((p.qty for p in parts), ZERO)
        first = min(parts, key=lambda p: p.entry.at).entry
        opener = parts[0].entry
        trades.append(
            Trade(
                mode=book[0],
                strategy=book[1],
                ticker=book[2],
                direction=opener.side,
                qty=qty,
                entry_at=first.at,
                exit_at=max(p.exit.at for p in parts),
                entry_price=sum((p.entry.price * p.qty for p in parts), ZERO) / qty,
                exit_price=sum((p.exit.price * p.qty for p in parts), ZERO) / qty,
                fees=sum((p.fees for p in parts), ZERO),
                gross_pnl=sum(
                    (
                        (p.exit.price - p.entry.price) * p.qty * (1 if opener.side is Side.BUY else -1)
                        for p in parts
                    ),
                    ZERO,
                ),
                entry_order_id=entry_order,
                exit_order_id=exit_order,
                entry_signal_id=opener.signal_id,
                exit_signal_id=parts[-1].exit.signal_id,
                stop=opener.stop,
                target=opener.target,
                planned_entry=opener.planned_entry,
            )
        )
    trades.sort(key=lambda t: (t.exit_at, t.entry_at))
    return trades

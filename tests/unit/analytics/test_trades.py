"""FIFO lot matching: partial fills, shorts, reversals through zero, fees, books kept apart, R multiples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tradepipe.analytics.fills import Fill
from tradepipe.analytics.trades import match_trades
from tradepipe.domain.model import Side

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
D = Decimal


def fill(
    minute: int,
    side: Side,
    qty: str,
    price: str,
    *,
    order: str,
    fee: str = "0",
    strategy: str = "sma_cross",
    ticker: str = "AAPL",
    mode: str = "paper",
    stop: str | None = None,
    planned: str | None = None,
) -> Fill:
    return Fill(
        at=T0 + timedelta(minutes=minute),
        mode=mode,
        strategy=strategy,
        ticker=ticker,
        side=side,
        qty=D(qty),
        price=D(price),
        fee=D(fee),
        order_id=order,
        execution_id=f"{order}#{minute}",
        stop=None if stop is None else D(stop),
        planned_entry=None if planned is None else D(planned),
    )


def test_long_round_trip_when_entry_filled_in_parts_then_one_trade_at_weighted_prices() -> None:
    fills = [
        fill(0, Side.BUY, "30", "100", order="open-1"),
        fill(1, Side.BUY, "70", "101", order="open-1"),
        fill(9, Side.SELL, "100", "105", order="close-1"),
    ]

    book = match_trades(fills)

    (trade,) = book.trades
    assert trade.qty == D(100)
    assert trade.entry_price == D("100.7")  # (30 x 100 + 70 x 101) / 100
    assert trade.exit_price == D(105)
    assert trade.pnl == D("430")
    assert trade.entry_at == T0
    assert trade.exit_at == T0 + timedelta(minutes=9)
    assert book.open_lots == {}


def test_partial_exit_then_the_rest_when_two_exit_orders_then_two_trades_fifo() -> None:
    fills = [
        fill(0, Side.BUY, "10", "50", order="a"),
        fill(1, Side.BUY, "10", "60", order="b"),
        fill(2, Side.SELL, "15", "70", order="x"),
        fill(3, Side.SELL, "5", "40", order="y"),
    ]

    trades = match_trades(fills).trades

    # x closes all of a (oldest first) and 5 of b; y closes the rest of b.
    assert [(t.entry_order_id, t.exit_order_id, t.qty) for t in trades] == [
        ("a", "x", D(10)),
        ("b", "x", D(5)),
        ("b", "y", D(5)),
    ]
    assert [t.pnl for t in trades] == [D(200), D(50), D(-100)]


def test_short_when_covered_lower_then_profit_and_direction_sell() -> None:
    fills = [fill(0, Side.SELL, "20", "80", order="s"), fill(5, Side.BUY, "20", "75.5", order="c")]

    (trade,) = match_trades(fills).trades

    assert trade.direction is Side.SELL
    assert trade.pnl == D(90)  # (80 - 75.5) x 20
    assert trade.return_pct == D(90) / D(1600)


def test_reversal_through_zero_when_sell_exceeds_long_then_close_and_open_short() -> None:
    fills = [
        fill(0, Side.BUY, "10", "100", order="long", fee="1"),
        fill(1, Side.SELL, "25", "110", order="flip", fee="2.5"),
        fill(2, Side.BUY, "15", "90", order="cover", fee="1.5"),
    ]

    book = match_trades(fills)

    long_trade, short_trade = book.trades
    assert (long_trade.direction, long_trade.qty) == (Side.BUY, D(10))
    # The flip's fee splits by quantity: 10/25 to the close, 15/25 to the short it opens.
    assert long_trade.fees == D(1) + D(1)
    assert long_trade.pnl == D(100) - D(2)
    assert (short_trade.direction, short_trade.qty, short_trade.entry_price) == (Side.SELL, D(15), D(110))
    assert short_trade.fees == D("1.5") + D("1.5")
    assert short_trade.pnl == D(300) - D(3)
    assert book.open_lots == {}


def test_fees_when_split_across_lots_then_sum_to_what_was_paid_exactly() -> None:
    fills = [
        fill(0, Side.BUY, "3", "10", order="a", fee="1"),
        fill(1, Side.BUY, "3", "10", order="b", fee="1"),
        fill(2, Side.SELL, "4", "11", order="x", fee="1"),
        fill(3, Side.SELL, "1", "11", order="y", fee="1"),
    ]

    book = match_trades(fills)

    open_fees = sum(lot.fee_left for lots in book.open_lots.values() for lot in lots)
    assert sum(t.fees for t in book.trades) + open_fees == D(4)
    assert book.position(("paper", "sma_cross", "AAPL")) == D(1)


def test_two_strategies_on_one_ticker_when_interleaved_then_matched_in_their_own_books() -> None:
    fills = [
        fill(0, Side.BUY, "10", "100", order="a-open", strategy="alpha"),
        fill(1, Side.SELL, "5", "101", order="b-open", strategy="beta"),
        fill(2, Side.SELL, "10", "103", order="a-close", strategy="alpha"),
        fill(3, Side.BUY, "5", "99", order="b-close", strategy="beta"),
    ]

    trades = match_trades(fills).trades

    assert {(t.strategy, t.direction, t.pnl) for t in trades} == {
        ("alpha", Side.BUY, D(30)),
        ("beta", Side.SELL, D(10)),
    }


def test_paper_and_live_when_same_strategy_and_ticker_then_never_matched_together() -> None:
    fills = [
        fill(0, Side.BUY, "10", "100", order="p", mode="paper"),
        fill(1, Side.SELL, "10", "110", order="l", mode="live"),
    ]

    book = match_trades(fills)

    assert book.trades == []
    assert book.position(("paper", "sma_cross", "AAPL")) == D(10)
    assert book.position(("live", "sma_cross", "AAPL")) == D(-10)


def test_unrealized_when_lot_open_then_marked_net_of_its_entry_fee() -> None:
    book = match_trades([fill(0, Side.BUY, "10", "100", order="a", fee="2")])

    assert book.unrealized({"AAPL": D(103)}) == D(28)
    assert book.realized == D(0)


def test_fills_out_of_order_when_given_then_matched_by_time() -> None:
    later_exit = fill(5, Side.SELL, "10", "120", order="x")
    entry = fill(0, Side.BUY, "10", "100", order="a")

    (trade,) = match_trades([later_exit, entry]).trades

    assert trade.direction is Side.BUY
    assert trade.pnl == D(200)


@pytest.mark.parametrize(
    ("planned", "stop", "exit_price", "expected_r"),
    [
        pytest.param("100", "98", "104", D(2), id="target-2R"),
        pytest.param("100", "98", "98", D(-1), id="stopped-at-1R"),
        pytest.param("100", "98", "95", D("-2.5"), id="gap-through-stop-beyond-1R"),
        pytest.param(None, "98", "104", D(2), id="no-alert-price-measured-from-fill"),
    ],
)
def test_r_multiple_when_stop_known_then_pnl_over_planned_risk(
    planned: str | None, stop: str, exit_price: str, expected_r: Decimal
) -> None:
    fills = [
        fill(0, Side.BUY, "50", "100", order="a", stop=stop, planned=planned),
        fill(1, Side.SELL, "50", exit_price, order="x"),
    ]

    (trade,) = match_trades(fills).trades

    assert trade.initial_risk == D(2) * 50
    assert trade.r_multiple == expected_r


def test_r_multiple_when_no_stop_then_none() -> None:
    fills = [fill(0, Side.BUY, "1", "100", order="a"), fill(1, Side.SELL, "1", "101", order="x")]

    (trade,) = match_trades(fills).trades

    assert trade.r_multiple is None


def test_fill_when_quantity_not_positive_then_refused() -> None:
    with pytest.raises(ValueError, match="qty"):
        fill(0, Side.BUY, "0", "100", order="a")

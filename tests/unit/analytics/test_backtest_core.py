"""The backtest's pieces: the Pine port sends the shipped template's bytes, and the simulated broker fills
by its documented rule."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from tradepipe.analytics.backtest import pine
from tradepipe.analytics.backtest.bars import BarSeries, bundled_bars
from tradepipe.analytics.backtest.broker import Costs, OrderRequest, SimulatedBroker
from tradepipe.analytics.backtest.strategy import SmaCross, crossover
from tradepipe.domain.model import Action, Side, Signal, SizingMode
from tradepipe.domain.parsing import decode_body, parse_alert, split_secret

ROOT = Path(__file__).resolve().parents[3]
BLOCK = re.compile(r"^// tradepipe:message-begin (\S+)\n(.*?)^// tradepipe:message-end$", re.M | re.S)
D = Decimal


def pine_templates(path: Path) -> dict[str, str]:
    """The Pine string literals between the markers, concatenated as Pine does."""
    return {name: "".join(re.findall(r"'([^']*)'", body)) for name, body in BLOCK.findall(path.read_text())}


@pytest.mark.parametrize("version", ["v5", "v6"])
def test_port_templates_when_compared_with_the_pine_files_then_identical(version: str) -> None:
    shipped = pine_templates(ROOT / "tradingview" / f"strategy_{version}_sma_cross.pine")

    assert shipped["strategy_entry"] == pine.ENTRY_TEMPLATE
    assert shipped["strategy_exit"] == pine.EXIT_TEMPLATE


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("33", "33"),
        ("150.25", "150.25"),
        ("150.2500", "150.25"),
        ("0.123456789", "0.12345679"),
        ("100.0", "100"),
    ],
)
def test_num_when_formatting_then_as_pine_tostring_0_hashes(value: str, text: str) -> None:
    assert pine.num(D(value)) == text


@pytest.fixture(scope="module")
def aapl() -> BarSeries:
    return bundled_bars("AAPL", date(2005, 1, 1), date(2008, 12, 31))


def parsed(body: bytes) -> Signal:
    decoded, _ = decode_body(body)
    _, fields = split_secret(decoded)
    signal = parse_alert(fields)
    assert isinstance(signal, Signal), signal
    return signal


def test_entry_alert_when_parsed_then_risk_sized_long_with_the_scripts_stop_and_target(
    aapl: BarSeries,
) -> None:
    strategy = SmaCross()
    entry = next(a for a in strategy.alerts(aapl) if a.kind == "entry")

    signal = parsed(entry.body)

    close = D(f"{aapl.close[entry.bar_index]:.4f}")
    stop, target, qty = strategy.levels(close)
    assert (signal.action, signal.side, signal.ticker) == (Action.ENTER, Side.BUY, "AAPL")
    assert (signal.sizing_mode, signal.sizing_value) == (SizingMode.RISK_DOLLARS, D(100))
    assert (signal.entry_price, signal.stop_loss, signal.take_profit) == (close, stop, target)
    assert signal.strategy_position == qty
    assert signal.alert_time is not None
    assert signal.alert_time.hour in (20, 21)


def test_alerts_when_replayed_then_entries_on_cross_over_exits_on_cross_under_alternating(
    aapl: BarSeries,
) -> None:
    strategy = SmaCross()
    ind = strategy.indicators(aapl)
    up, down = crossover(ind["fast"], ind["slow"]), crossover(ind["slow"], ind["fast"])

    alerts = strategy.alerts(aapl)

    assert len(alerts) > 10
    assert all(up[a.bar_index] for a in alerts if a.kind == "entry")
    assert all(down[a.bar_index] for a in alerts if a.kind == "exit")
    kinds = [a.kind for a in alerts]
    assert all(not (a == b == "exit") for a, b in zip(kinds, kinds[1:], strict=False))  # never two exits
    assert strategy.alerts(aapl) == alerts  # a pure function of the bars


def test_crossover_when_equal_then_touch_counts_as_below() -> None:
    a = np.array([1.0, 2.0, 2.0, 3.0])
    b = np.array([2.0, 2.0, 2.0, 2.0])

    assert crossover(a, b).tolist() == [False, False, False, True]


DAY = date(2024, 3, 4)


def entry(stop: str | None = "95", target: str | None = "110", qty: str = "10") -> OrderRequest:
    return OrderRequest(
        order_id="tp-s1-open",
        signal_id="s1",
        strategy="sma_cross",
        mode="paper",
        ticker="AAPL",
        purpose="open",
        side=Side.BUY,
        qty=D(qty),
        stop=None if stop is None else D(stop),
        target=None if target is None else D(target),
    )


def broker(slippage: str = "0", per_share: str = "0", bps: str = "0") -> SimulatedBroker:
    return SimulatedBroker(cash=D(10_000), costs=Costs(D(slippage), D(per_share), D(bps)))


@pytest.mark.parametrize(
    ("o", "h", "lo", "leg", "price"),
    [
        pytest.param("100", "104", "99", None, None, id="inside-no-leg"),
        pytest.param("100", "111", "99", "target", "110", id="target-at-limit"),
        pytest.param("100", "104", "94", "stop", "95", id="stop-at-stop"),
        pytest.param("100", "111", "94", "stop", "95", id="both-in-bar-stop-first"),
        pytest.param("93", "96", "92", "stop", "93", id="gap-through-stop-at-open"),
        pytest.param("112", "113", "111", "target", "112", id="gap-over-target-at-open"),
    ],
)
def test_bracket_legs_when_bar_after_entry_then_documented_rule(
    o: str, h: str, lo: str, leg: str | None, price: str | None
) -> None:
    sim = broker()
    sim.place(entry())
    sim.on_bar("AAPL", DAY, D(100), D(101), D(99.5))  # the entry fills at this open; no leg reached

    sim.on_bar("AAPL", date(2024, 3, 5), D(o), D(h), D(lo))

    exits = sim.fills[1:]
    if leg is None:
        assert exits == []
        assert sim.positions["AAPL"].qty == 10
    else:
        (fill,) = exits
        assert (fill.order_id, fill.price, fill.side) == (f"tp-s1-open:{leg}", D(str(price)), Side.SELL)
        assert sim.positions["AAPL"].qty == 0


def test_market_fill_when_slippage_and_commission_then_against_the_order_and_charged() -> None:
    sim = broker(slippage="10", per_share="0.005", bps="1")
    sim.place(entry(stop=None, target=None, qty="100"))

    sim.on_bar("AAPL", DAY, D(50), D(51), D(49))

    (fill,) = sim.fills
    assert fill.price == D("50.05")  # 50 x (1 + 10 bps)
    assert fill.fee == D("0.5") + D("0.5005")  # 100 x 0.005 + 1 bp of 5,005
    assert sim.cash == D(10_000) - D(5005) - fill.fee


def test_stop_leg_when_filled_then_recorded_as_a_stop_out_with_its_pnl() -> None:
    sim = broker()
    sim.place(entry())
    sim.on_bar("AAPL", DAY, D(100), D(100), D(94))  # entry at 100, stop hit the same bar

    (event,) = sim.exits
    assert event.stop_out
    assert event.pnl == D(-50)


def test_take_profit_leg_when_filled_then_a_winning_exit_not_a_stop_out_as_live_records_it() -> None:
    sim = broker()
    sim.place(entry())
    sim.on_bar("AAPL", DAY, D(100), D(111), D(99))

    assert sim.fills[-1].order_id.endswith(":target")
    (exit_event,) = sim.exits
    assert (exit_event.ticker, exit_event.strategy) == ("AAPL", "sma_cross")
    assert exit_event.pnl == D(100)  # (110 - 100) x 10: a win resets the losing streak
    assert not exit_event.stop_out


def test_close_when_position_held_then_legs_cancelled_and_whole_position_sold_next_open() -> None:
    sim = broker()
    sim.place(entry())
    sim.on_bar("AAPL", DAY, D(100), D(101), D(99))
    sim.place(OrderRequest("tp-s2-close", "s2", "sma_cross", "paper", "AAPL", purpose="close"))

    sim.on_bar("AAPL", date(2024, 3, 5), D(102), D(120), D(90))  # would hit both legs: they are gone

    assert [f.order_id for f in sim.fills] == ["tp-s1-open", "tp-s2-close"]
    assert sim.fills[-1].price == D(102)
    assert sim.exits[-1].pnl == D(20)
    assert not sim.exits[-1].stop_out

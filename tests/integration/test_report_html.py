"""Reports open in headless Chromium with no console errors, and their embedded Plotly figures hold every
trade: from a backtest run, and from records written to the tables (moto) through the real stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Aws
from tradepipe import composition
from tradepipe.analytics.backtest.runs import load_run
from tradepipe.analytics.equity import session_day
from tradepipe.analytics.performance import analyze
from tradepipe.analytics.records import DynamoRecords, fills_from_records
from tradepipe.analytics.report import write_records_report
from tradepipe.analytics.trades import Trade, match_trades
from tradepipe.cli import main
from tradepipe.contracts.items import OrderItem, SignalItem, StatusEntry
from tradepipe.domain.model import Action, Mode, RejectReason, Side, SignalStatus
from tradepipe.ports.broker import FillView
from tradepipe.settings import get_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Every figure's traces as the page holds them after Plotly drew them.
READ_FIGURES = """() => Object.fromEntries(Array.from(document.querySelectorAll('.js-plotly-plot')).map(
    d => [d.id, d.data.map(t => ({name: t.name ?? null, type: t.type ?? null, x: t.x ?? null, y: t.y ?? null,
                                  customdata: t.customdata ?? null}))]))"""

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def open_report(browser: Any, path: Path) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Load the file offline (every request but file:// is refused) and return its figures and errors."""
    page = browser.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort()
    )
    page.goto(path.as_uri())
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
    figures = page.evaluate(READ_FIGURES)
    page.close()
    return figures, problems


def markers(figures: dict[str, list[dict[str, Any]]], name: str) -> dict[str, tuple[str, float]]:
    """trade id -> (time, price) of every `name` marker (entries / exits) across the ticker figures."""
    out: dict[str, tuple[str, float]] = {}
    for div, traces in figures.items():
        if not div.startswith("fig-ticker-"):
            continue
        for trace in traces:
            if trace["name"] == name:
                for x, y, data in zip(trace["x"], trace["y"], trace["customdata"], strict=True):
                    out[data[0]] = (x, y)
    return out


def assert_every_trade_drawn(figures: dict[str, list[dict[str, Any]]], trades: list[Trade]) -> None:
    entries, exits = markers(figures, "entries"), markers(figures, "exits")
    assert len(trades) > 0
    assert set(entries) == set(exits) == {t.trade_id for t in trades}
    for t in trades:
        assert entries[t.trade_id][0] == t.entry_at.isoformat()
        assert entries[t.trade_id][1] == pytest.approx(float(t.entry_price))
        assert exits[t.trade_id][0] == t.exit_at.isoformat()
        assert exits[t.trade_id][1] == pytest.approx(float(t.exit_price))


def test_backtest_report_when_opened_offline_then_no_errors_and_every_trade_in_the_figures(
    browser: Any, tmp_path: Path
) -> None:
    run_dir, html = tmp_path / "run", tmp_path / "report.html"
    assert main(["backtest", "--strategy", "sma_cross", "--ticker", "AAPL,IBM", "--start", "2006-01-01",
                 "--end", "2010-12-31", "--out", str(run_dir), "--no-progress"]) == 0  # fmt: skip
    assert main(["report", "--backtest", str(run_dir), "-o", str(html), "--png", str(tmp_path / "png")]) == 0

    figures, problems = open_report(browser, html)

    assert problems == []
    run = load_run(run_dir)
    assert_every_trade_drawn(figures, match_trades(run.fills).trades)
    assert {"fig-equity", "fig-pnl", "fig-rejections", "fig-ticker-AAPL", "fig-ticker-IBM"} <= set(figures)
    candles = [t for t in figures["fig-ticker-AAPL"] if t["type"] == "candlestick"]
    assert len(candles) == 1
    assert len(candles[0]["x"]) == len(run.bars["AAPL"])
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == ["AAPL.png", "IBM.png"]


T0 = datetime(2024, 3, 4, 14, 31, tzinfo=UTC)


def _signal(
    sid: str, ticker: str, strategy: str, *, stop: str | None, rejected: RejectReason | None = None
) -> SignalItem:
    status = SignalStatus.REJECTED if rejected else SignalStatus.FILLED
    return SignalItem(
        signal_id=sid,
        status=status,
        received_at=T0,
        updated_at=T0,
        expires_at=int((T0 + timedelta(days=7)).timestamp()),
        history=[
            StatusEntry(status=SignalStatus.RECEIVED, at=T0),
            StatusEntry(status=status, at=T0, reason=rejected.value if rejected else None),
        ],
        action=Action.ENTER,
        mode=Mode.PAPER,
        ticker=ticker,
        side=Side.BUY,
        strategy=strategy,
        timeframe="5",
        entry_price=Decimal("150.00"),
        stop_loss=None if stop is None else Decimal(stop),
        reject_reason=rejected.value if rejected else None,
    )


def _order(coid: str, sid: str, ticker: str, strategy: str, side: Side, qty: str, price: str, minute: int,
           purpose: str = "open", stop: str | None = None) -> OrderItem:  # fmt: skip
    at = T0 + timedelta(minutes=minute)
    return OrderItem(
        client_order_id=coid,
        intent_id=f"{sid}:{purpose}",
        signal_id=sid,
        mode=Mode.PAPER,
        strategy=strategy,
        symbol=ticker,
        side=side,
        qty=Decimal(qty),
        order_class="bracket" if stop else "simple",
        purpose=purpose,
        stop_loss=None if stop is None else Decimal(stop),
        take_profit=None if stop is None else Decimal("160"),
        status="filled",
        created_at=at,
        updated_at=at,
        filled_at=at,
        filled_qty=Decimal(qty),
        filled_avg_price=Decimal(price),
    )


@pytest.fixture
def recorded(empty_tables: Aws) -> Iterator[None]:
    """A day of records: a partially filled bracket entry closed by its stop leg (fills table), a second
    strategy on the same ticker whose close has no fill item yet (the order alone), and a rejection."""
    composition.reset()
    signals, orders, fills = (
        composition.backend().signal_store,
        composition.backend().order_store,
        composition.backend().fill_store,
    )
    for item in (
        _signal("s1", "AAPL", "sma_cross", stop="147"),
        _signal("s2", "AAPL", "breakout", stop=None),
        _signal("s3", "AAPL", "breakout", stop=None),
        _signal("s4", "MSFT", "sma_cross", stop=None, rejected=RejectReason.STOP_TOO_TIGHT),
    ):
        signals.record_new(item)
    for order in (
        _order("tp-s1-open", "s1", "AAPL", "sma_cross", Side.BUY, "30", "150.10", 0, stop="147"),
        _order("tp-s2-open", "s2", "AAPL", "breakout", Side.BUY, "10", "150.20", 1),
        _order("tp-s3-close", "s3", "AAPL", "breakout", Side.SELL, "10", "151.00", 30, purpose="exit"),
    ):
        orders.record_intent(order)
    for i, (side, qty, price, minute, coid) in enumerate(
        [
            ("buy", "10", "150.00", 0, "tp-s1-open"),
            ("buy", "20", "150.15", 0, "tp-s1-open"),
            ("sell", "30", "146.90", 20, "tp-s1-open"),  # the stop leg: recorded under its parent's id
            ("buy", "10", "150.20", 1, "tp-s2-open"),
        ]
    ):
        view = FillView(
            f"e{i}", f"b-{coid}", "AAPL", side, Decimal(qty), Decimal(price), T0 + timedelta(minutes=minute)
        )
        fills.record_fill(view, "paper", coid, coid.split("-")[1])
    yield
    composition.reset()


def test_records_when_read_back_then_fifo_trades_with_partial_fills_leg_exit_and_order_fallback(
    recorded: None,
) -> None:
    fills = fills_from_records(DynamoRecords(get_settings()).read())

    trades = match_trades(fills).trades

    by_strategy = {t.strategy: t for t in trades}
    assert set(by_strategy) == {"sma_cross", "breakout"}
    stopped = by_strategy["sma_cross"]
    assert (stopped.qty, stopped.entry_price, stopped.exit_price) == (
        Decimal(30),
        Decimal("150.1"),
        Decimal("146.90"),
    )
    assert stopped.r_multiple == stopped.pnl / (Decimal(3) * 30)  # 1R from the signal's 150 to its 147 stop
    closed = by_strategy["breakout"]
    assert (closed.qty, closed.exit_price, closed.exit_order_id) == (
        Decimal(10),
        Decimal("151.00"),
        "tp-s3-close",
    )


def test_records_report_when_opened_then_no_errors_every_trade_and_rejections_and_snapshots(
    recorded: None, browser: Any, tmp_path: Path
) -> None:
    from tradepipe.adapters.memory import MemorySearchIndex

    index = MemorySearchIndex()
    html = write_records_report(get_settings(), tmp_path / "records.html", search=index)

    figures, problems = open_report(browser, html)

    assert problems == []
    records = DynamoRecords(get_settings()).read()
    fills = fills_from_records(records)
    assert_every_trade_drawn(figures, match_trades(fills).trades)
    (rejections,) = figures["fig-rejections"]
    assert (rejections["x"], rejections["y"]) == ([1], ["STOP_TOO_TIGHT"])
    day = session_day(T0)
    snapshot_ids = {doc_id for _, doc_id in index.documents}
    assert {f"records|paper|{s}|{day}" for s in ("ALL", "sma_cross", "breakout")} <= snapshot_ids
    all_day = index.documents[("performance-daily", f"records|paper|ALL|{day}")]
    expected = analyze(fills, records.signals, [], Decimal(100_000)).trades.realized_pnl
    assert all_day["realized_pnl"] == pytest.approx(float(expected))
    assert all_day["trades_closed"] == 2
    assert date.fromisoformat(all_day["day"][:10]) == day

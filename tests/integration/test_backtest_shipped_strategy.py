"""The shipped SMA-cross strategy backtested through the live code path with the bundled risk config: every
order is a signal the risk code accepted, every rejection carries a live RejectReason, the run is
deterministic, and the CLI prints its metrics table."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tradepipe.analytics.backtest.bars import BarSeries, bundled_bars
from tradepipe.analytics.backtest.runner import BacktestResult, BacktestSpec, run_backtest
from tradepipe.analytics.backtest.runs import save_run
from tradepipe.analytics.backtest.strategy import SmaCross
from tradepipe.cli import main
from tradepipe.config import load_bundled_risk_config
from tradepipe.domain.model import RejectReason, SignalStatus
from tradepipe.domain.risk.profile import RiskConfig

TICKERS = ("AAPL", "GOOG", "IBM", "MSFT")
START, END = date(2003, 3, 1), date(2013, 3, 1)


@pytest.fixture(scope="module")
def series() -> list[BarSeries]:
    return [bundled_bars(t, START, END) for t in TICKERS]


@pytest.fixture(scope="module")
def result(series: list[BarSeries]) -> BacktestResult:
    return run_backtest(series, SmaCross(), load_bundled_risk_config())


def test_orders_when_counted_then_equal_the_signals_the_risk_code_accepted(result: BacktestResult) -> None:
    accepted = {s.signal_id for s in result.accepted}

    assert len(result.intents) == len(accepted) > 100
    assert {i.signal_id for i in result.intents} == accepted
    # Every accepted entry reached the broker and filled at a next open, but those the executor's rule at
    # the open refused (the quote gapped past the collar: never sent).
    refused = _refused_at_the_open(result)
    assert 0 < len(refused) < 10
    filled_orders = {f.order_id for f in result.fills}
    entries = [i for i in result.intents if i.kind == "open" and i.signal_id not in refused]
    assert entries
    assert all(i.client_order_id in filled_orders for i in entries)


def test_rejections_when_any_then_live_reason_codes_in_the_signal_trail(result: BacktestResult) -> None:
    rejected = result.rejected

    assert rejected  # the bundled config refuses some of these alerts (streak switch, ATR stop check)
    for item in rejected:
        assert item.reject_reason in RejectReason.__members__
        last = item.history[-1]
        assert (last.status, last.reason) == (SignalStatus.REJECTED, item.reject_reason)
    # No rejected signal produced an order: the risk stage's never sized one, the collar's never filled.
    refused = _refused_at_the_open(result)
    assert not ({s.signal_id for s in rejected} - refused) & {i.signal_id for i in result.intents}
    assert not {f.signal_id for f in result.fills} & {s.signal_id for s in rejected}


def _refused_at_the_open(result: BacktestResult) -> set[str]:
    """Sized, then refused by the executor's collar rule at the open: the quote past the limit
    (QUOTE_BEYOND_COLLAR) or already through the stop (STOP_WRONG_SIDE)."""
    return {
        s.signal_id
        for s in result.rejected
        if any(h.status is SignalStatus.SIZED for h in s.history)
        and s.reject_reason in (RejectReason.QUOTE_BEYOND_COLLAR, RejectReason.STOP_WRONG_SIDE)
    }


def test_switches_when_streak_rule_bites_then_recorded_and_resumed_next_session(
    result: BacktestResult,
) -> None:
    rules = [s.rule for s in result.switches]

    assert "losing_streak" in rules
    assert all(
        b.rule == "manual"
        for a, b in zip(result.switches, result.switches[1:], strict=False)
        if a.rule != "manual"
    )


def test_never_resume_when_nobody_watches_then_entries_stop_after_the_first_switch(
    series: list[BarSeries],
) -> None:
    result = run_backtest(series, SmaCross(), load_bundled_risk_config(), BacktestSpec(resume="never"))

    first_switch = result.switches[0].at
    late_entries = [i for i in result.intents if i.kind == "open" and i.sized_at > first_switch]
    assert late_entries == []
    assert any(s.reject_reason == RejectReason.TRADING_REDUCING for s in result.rejected)


def test_run_when_repeated_then_byte_identical(
    series: list[BarSeries], result: BacktestResult, tmp_path: Path
) -> None:
    again = run_backtest(series, SmaCross(), load_bundled_risk_config())

    first = save_run(tmp_path / "a", "r", result, series, BacktestSpec(), {})
    second = save_run(tmp_path / "b", "r", again, series, BacktestSpec(), {})
    assert first.read_bytes() == second.read_bytes()


def test_cli_when_backtest_run_then_prints_metrics_and_orders_equal_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"

    code = main(
        ["backtest", "--strategy", "sma_cross", "--ticker", "AAPL,IBM", "--start", "2005-01-01",
         "--end", "2012-12-31", "--out", str(out), "--no-progress"]
    )  # fmt: skip

    printed = capsys.readouterr().out
    assert code == 0
    for name in ("Sharpe", "Sortino", "Calmar", "Max drawdown", "Win rate", "Profit factor", "Average R"):
        assert name in printed
    counts = dict(part.strip().rsplit(" ", 1) for part in printed.splitlines()[1].split("(")[0].split(","))
    assert counts["orders"] == counts["signals accepted"]
    assert (out / "run.json").is_file()
    assert (out / "bars" / "AAPL.csv").is_file()


NEW_YORK = ZoneInfo("America/New_York")

# --- backtest = live: the profile's market-clock rule ------------------------------------------------------


def test_shipped_sma_cross_profile_then_entries_queued_at_the_close_sized_and_filled_at_the_next_open(
    result: BacktestResult,
) -> None:
    """The daily alert arrives at 16:00, market closed: the shipped profile queues it (as live does), the
    open releases it, and the simulated broker fills it at that open."""
    entries = [s for s in result.accepted if s.side is not None]

    assert entries
    for item in entries:
        statuses = [h.status for h in item.history]
        assert statuses[:3] == [SignalStatus.RECEIVED, SignalStatus.ENQUEUED, SignalStatus.QUEUED]
        sized = next(h for h in item.history if h.status is SignalStatus.SIZED)
        assert sized.at.astimezone(NEW_YORK).time() == time(9, 30)  # released at the next session's open
    opens = [f for f in result.fills if f.order_id.endswith("-open")]
    assert opens
    assert all(f.at.astimezone(NEW_YORK).time() == time(9, 30) for f in opens)


def test_profile_that_rejects_after_hours_then_backtest_trades_nothing_as_live_would(
    series: list[BarSeries],
) -> None:
    bundled = load_bundled_risk_config()
    rejecting = RiskConfig(
        version=1,
        default=bundled.default,
        strategies={
            **bundled.strategies,
            "sma_cross": {**bundled.strategies["sma_cross"], "outside_hours": "reject"},
        },
    )

    run = run_backtest(series, SmaCross(), rejecting)

    entries = [s for s in run.signals if s.side is not None]
    assert entries
    assert {s.reject_reason for s in entries} == {RejectReason.MARKET_CLOSED.value}
    assert [f for f in run.fills if f.order_id.endswith("-open")] == []

"""Reports from a backtest run or from the records, written to disk (the only I/O of the report package)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tradepipe.analytics.backtest.runs import SavedRun, load_run
from tradepipe.analytics.equity import equity_from_fills, session_day
from tradepipe.analytics.performance import Performance, analyze
from tradepipe.analytics.records import DynamoRecords, Records, RecordsSource, fills_from_records
from tradepipe.analytics.report.data import ReportData
from tradepipe.analytics.report.html import render_html
from tradepipe.analytics.report.png import write_pngs
from tradepipe.analytics.snapshots import build_snapshots, publish_snapshots
from tradepipe.ports.search import SearchIndex
from tradepipe.settings import Settings

DEFAULT_INITIAL_EQUITY = Decimal(100_000)  # the local paper broker's starting cash


def backtest_report_data(run: SavedRun) -> ReportData:
    marks = {t: Decimal(f"{s.close[-1]:.4f}") for t, s in run.bars.items() if len(s)}
    performance = analyze(run.fills, run.signals, run.equity, run.initial_cash, marks)
    spec = run.spec
    costs = spec["costs"]
    notes = [
        f"Strategy {run.strategy} on {', '.join(run.tickers)}: alerts rendered as TradingView sends them, "
        "through the webhook's and the risk function's own code (accept_alert, assess_signal) and the "
        "bundled risk config.",
        f"Orders (intents from the risk stage): {run.intents}; closes that found nothing to close: "
        f"{run.closes_with_nothing}. Trading-state switches and resumes: {len(run.switches)} "
        f"(operator resume policy: {spec['resume']}).",
        "Fills: market orders at the next bar's open; bracket legs live from the entry's fill; a gap through "
        "a level fills at the open; stop and target both in one bar: the stop first.",
        f"Costs: slippage {costs['slippage_bps']} bps on market and stop fills; commission "
        f"{costs['commission_per_share']} per share + {costs['commission_bps']} bps.",
        "Metrics on daily returns of the account's equity at each close; 252 periods a year; risk-free rate "
        "0 per period; sample standard deviation (ddof 1).",
    ]
    return ReportData(
        title=f"tradepipe backtest {run.run_id}",
        source=f"backtest {run.run_id}",
        performance=performance,
        fills=run.fills,
        signals=run.signals,
        equity=run.equity,
        bars=run.bars,
        notes=notes,
    )


def records_report_data(
    records: Records, initial_equity: Decimal = DEFAULT_INITIAL_EQUITY, stage: str = ""
) -> ReportData:
    fills = fills_from_records(records)
    days = sorted({session_day(f.at) for f in fills})
    equity = equity_from_fills(fills, initial_equity, days)
    performance = analyze(fills, records.signals, equity, initial_equity)
    notes = [
        "Fills from the fills table, joined with their orders and signals; an order's filled quantity not "
        "yet in the fills table (the reconciler runs on a schedule) counts at the order's average price.",
        "Trades: FIFO per mode, strategy and ticker; R from the entry signal's stop and price.",
        f"Equity: {initial_equity} at the start plus fills, open positions marked at the last fill price "
        "(no bars are read); one point per day with fills.",
        "Metrics on those daily returns: 252 periods a year, risk-free 0, sample standard deviation.",
    ]
    return ReportData(
        title="tradepipe records report",
        source=f"records (stage {stage})" if stage else "records",
        performance=performance,
        fills=fills,
        signals=records.signals,
        equity=equity,
        notes=notes,
    )


def write_report(data: ReportData, output: Path, png_dir: Path | None = None) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_html(data), encoding="utf-8")
    if png_dir is not None:
        write_pngs(data, png_dir)
    return output


def write_backtest_report(
    run_dir: Path, output: Path, png_dir: Path | None = None
) -> tuple[Path, Performance]:
    data = backtest_report_data(load_run(run_dir))
    return write_report(data, output, png_dir), data.performance


def write_records_report(
    settings: Settings,
    output: Path,
    png_dir: Path | None = None,
    search: SearchIndex | None = None,
    initial_equity: Decimal = DEFAULT_INITIAL_EQUITY,
    source: RecordsSource | None = None,
) -> tuple[Path, list[str]]:
    """Read the stage's records (DynamoDB at `settings.aws_endpoint_url`), write the HTML report (and PNGs),
    and, given a SearchIndex, index the daily performance snapshots. Returns the report's path and the
    snapshot ids that failed to index (the report is written either way)."""
    records = (source or DynamoRecords(settings)).read()
    data = records_report_data(records, initial_equity, settings.stage)
    write_report(data, output, png_dir)
    failed: list[str] = []
    if search is not None:
        failed = publish_snapshots(
            search, build_snapshots("records", data.fills, data.equity, initial_equity)
        )
    return output, failed

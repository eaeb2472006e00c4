"""`tradepipe backtest` and `tradepipe report`: registered on the main parser by `register(sub)`.

Heavy imports (pandas, TA-Lib, Plotly, mplfinance, boto3) happen inside the commands, so `tradepipe --help`
and the other commands stay fast.
"""

from __future__ import annotations

import argparse
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradepipe.cli.output import say as _say

DEFAULT_RUNS_DIR = Path("backtest-runs")


def _tickers(values: list[str] | None) -> list[str]:
    return [t.strip().upper() for v in values or [] for t in v.split(",") if t.strip()]


def _cmd_backtest(args: argparse.Namespace) -> int:
    import logging

    from tradepipe.analytics.backtest.bars import BUNDLED_SOURCE, BarSeries, bundled_bars, read_bars_csv
    from tradepipe.analytics.backtest.broker import Costs
    from tradepipe.analytics.backtest.pipeline import IntakeLimits
    from tradepipe.analytics.backtest.runner import BacktestSpec, run_backtest
    from tradepipe.analytics.backtest.runs import run_id, save_run
    from tradepipe.analytics.backtest.strategy import strategy_named
    from tradepipe.analytics.performance import analyze, metrics_table
    from tradepipe.config import load_bundled_risk_config, risk_config_text
    from tradepipe.settings import get_settings

    settings = get_settings()
    strategy = strategy_named(args.strategy)
    series: list[BarSeries]
    if args.bars:
        series = [read_bars_csv(Path(p)).between(args.start, args.end) for p in args.bars]
        source = ", ".join(args.bars)
    else:
        series = [bundled_bars(t, args.start, args.end) for t in _tickers(args.ticker)]
        source = BUNDLED_SOURCE
    empty = [s.ticker for s in series if not len(s)]
    if empty:
        _say(f"no bars for {', '.join(empty)} between {args.start} and {args.end}")
        return 2
    config_text = risk_config_text(args.risk_config or settings.risk_config_path)
    config = load_bundled_risk_config(args.risk_config or settings.risk_config_path)
    spec = BacktestSpec(
        initial_cash=Decimal(args.cash),
        costs=Costs(
            Decimal(args.slippage_bps), Decimal(args.commission_per_share), Decimal(args.commission_bps)
        ),
        resume=args.resume,
        intake=IntakeLimits(settings.max_alert_lag_s, settings.max_alert_lead_s),
    )
    inputs: dict[str, Any] = dict(vars(strategy.inputs))
    rid = run_id(strategy.name, inputs, series, spec, config_text)
    total = sum(len(s) for s in series)
    # The risk stage logs each trading-state switch as a warning; the run's summary reports them instead.
    logging.getLogger("tradepipe.app").setLevel(logging.ERROR)
    from tqdm import tqdm

    with tqdm(total=total, unit="bar", desc=rid, disable=args.no_progress or total < 2_000 or None) as bar:
        result = run_backtest(series, strategy, config, spec, progress=bar.update)
    out = Path(args.out) if args.out else DEFAULT_RUNS_DIR / rid
    save_run(out, rid, result, series, spec, inputs)
    performance = analyze(
        result.fills,
        result.signals,
        result.equity,
        spec.initial_cash,
        {s.ticker: Decimal(f"{s.close[-1]:.4f}") for s in series},
    )
    _say(f"backtest {rid}: {strategy.name} on {', '.join(result.tickers)} ({total} bars from {source})")
    _say(
        f"  alerts {len(result.alerts)}, signals accepted {len(result.accepted)}, rejected "
        f"{len(result.rejected)}, orders {len(result.intents)} (closes with nothing to close "
        f"{result.closes_with_nothing}), fills {len(result.fills)}, state switches {len(result.switches)}"
    )
    _say(metrics_table(performance))
    _say(f"run saved to {out}  (report: tradepipe report --backtest {out} -o report.html)")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from tradepipe.analytics.report.build import write_backtest_report, write_records_report

    output = Path(args.output)
    png = Path(args.png) if args.png else None
    if args.backtest:
        run_dir = Path(args.backtest)
        if not run_dir.is_dir() and (DEFAULT_RUNS_DIR / args.backtest).is_dir():
            run_dir = DEFAULT_RUNS_DIR / args.backtest
        write_backtest_report(run_dir, output, png)
    else:
        from tradepipe import composition
        from tradepipe.settings import get_settings

        search = composition.search_index() if args.publish_snapshots else None
        write_records_report(
            get_settings(), output, png, search=search, initial_equity=Decimal(args.initial_equity)
        )
    _say(f"report written to {output.resolve()}")
    if png:
        _say(f"charts written to {png.resolve()}")
    return 0


def _day(text: str) -> date:
    return date.fromisoformat(text)


def register(sub: Any) -> None:
    """Add `backtest` and `report` to the `tradepipe` command's subparsers."""
    backtest = sub.add_parser(
        "backtest",
        help="run a strategy over daily bars through the same parsing and risk code, on a simulated broker",
    )
    backtest.add_argument(
        "--strategy", required=True, help="sma_cross (the shipped Pine template) or sma_cross_simple"
    )
    bars = backtest.add_mutually_exclusive_group(required=True)
    bars.add_argument(
        "--bars", action="append", metavar="FILE", help="CSV of daily bars (repeatable: one per ticker)"
    )
    bars.add_argument(
        "--ticker",
        action="append",
        metavar="T",
        help="bundled real bars (AAPL, GOOG, IBM, MSFT; repeatable or comma-separated)",
    )
    backtest.add_argument(
        "--start", type=_day, default=None, help="first day, YYYY-MM-DD (default: first bar)"
    )
    backtest.add_argument("--end", type=_day, default=None, help="last day, YYYY-MM-DD (default: last bar)")
    backtest.add_argument("--cash", default="100000", help="starting cash (default 100000)")
    backtest.add_argument("--slippage-bps", default="5", help="against market and stop fills (default 5)")
    backtest.add_argument("--commission-per-share", default="0", help="per share (default 0, as Alpaca)")
    backtest.add_argument("--commission-bps", default="0", help="of the notional (default 0)")
    backtest.add_argument(
        "--resume",
        choices=["next_session", "never"],
        default="next_session",
        help="after an automatic REDUCING/HALTED: an operator resumes before the next session "
        "(default), or never",
    )
    backtest.add_argument(
        "--risk-config", default=None, help="risk.toml to use (default: the stage's, as live)"
    )
    backtest.add_argument("--out", default=None, help=f"run directory (default {DEFAULT_RUNS_DIR}/<run id>)")
    backtest.add_argument("--no-progress", action="store_true", help="no progress bar")
    backtest.set_defaults(func=_cmd_backtest)

    report = sub.add_parser(
        "report", help="one self-contained HTML report (and PNG charts) of records or a backtest"
    )
    source = report.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--records", action="store_true", help="what the stage recorded (DynamoDB at the settings' endpoint)"
    )
    source.add_argument(
        "--backtest", metavar="RUN", help="a run directory written by `tradepipe backtest` (or its id)"
    )
    report.add_argument("-o", "--output", required=True, help="the HTML file to write")
    report.add_argument(
        "--png", metavar="DIR", default=None, help="also write mplfinance PNGs per ticker here"
    )
    report.add_argument(
        "--publish-snapshots",
        action="store_true",
        help="with --records: index daily performance snapshots into OpenSearch (performance-daily)",
    )
    report.add_argument(
        "--initial-equity", default="100000", help="with --records: the account's starting equity"
    )
    report.set_defaults(func=_cmd_report)

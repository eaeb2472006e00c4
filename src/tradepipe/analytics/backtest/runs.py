"""A backtest run on disk: `<dir>/run.json` (inputs, signals as the signals table would hold them, order
intents, fills, equity, state switches) and `<dir>/bars/<TICKER>.csv` (the bars it ran on), so a report can
be drawn later without rerunning. The run id is a hash of everything that determines the result, and the
files hold no wall-clock time: the same inputs write the same bytes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradepipe.analytics.backtest.bars import BarSeries, read_bars_csv, write_bars_csv
from tradepipe.analytics.backtest.runner import BacktestResult, BacktestSpec
from tradepipe.analytics.equity import EquityPoint
from tradepipe.analytics.fills import Fill
from tradepipe.contracts.items import SignalItem
from tradepipe.domain.model import Side

RUN_FILE = "run.json"


@dataclass(frozen=True)
class SavedRun:
    run_id: str
    strategy: str
    tickers: list[str]
    spec: dict[str, Any]
    signals: list[SignalItem]
    intents: int
    closes_with_nothing: int
    fills: list[Fill]
    equity: list[EquityPoint]
    switches: list[dict[str, Any]]
    bars: dict[str, BarSeries]
    initial_cash: Decimal


def _bars_digest(series: list[BarSeries]) -> str:
    digest = hashlib.sha256()
    for s in series:
        digest.update(s.ticker.encode())
        for array in (s.open, s.high, s.low, s.close, s.volume):
            digest.update(array.tobytes())
        digest.update(",".join(d.isoformat() for d in s.dates).encode())
    return digest.hexdigest()


def run_id(
    strategy: str, inputs: dict[str, Any], series: list[BarSeries], spec: BacktestSpec, config_text: str
) -> str:
    """A hash of the strategy and its inputs, the bars, the broker settings and the risk config."""
    content = json.dumps(
        {
            "strategy": strategy,
            "inputs": inputs,
            "spec": _plain(asdict(spec)),
            "bars": _bars_digest(series),
            "config": config_text,
        },
        sort_keys=True,
        default=str,
    )
    return f"{strategy}-{hashlib.sha256(content.encode()).hexdigest()[:12]}"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal | datetime | date | Side):
        return str(value) if not isinstance(value, datetime | date) else value.isoformat()
    return value


def _fill_json(f: Fill) -> dict[str, Any]:
    return _plain(asdict(f))  # type: ignore[no-any-return]


def _fill_from(raw: dict[str, Any]) -> Fill:
    def dec(key: str) -> Decimal | None:
        return None if raw.get(key) is None else Decimal(raw[key])

    return Fill(
        at=datetime.fromisoformat(raw["at"]),
        mode=raw["mode"],
        strategy=raw["strategy"],
        ticker=raw["ticker"],
        side=Side(raw["side"]),
        qty=Decimal(raw["qty"]),
        price=Decimal(raw["price"]),
        fee=Decimal(raw["fee"]),
        order_id=raw["order_id"],
        execution_id=raw["execution_id"],
        signal_id=raw.get("signal_id"),
        stop=dec("stop"),
        target=dec("target"),
        planned_entry=dec("planned_entry"),
    )


def save_run(
    directory: Path,
    rid: str,
    result: BacktestResult,
    series: list[BarSeries],
    spec: BacktestSpec,
    inputs: dict[str, Any],
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "bars").mkdir(exist_ok=True)
    for s in series:
        write_bars_csv(s, directory / "bars" / f"{s.ticker}.csv")
    document = {
        "run_id": rid,
        "strategy": result.strategy,
        "inputs": _plain(inputs),
        "tickers": result.tickers,
        "spec": _plain(asdict(spec)),
        "bars": result.bars,
        "alerts": len(result.alerts),
        "signals": [s.model_dump(mode="json") for s in result.signals],
        "intents": [i.model_dump(mode="json") for i in result.intents],
        "closes_with_nothing": result.closes_with_nothing,
        "fills": [_fill_json(f) for f in result.fills],
        "equity": [
            {"day": p.day.isoformat(), "equity": str(p.equity), "cash": str(p.cash), "invested": p.invested}
            for p in result.equity
        ],
        "switches": [_plain(asdict(s)) for s in result.switches],
    }
    path = directory / RUN_FILE
    path.write_text(json.dumps(document, sort_keys=True, indent=1) + "\n")
    return path


def load_run(directory: Path) -> SavedRun:
    raw = json.loads((directory / RUN_FILE).read_text())
    bars = {t: read_bars_csv(directory / "bars" / f"{t}.csv", ticker=t) for t in raw["tickers"]}
    return SavedRun(
        run_id=raw["run_id"],
        strategy=raw["strategy"],
        tickers=raw["tickers"],
        spec=raw["spec"],
        signals=[SignalItem.model_validate(s) for s in raw["signals"]],
        intents=len(raw["intents"]),
        closes_with_nothing=raw["closes_with_nothing"],
        fills=[_fill_from(f) for f in raw["fills"]],
        equity=[
            EquityPoint(date.fromisoformat(p["day"]), Decimal(p["equity"]), Decimal(p["cash"]), p["invested"])
            for p in raw["equity"]
        ],
        switches=raw["switches"],
        bars=bars,
        initial_cash=Decimal(raw["spec"]["initial_cash"]),
    )

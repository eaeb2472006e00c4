"""Writes src/tradepipe/data/demo_alerts.jsonl: the demo's alerts, priced from the paper broker's bundled
real bars (closes of 2013-03-01, Quandl WIKI via bokeh-sampledata). Run once; the output is committed."""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/tradepipe/data/demo_alerts.jsonl"
PRICES = {"AAPL": 430.47, "MSFT": 27.95, "IBM": 202.91, "GOOG": 806.19, "FB": 27.78}
PASS = "{{passphrase}}"  # replaced by the demo with the local stack's passphrase at send time


def alert(
    ticker: str,
    side: str,
    minute: int,
    risk: float = 100.0,
    stop_pct: float = 0.01,
    rr: float = 2.0,
    strategy: str = "momentum_breakout",
    **over: object,
) -> dict[str, object]:
    entry = PRICES[ticker]
    sign = -1 if side == "BUY" else 1
    stop = round(entry * (1 + sign * stop_pct), 2)
    target = round(entry - sign * rr * abs(entry - stop), 2)
    body: dict[str, object] = {
        "passphrase": PASS,
        "signal": side,
        "ticker": ticker,
        "tradingMode": "Paper",
        "riskAmount": risk,
        "entryPrice": entry,
        "stopLoss": stop,
        "takeProfit": target,
        "timestamp": f"2013-03-01T15:{minute:02d}:00Z",
        "strategy": strategy,
        "timeframe": "5m",
    }
    body.update(over)
    return body


def main() -> None:
    rows: list[dict[str, object]] = []

    def add(note: str, body: object, expect: str) -> None:
        rows.append({"note": note, "expect": expect, "body": body})

    # Valid entries that fill: one position per ticker and strategy family.
    valid = [
        alert("AAPL", "BUY", 0, risk=250),
        alert("MSFT", "BUY", 1, risk=60, stop_pct=0.02),
        alert("IBM", "SELL", 2, risk=150),
        alert("GOOG", "BUY", 3, risk=400, stop_pct=0.015),
        alert("FB", "SELL", 4, risk=50, stop_pct=0.03),
    ]
    for body in valid:
        add(f"valid {body['signal']} {body['ticker']}", body, "accepted")
    # Exact repeats (TradingView re-fires, a user double-clicks): 200 duplicate, never a second order.
    for body in valid + valid[:3]:
        add(f"repeat of {body['signal']} {body['ticker']}", body, "duplicate")
    # Same alert, other spellings: lower-case side, integer price, text/plain: still the same signal.
    twin = dict(valid[0], signal="buy", ticker="aapl", riskAmount=250)
    add("same AAPL alert spelled differently", twin, "duplicate")
    # Risk rejections (recorded with a reason, no order).
    add("stop above entry on a BUY", alert("AAPL", "BUY", 10, stopLoss=435.0), "accepted")
    add("stop below entry on a SELL", alert("MSFT", "SELL", 11, stopLoss=27.5), "accepted")
    add("take-profit below entry on a BUY", alert("IBM", "BUY", 12, takeProfit=200.0), "accepted")
    add("take-profit above entry on a SELL", alert("GOOG", "SELL", 13, takeProfit=820.0), "accepted")
    add("risk too small for one share", alert("GOOG", "BUY", 14, risk=5), "accepted")
    add("risk too small for one share", alert("AAPL", "SELL", 15, risk=3), "accepted")
    add("stop equal to entry", alert("FB", "BUY", 16, stopLoss=27.78), "accepted")
    # Production without live trading enabled: rejected by the executor, never sent to Alpaca.
    add(
        "live mode while live trading is off", alert("MSFT", "SELL", 17, tradingMode="Production"), "accepted"
    )
    add("live mode while live trading is off", alert("IBM", "BUY", 18, tradingMode="Production"), "accepted")
    # A symbol the broker does not list: rejected by Alpaca with its code.
    add("unknown symbol", dict(alert("AAPL", "BUY", 19), ticker="ZZZZ"), "accepted")
    # Invalid alerts: 422 with field errors, recorded as REJECTED, never enqueued.
    no_stop = {k: v for k, v in alert("AAPL", "BUY", 20).items() if k != "stopLoss"}
    add("missing stopLoss", no_stop, "422")
    add("missing ticker", {k: v for k, v in alert("MSFT", "BUY", 21).items() if k != "ticker"}, "422")
    add("unknown side", alert("IBM", "BUY", 22, signal="HOLD"), "422")
    add("negative entry", alert("GOOG", "BUY", 23, entryPrice=-806.19), "422")
    add("zero risk", alert("FB", "BUY", 24, riskAmount=0), "422")
    add("price as text", alert("AAPL", "BUY", 25, entryPrice="four hundred"), "422")
    add("timestamp without zone", alert("MSFT", "BUY", 26, timestamp="2013-03-01 15:26:00"), "422")
    add("bad mode", alert("IBM", "SELL", 27, tradingMode="Live"), "422")
    add("ticker with spaces", dict(alert("GOOG", "SELL", 28), ticker="GO OG"), "422")
    add("repeat of missing stopLoss", no_stop, "422")
    # Unauthenticated: 401, not stored.
    add("wrong passphrase", alert("AAPL", "BUY", 30, passphrase="guess"), "401")
    add("no passphrase", {k: v for k, v in alert("MSFT", "BUY", 31).items() if k != "passphrase"}, "401")
    add("wrong passphrase", alert("IBM", "SELL", 32, passphrase=""), "401")
    # Not JSON at all: 400.
    add("plain text", "BUY AAPL now", "400")
    add(
        "NaN from a broken placeholder",
        '{"passphrase": "' + PASS + '", "signal": "BUY", "entryPrice": NaN}',
        "400",
    )
    # More valid entries on a second strategy, later in the session.
    more = [
        alert("AAPL", "BUY", 40, risk=120, strategy="mean_reversion"),
        alert("MSFT", "BUY", 41, risk=40, strategy="mean_reversion", stop_pct=0.015),
        alert("IBM", "SELL", 42, risk=90, strategy="mean_reversion"),
        alert("GOOG", "BUY", 43, risk=200, strategy="mean_reversion"),
        alert("FB", "SELL", 44, risk=30, strategy="mean_reversion", stop_pct=0.02),
    ]
    for body in more:
        add(f"valid {body['signal']} {body['ticker']} mean_reversion", body, "accepted")
    for body in more:
        add(f"repeat of {body['signal']} {body['ticker']} mean_reversion", body, "duplicate")
    add("oversized body", dict(alert("AAPL", "BUY", 50), padding="x" * 17000), "413")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    print(f"{len(rows)} alerts -> {OUT}")  # noqa: T201


if __name__ == "__main__":
    main()

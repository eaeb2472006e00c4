"""Writes src/tradepipe/data/demo_alerts.jsonl: the demo's alerts, priced from the paper broker's bundled
real bars (closes of 2013-03-01, Quandl WIKI via bokeh-sampledata). Run once; the output is committed.

Placeholders the demo fills at send time: {{passphrase}} (the local stack's) and {{timenow}} (one instant
per run, so repeats stay exact repeats). Any other {{...}} is left in on purpose."""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/tradepipe/data/demo_alerts.jsonl"
PRICES = {"AAPL": 430.47, "MSFT": 27.95, "IBM": 202.91, "GOOG": 806.19, "FB": 27.78}
PASS = "{{passphrase}}"
NOW = "{{timenow}}"


def alert(
    ticker: str,
    side: str,
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
        "timestamp": NOW,
        "strategy": strategy,
        # Daily-chart alerts: their stops are a day's scale, judged against daily ATR (a 5m alert's stop is
        # measured on 5-minute bars).
        "timeframe": "1D",
    }
    body.update(over)
    return body


def without(body: dict[str, object], key: str) -> dict[str, object]:
    return {k: v for k, v in body.items() if k != key}


def main() -> None:
    rows: list[dict[str, object]] = []

    def add(note: str, body: object, expect: str) -> None:
        rows.append({"note": note, "expect": expect, "body": body})

    # A. Entries that fill, one per ticker.
    # Stops sit between 0.5 and 5 ATR(14) of the broker's bars (AAPL 11.8, MSFT 0.42, IBM 2.56, GOOG 12.3,
    # FB 0.97), else the risk stage rejects them as too tight or too wide.
    entries = [
        alert("AAPL", "BUY", risk=250, stop_pct=0.02),
        alert("MSFT", "BUY", risk=60, stop_pct=0.02),
        alert("IBM", "SELL", risk=150),
        alert("GOOG", "BUY", risk=400, stop_pct=0.015),
        alert("FB", "SELL", risk=50, stop_pct=0.03),
    ]
    for body in entries:
        add(f"entry {body['signal']} {body['ticker']}", body, "accepted")
    # B. Exact repeats (TradingView re-fires, a double click): 200 duplicate, never a second order.
    for body in entries + entries[:3]:
        add(f"repeat of {body['signal']} {body['ticker']}", body, "duplicate")
    add(
        "same AAPL alert spelled differently",
        dict(entries[0], signal="buy", ticker="aapl", riskAmount=250),
        "duplicate",
    )
    # C. Accepted at the door, rejected by the risk stage or the executor, each with a reason.
    add("stop above entry on a BUY", alert("AAPL", "BUY", stopLoss=435.0, strategy="c1"), "accepted")
    add("stop below entry on a SELL", alert("MSFT", "SELL", stopLoss=27.5, strategy="c2"), "accepted")
    add("take-profit below entry on a BUY", alert("IBM", "BUY", takeProfit=200.0, strategy="c3"), "accepted")
    add(
        "take-profit above entry on a SELL",
        alert("GOOG", "SELL", takeProfit=820.0, strategy="c4"),
        "accepted",
    )
    add("risk too small for one share", alert("GOOG", "BUY", risk=5, strategy="c5"), "accepted")
    add("risk too small for one share", alert("AAPL", "SELL", risk=3, strategy="c6"), "accepted")
    add("stop equal to entry", alert("FB", "BUY", stopLoss=27.78, strategy="c7"), "accepted")
    add(
        "live mode while live trading is off",
        alert("MSFT", "SELL", tradingMode="Production", strategy="c8"),
        "accepted",
    )
    add(
        "live mode while live trading is off",
        alert("IBM", "BUY", tradingMode="live", strategy="c9"),
        "accepted",
    )
    add(
        "a symbol Alpaca does not list", dict(alert("AAPL", "BUY", strategy="c10"), ticker="ZZZZ"), "accepted"
    )
    # D. Invalid alerts: 422 naming the field, recorded as REJECTED, never enqueued.
    no_risk = without(alert("AAPL", "BUY", strategy="d1"), "riskAmount")
    add("missing riskAmount", no_risk, "422")
    add("missing ticker", without(alert("MSFT", "BUY", strategy="d2"), "ticker"), "422")
    add("unknown side", alert("IBM", "BUY", signal="HOLD", strategy="d3"), "422")
    add("negative entry", alert("GOOG", "BUY", entryPrice=-806.19, strategy="d4"), "422")
    add("zero risk", alert("FB", "BUY", riskAmount=0, strategy="d5"), "422")
    add("price as text", alert("AAPL", "BUY", entryPrice="four hundred", strategy="d6"), "422")
    add("timestamp without zone", alert("MSFT", "BUY", timestamp="2013-03-01 15:26:00", strategy="d7"), "422")
    add("bad mode", alert("IBM", "SELL", tradingMode="Demo", strategy="d8"), "422")
    add("repeat of missing riskAmount", no_risk, "422")
    add(
        "the seed's Pine short form: entry = latest price, stop = 2 x ATR(14); FB is short, so a reverse",
        {
            "passphrase": PASS,
            "signal": "BUY",
            "ticker": "FB",
            "mode": "Paper",
            "risk": 100,
            "strategy": "short_form",
        },
        "accepted",
    )
    add(
        "placeholder TradingView did not render",
        alert("GOOG", "SELL", entryPrice="{{close}}", strategy="d9"),
        "422",
    )
    add(
        "NaN from a broken plot placeholder",
        json.dumps(alert("FB", "SELL", strategy="d10")).replace('"entryPrice": 27.78', '"entryPrice": NaN'),
        "422",
    )
    # E. Refused at the door: not authenticated, not understood, too large, stale.
    add("wrong passphrase", alert("AAPL", "BUY", passphrase="guess", strategy="e1"), "401")
    add("no passphrase", without(alert("MSFT", "BUY", strategy="e2"), "passphrase"), "401")
    add("empty passphrase", alert("IBM", "SELL", passphrase="", strategy="e3"), "401")
    add("plain text", "BUY AAPL now", "400")
    add("oversized body", dict(alert("AAPL", "BUY", strategy="e4"), padding="x" * 17000), "413")
    add(
        "an alert from 2013, delivered today",
        alert("AAPL", "BUY", timestamp="2013-03-01T15:00:00Z", strategy="e5"),
        "422",
    )
    # G. Named risk rules (config: src/tradepipe/config/risk.toml).
    add(
        "stop 0.05 from entry: closer than 0.5 x ATR",
        alert("IBM", "BUY", strategy="g1", stopLoss=202.86),
        "accepted",
    )
    add(
        "stop 25% below entry: beyond max_stop_pct (20%), refused as invalid",
        alert("IBM", "BUY", strategy="g2", stopLoss=152.18, takeProfit=250.0),
        "accepted",
    )
    add(
        "stop 12% away: within max_stop_pct but farther than 5 x ATR",
        alert("IBM", "BUY", strategy="g3", stopLoss=178.56, takeProfit=230.0),
        "accepted",
    )
    add(
        "strategy 'conservative' may not trade IBM", alert("IBM", "SELL", strategy="conservative"), "accepted"
    )
    add(
        "a second AAPL entry in the same bar for the same strategy",
        alert("AAPL", "BUY", risk=260, stop_pct=0.02),
        "accepted",
    )
    # F. The position lifecycle in other formats: exits, a reverse, a cancel, a strategy's own alerts.
    exit_msft = {"passphrase": PASS, "ticker": "MSFT", "action": "exit", "strategy": "momentum_breakout"}
    add("TradersPost exit: close the MSFT long (legs cancelled first)", exit_msft, "accepted")
    add("repeat of the MSFT exit", exit_msft, "duplicate")
    add(
        "TradersPost buy while short: reverse IBM (close, wait for the fill, open)",
        {
            "passphrase": PASS,
            "ticker": "IBM",
            "action": "buy",
            "sentiment": "long",
            "quantity": 150,
            "quantityType": "risk_dollar_amount",
            "signalPrice": 202.91,
            "stopLoss": {"percent": 1},
            "takeProfit": {"percent": 2},
            "time": NOW,
            "strategy": "momentum_breakout",
        },
        "accepted",
    )
    add(
        "key=value text: exit FB",
        f"secret={PASS} ticker=FB action=exit strategy=momentum_breakout",
        "accepted",
    )
    add(
        "JSON with a trailing comma: cancel GOOG's open exit legs",
        '{"passphrase": "'
        + PASS
        + '", "ticker": "GOOG", "action": "cancel", "strategy": "momentum_breakout",}',
        "accepted",
    )
    add(
        "strategy alert: the strategy went flat on AAPL",
        {
            "passphrase": PASS,
            "ticker": "AAPL",
            "exchange": "NASDAQ",
            "action": "sell",
            "contracts": 58,
            "positionSize": 0,
            "marketPosition": "flat",
            "orderId": "Exit Long",
            "price": 430.47,
            "time": NOW,
            "strategy": "sma_cross",
            "timeframe": "1D",
            "tradingMode": "Paper",
        },
        "accepted",
    )
    add(
        "strategy alert: add 5 GOOG",
        {
            "passphrase": PASS,
            "ticker": "GOOG",
            "exchange": "NASDAQ",
            "action": "buy",
            "contracts": 5,
            "positionSize": 5,
            "marketPosition": "long",
            "orderId": "Long",
            "price": 806.19,
            "time": NOW,
            "strategy": "sma_cross",
            "timeframe": "1D",
            "tradingMode": "Paper",
        },
        "accepted",
    )
    add("TradersPost exit with nothing left to close", dict(exit_msft, time=NOW), "accepted")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    print(f"{len(rows)} alerts -> {OUT}")  # noqa: T201


if __name__ == "__main__":
    main()

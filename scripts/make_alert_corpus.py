"""Writes tests/data/alerts/: >= 200 alert bodies exactly as they would arrive, and index.json saying what
each must get. Valid bodies name a JSON twin (the same alert in our standard JSON, or a canonical spelling of
its own format) that must normalize to the identical signal. `{{timenow}}` and `{{passphrase}}` are rendered
by the test, as TradingView renders {{timenow}}; every other `{{...}}` is meant to stay unrendered."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1] / "tests/data/alerts"
PASS = "{{passphrase}}"
NOW = "{{timenow}}"
PRICES = {"AAPL": 430.47, "MSFT": 27.95, "IBM": 202.91, "GOOG": 806.19, "FB": 27.78, "SPY": 151.61}


class Corpus:
    def __init__(self) -> None:
        self.cases: list[dict[str, Any]] = []

    def add(
        self,
        name: str,
        body: str,
        expect: int,
        twin: str | None = None,
        names: str | None = None,
        content_type: str = "text/plain",
    ) -> str:
        ext = "json" if body.lstrip().startswith("{") else "txt"
        file = f"{len(self.cases) + 1:03d}-{name}.{ext}"
        self.cases.append(
            {"file": file, "expect": expect, "twin": twin, "names": names, "content_type": content_type}
        )
        (ROOT / "bodies" / file).write_text(body)
        return file


def standard(
    ticker: str, side: str, strategy: str, risk: float = 100.0, stop_pct: float = 0.01, **over: Any
) -> dict[str, Any]:
    entry = PRICES[ticker]
    sign = -1 if side == "BUY" else 1
    stop = round(entry * (1 + sign * stop_pct), 2)
    body = {
        "passphrase": PASS,
        "signal": side,
        "ticker": ticker,
        "tradingMode": "Paper",
        "riskAmount": risk,
        "entryPrice": entry,
        "stopLoss": stop,
        "takeProfit": round(entry - sign * 2 * abs(entry - stop), 2),
        "timestamp": NOW,
        "strategy": strategy,
        "timeframe": "5m",
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def key_values(body: dict[str, Any], secret_key: str = "passphrase") -> str:
    names = {
        "signal": "signal",
        "ticker": "ticker",
        "tradingMode": "mode",
        "riskAmount": "risk",
        "entryPrice": "entry",
        "stopLoss": "stop",
        "takeProfit": "tp",
        "timestamp": "time",
        "strategy": "strategy",
        "timeframe": "timeframe",
        "passphrase": secret_key,
    }
    # Quoted as a trader would quote a value with spaces (the test's passphrase has one).
    return "\n".join(f"{names[k]}={shlex.quote(str(v))}" for k, v in body.items())


def valid_cases(c: Corpus) -> None:
    n = 0
    for ticker in PRICES:
        for side in ("BUY", "SELL"):
            n += 1
            strategy = f"corpus_{n:02d}"
            base = standard(ticker, side, strategy)
            twin = c.add(f"standard-{ticker}-{side}", json.dumps(base), 202, content_type="application/json")
            c.add(
                f"standard-spelled-{ticker}-{side}",
                json.dumps(
                    {
                        **base,
                        "signal": side.lower(),
                        "ticker": f" {ticker.lower()} ",
                        "riskAmount": int(base["riskAmount"]),
                        "entryPrice": str(base["entryPrice"]),
                        "tradingMode": "paper",
                    },
                    indent=2,
                ),
                202,
                twin,
            )
            c.add(
                f"secret-key-{ticker}-{side}",
                json.dumps({"secret" if k == "passphrase" else k: v for k, v in base.items()}),
                202,
                twin,
            )
            c.add(f"keyvalue-{ticker}-{side}", key_values(base), 202, twin)
            c.add(f"trailing-comma-{ticker}-{side}", json.dumps(base)[:-1] + ",}", 202, twin)
            c.add(
                f"traderspost-{ticker}-{side}",
                json.dumps(
                    {
                        "passphrase": PASS,
                        "ticker": ticker,
                        "action": side.lower(),
                        "quantity": base["riskAmount"],
                        "quantityType": "risk_dollar_amount",
                        "signalPrice": base["entryPrice"],
                        "stopLoss": {"type": "stop", "stopPrice": base["stopLoss"]},
                        "takeProfit": {"limitPrice": base["takeProfit"]},
                        "time": NOW,
                        "strategy": strategy,
                        "timeframe": "5m",
                        "tradingMode": "Paper",
                    }
                ),
                202,
                twin,
            )
            c.add(
                f"aliases-{ticker}-{side}",
                json.dumps(
                    {
                        "passphrase": PASS,
                        "side": side,
                        "symbol": ticker,
                        "mode": "paper",
                        "risk": base["riskAmount"],
                        "price": base["entryPrice"],
                        "sl": base["stopLoss"],
                        "target": base["takeProfit"],
                        "time": NOW,
                        "strategy": strategy,
                        "timeframe": "5m",
                    }
                ),
                202,
                twin,
            )
    # Entry and stop left to the risk stage (latest price, ATR stop): the seed's short form and its kin.
    short = {"passphrase": PASS, "signal": "BUY", "ticker": "AAPL", "mode": "Paper", "risk": 100}
    twin = c.add("short-form", json.dumps(short), 202)
    c.add(
        "short-form-keyvalue",
        key_values(
            {"passphrase": PASS, "signal": "BUY", "ticker": "AAPL", "tradingMode": "Paper", "riskAmount": 100}
        ),
        202,
        twin,
    )
    for field in ("entryPrice", "stopLoss"):
        c.add(
            f"without-{field}",
            json.dumps({k: v for k, v in standard("MSFT", "SELL", f"no_{field}").items() if k != field}),
            202,
        )
    # TradersPost shapes that have no standard twin: the twin is the same alert, canonically spelled.
    for i, ticker in enumerate(PRICES):
        strategy = f"tp_{i}"
        for name, body in {
            "exit": {"ticker": ticker, "action": "exit", "strategy": strategy},
            "flat": {"ticker": ticker, "action": "sell", "sentiment": "flat", "strategy": strategy + "f"},
            "cancel": {"ticker": ticker, "action": "cancel", "strategy": strategy},
            "limit-percent": {
                "ticker": ticker,
                "action": "buy",
                "orderType": "limit",
                "limitPrice": PRICES[ticker],
                "quantity": 10,
                "quantityType": "fixed_quantity",
                "stopLoss": {"percent": 2},
                "takeProfit": {"percent": 4},
                "strategy": strategy,
            },
            "add-short": {
                "ticker": ticker,
                "action": "add",
                "sentiment": "short",
                "quantity": 5,
                "quantityType": "fixed_quantity",
                "signalPrice": PRICES[ticker],
                "strategy": strategy,
            },
        }.items():
            canonical = c.add(f"traderspost-{name}-{ticker}", json.dumps({"passphrase": PASS, **body}), 202)
            shouty = {
                k: (v.upper() if k in ("action", "sentiment", "orderType") else v) for k, v in body.items()
            }
            c.add(
                f"traderspost-{name}-{ticker}-spelled",
                json.dumps({"secret": PASS, **shouty}, indent=1) + "\n",
                202,
                canonical,
            )
    # Strategy alerts as TradingView renders the placeholders.
    for i, (ticker, price) in enumerate(PRICES.items()):
        for action, position, size in (("buy", "long", 10), ("sell", "flat", 0), ("sell", "short", -10)):
            body = {
                "passphrase": PASS,
                "ticker": ticker,
                "exchange": "NASDAQ",
                "action": action,
                "contracts": 10,
                "positionSize": size,
                "marketPosition": position,
                "orderId": f"{action}-{i}",
                "price": price,
                "time": NOW,
                "strategy": "sma_cross",
                "timeframe": "1D",
                "tradingMode": "Paper",
            }
            canonical = c.add(f"strategy-{action}-{position}-{ticker}", json.dumps(body), 202)
            c.add(
                f"strategy-{action}-{position}-{ticker}-strings",
                json.dumps({**body, "contracts": "10", "positionSize": str(size), "price": str(price)}),
                202,
                canonical,
            )


def invalid_cases(c: Corpus) -> None:
    base = standard("AAPL", "BUY", "bad")
    for field in ("signal", "ticker", "riskAmount"):
        c.add(f"missing-{field}", json.dumps({k: v for k, v in base.items() if k != field}), 422, names=field)
    for field in ("riskAmount", "entryPrice", "stopLoss", "takeProfit"):
        for label, value in (
            ("negative", -1),
            ("zero", 0),
            ("text", "abc"),
            ("list", [1]),
            ("object", {"a": 1}),
            ("bool", True),
            ("string-nan", "NaN"),
            ("infinity", "Infinity"),
            ("placeholder", "{{close}}"),
        ):
            c.add(f"{label}-{field}", json.dumps({**base, field: value}), 422, names=field)
        c.add(
            f"bare-nan-{field}",
            json.dumps(base).replace(f'"{field}": {base[field]}', f'"{field}": NaN'),
            422,
            names=field,
        )
    for field, value in (
        ("signal", "HOLD"),
        ("signal", ""),
        ("signal", "{{strategy.order.action}}"),
        ("ticker", "AA PL"),
        ("ticker", "{{ticker}}"),
        ("ticker", ""),
        ("ticker", "TOOLONGTICKER"),
        ("tradingMode", "Demo"),
        ("tradingMode", 1),
        ("timestamp", "2024-01-01 12:00:00"),
        ("timestamp", "yesterday"),
        ("timestamp", "{{timenow}}x"),
        ("strategy", "has space"),
        ("strategy", ""),
        ("timeframe", ""),
    ):
        c.add(f"bad-{field}-{len(c.cases)}", json.dumps({**base, field: value}), 422, names=field)
    c.add("stale-2013", json.dumps({**base, "timestamp": "2013-03-01T15:00:00Z"}), 422, names="timestamp")
    c.add("future-2099", json.dumps({**base, "timestamp": "2099-01-01T00:00:00Z"}), 422, names="timestamp")
    c.add("keyvalue-bad-risk", key_values({**base, "riskAmount": "lots"}), 422, names="risk")
    # Named as the sender spelled it: `entry`.
    c.add("keyvalue-nan-entry", key_values({**base, "entryPrice": "NaN"}), 422, names="entry")
    tp = {
        "passphrase": PASS,
        "ticker": "MSFT",
        "action": "buy",
        "quantity": 10,
        "quantityType": "fixed_quantity",
        "signalPrice": 27.95,
        "strategy": "tp_bad",
    }
    for field, value in (
        ("action", "hold"),
        ("sentiment", "sideways"),
        ("quantityType", "shares"),
        ("orderType", "stop"),
        ("quantity", -5),
        ("quantity", "all"),
        ("signalPrice", 0),
        ("time", "noon"),
        ("ticker", "{{ticker}}"),
        ("stopLoss", {"type": "trailing_stop"}),
        ("stopLoss", {"percent": 150}),
        ("takeProfit", {"percent": -1}),
    ):
        c.add(f"traderspost-bad-{field}-{len(c.cases)}", json.dumps({**tp, field: value}), 422, names=field)
    c.add(
        "traderspost-entry-without-quantity",
        json.dumps({k: v for k, v in tp.items() if k != "quantity"}),
        422,
        names="quantity",
    )
    c.add(
        "traderspost-limit-without-price", json.dumps({**tp, "orderType": "limit"}), 422, names="limitPrice"
    )
    c.add(
        "traderspost-stop-both",
        json.dumps({**tp, "stopLoss": {"stopPrice": 27, "percent": 2}}),
        422,
        names="stopLoss",
    )
    st = {
        "passphrase": PASS,
        "ticker": "IBM",
        "action": "buy",
        "contracts": 10,
        "positionSize": 10,
        "marketPosition": "long",
        "orderId": "L",
        "price": 202.91,
        "time": NOW,
        "strategy": "sma_cross",
    }
    for field, value in (
        ("marketPosition", "sideways"),
        ("action", "{{strategy.order.action}}"),
        ("contracts", 0),
        ("contracts", "NaN"),
        ("price", "{{close}}"),
        ("time", "{{timenow}} "),
        ("positionSize", "{{strategy.position_size}}"),
    ):
        c.add(f"strategy-bad-{field}-{len(c.cases)}", json.dumps({**st, field: value}), 422, names=field)
    c.add(
        "strategy-missing-price",
        json.dumps({k: v for k, v in st.items() if k != "price"}),
        422,
        names="price",
    )
    for label, passphrase in (("wrong", "guess"), ("empty", ""), ("number", 12345)):
        c.add(f"passphrase-{label}", json.dumps({**base, "passphrase": passphrase}), 401)
    c.add("passphrase-missing", json.dumps({k: v for k, v in base.items() if k != "passphrase"}), 401)
    c.add("keyvalue-wrong-secret", key_values({**base, "passphrase": "nope"}, "secret"), 401)
    for label, body in (
        ("plain-text", "BUY AAPL NOW"),
        ("array", "[1, 2, 3]"),
        ("broken-json", '{"signal": "BUY"'),
        ("empty", ""),
        ("whitespace", "   \n"),
        ("quoted-string", '"BUY"'),
        ("number", "42"),
        ("html", "<html><body>hi</body></html>"),
        ("unbalanced-quote", 'signal="BUY ticker=AAPL'),
    ):
        c.add(f"malformed-{label}", body, 400)
    c.add("too-large", json.dumps({**base, "padding": "x" * 17_000}), 413)


def main() -> None:
    shutil.rmtree(ROOT / "bodies", ignore_errors=True)
    (ROOT / "bodies").mkdir(parents=True)
    corpus = Corpus()
    valid_cases(corpus)
    invalid_cases(corpus)
    (ROOT / "index.json").write_text(json.dumps(corpus.cases, indent=1) + "\n")
    valid = sum(1 for c in corpus.cases if c["expect"] < 300)
    print(f"{len(corpus.cases)} bodies ({valid} valid, {len(corpus.cases) - valid} invalid) -> {ROOT}")  # noqa: T201


if __name__ == "__main__":
    main()

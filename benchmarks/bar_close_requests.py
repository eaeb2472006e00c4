"""Trading-API requests per alert at a bar close: 60 strategies alert within a second, through the real
single-machine runtime (intake, workers, reconciler) against the Alpaca-like paper broker, which counts
every request where Alpaca would (`GET /_paper/rate-limit`: requests, 429s, the busiest 60-second window,
per route).

`python -m benchmarks.bar_close_requests` runs it twice: before (no request budget, a broker read per signal:
the pipeline as it was) and after (the defaults). The e2e test (tests/e2e/test_request_budget_burst.py) runs
the "after" case and asserts on it.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tradepipe.domain.model import TERMINAL_STATUSES
from tradepipe.local.runtime.supervisor import LocalConfig, Supervisor

ALERTS = 60
# The five tickers the broker has bars for, 12 strategies each (the asset cache starts cold on each).
PRICES = {"AAPL": 430.47, "MSFT": 27.95, "IBM": 202.91, "FB": 27.78, "GOOG": 806.19}
TICKERS = tuple(PRICES)
RISK = """version = 1
[default]
max_equity_pct_per_position = 50
max_gross_exposure_pct = 400
max_open_positions = 100
max_orders_per_minute = 200
one_entry_per_bar = false
min_atr = 0
max_atr = 0
atr_stop = 0
max_intent_age_s = 120  # the burst measures requests: no entry of it may go stale on a loaded machine

[strategies.impatient]
max_intent_age_s = 5  # sent last, behind the whole burst: stale by the time the executor reaches it
"""


@dataclass(frozen=True)
class BurstResult:
    statuses: dict[str, str]  # signal_id -> final status
    trading: dict[str, Any]  # the broker's rate-limit stats for the trading API
    seconds: float  # first alert to every signal terminal
    impatient: tuple[str, str | None] | None = None  # the late alert's (status, reason)

    @property
    def terminal(self) -> int:
        return sum(1 for s in self.statuses.values() if s in {t.value for t in TERMINAL_STATUSES})

    @property
    def per_alert(self) -> float:
        return int(self.trading.get("requests", 0)) / ALERTS

    def line(self, label: str) -> str:
        routes = ", ".join(f"{r} {n}" for r, n in sorted(self.trading.get("routes", {}).items()))
        return (
            f"{label}: {self.trading.get('requests', 0)} trading requests for {ALERTS} alerts "
            f"({self.per_alert:.2f} per alert), busiest minute {self.trading.get('busiest_window', 0)}, "
            f"429s {self.trading.get('refused', 0)}, {self.terminal} of {len(self.statuses)} terminal after "
            f"{self.seconds:.0f} s {dict(Counter(self.statuses.values()))} [{routes}]"
        )


def _alert(n: int, passphrase: str, strategy: str | None = None) -> str:
    ticker = TICKERS[n % len(TICKERS)]
    return json.dumps(
        {
            "passphrase": passphrase,
            "ticker": ticker,
            "action": "buy",
            "quantity": 1 + n % 3,
            "quantityType": "fixed_quantity",
            "signalPrice": PRICES[ticker],
            "stopLoss": {"percent": 5},
            "takeProfit": {"percent": 10},
            "strategy": strategy or f"s{n:02d}",
            "time": datetime.now(UTC).replace(microsecond=0).isoformat(),
        }
    )


def run_burst(root: Path, timeout_s: float = 240.0, impatient: bool = False, **config: Any) -> BurstResult:
    """One runtime on `root`, the Alpaca-like broker always open, one burst; returns when every signal is
    terminal (or after `timeout_s`). `impatient`: one more alert right after the burst, from a strategy
    whose entries go stale after 5 s (`impatient` in the result)."""
    risk = root / "risk.toml"
    risk.parent.mkdir(parents=True, exist_ok=True)
    risk.write_text(RISK)
    settings = LocalConfig.ephemeral(
        root / "state",
        log_level="CRITICAL",
        broker_behaviour="alpaca",
        always_open=True,
        schedule_s=10.0,
        risk_config_path=str(risk),
        **config,
    )
    with Supervisor(settings) as sup:
        backend = sup.backend()
        pair = backend.local_secrets.alpaca("paper")
        assert pair is not None  # noqa: S101 - the runtime writes its keys at start
        admin = httpx.Client(
            base_url=str(sup.broker_url),
            headers={
                "APCA-API-KEY-ID": pair.api_key.get_secret_value(),
                "APCA-API-SECRET-KEY": pair.secret_key.get_secret_value(),
            },
            timeout=10,
        )
        admin.post("/_paper/prices", json=PRICES).raise_for_status()
        admin.post("/_paper/reset").raise_for_status()  # counts from here: the runtime's start-up excluded
        admin.post("/_paper/prices", json=PRICES).raise_for_status()
        passphrase = backend.local_secrets.passphrases()["default"].get_secret_value()
        started = time.monotonic()
        with httpx.Client(timeout=30) as http, ThreadPoolExecutor(20) as pool:
            answers = list(
                pool.map(lambda n: http.post(sup.webhook_url, content=_alert(n, passphrase)), range(ALERTS))
            )
            if impatient:
                answers.append(http.post(sup.webhook_url, content=_alert(ALERTS, passphrase, "impatient")))
        ids = [a.json()["signal_id"] for a in answers if a.status_code == 202]
        if len(ids) != len(answers):
            raise AssertionError(f"only {len(ids)} of {len(answers)} alerts accepted: {answers[0].text}")
        statuses: dict[str, str] = {}
        items: dict[str, Any] = {}
        while time.monotonic() - started < timeout_s:
            items = {sid: backend.signal_store.get(sid) for sid in ids}
            statuses = {sid: ("?" if item is None else item.status.value) for sid, item in items.items()}
            if all(item is not None and item.status in TERMINAL_STATUSES for item in items.values()):
                break
            time.sleep(0.5)
        seconds = time.monotonic() - started
        trading = admin.get("/_paper/rate-limit").json().get("trading", {})
    late = ids[ALERTS] if impatient else None
    reasons = {sid: (item.reject_reason if item else None) for sid, item in items.items()}
    return BurstResult(
        {sid: s for sid, s in statuses.items() if sid != late},
        trading,
        seconds,
        None if late is None else (statuses[late], reasons[late]),
    )


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        before = run_burst(Path(tmp) / "before", request_budget_per_minute=0, broker_snapshot_age_s=0)
        sys.stdout.write(before.line("before (no budget, a read per signal)") + "\n")
    with tempfile.TemporaryDirectory() as tmp:
        after = run_burst(Path(tmp) / "after")
        sys.stdout.write(after.line("after (budget 150/min + 30, snapshot per batch)") + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`tradepipe demo`: replay the bundled alerts over real HTTP to the single-machine runtime, wait for every
signal to settle, summarize."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources as pkg_resources
from pathlib import Path
from typing import Any

import httpx
from opensearchpy import OpenSearch

from tradepipe import resources as res
from tradepipe.backends.sqlite import SqliteBackend
from tradepipe.contracts.items import OrderItem, SignalItem
from tradepipe.domain.model import TERMINAL_STATUSES, Side, SignalStatus
from tradepipe.local.runtime.supervisor import Supervisor

PASSPHRASE_PLACEHOLDER = "{{passphrase}}"  # noqa: S105 - a placeholder the demo replaces, not a secret
TIMENOW_PLACEHOLDER = "{{timenow}}"


def bundled_alerts() -> Path:
    return Path(str(pkg_resources.files("tradepipe") / "data" / "demo_alerts.jsonl"))


@dataclass
class DemoReport:
    sent: int = 0
    by_http_status: Counter[int] = field(default_factory=Counter)
    expectation_mismatches: list[str] = field(default_factory=list)
    signals: dict[str, SignalItem] = field(default_factory=dict)
    unsettled: list[str] = field(default_factory=list)
    orders_recorded: int = 0
    orders_filled: int = 0
    documents: dict[str, int] = field(default_factory=dict)
    market_moves: list[str] = field(default_factory=list)  # "AAPL -> 440.10 (take-profit)"

    @property
    def ok(self) -> bool:
        return not self.unsettled and not self.expectation_mismatches

    def rejected_by_reason(self) -> Counter[str]:
        return Counter(
            s.reject_reason or "?" for s in self.signals.values() if s.status is SignalStatus.REJECTED
        )

    def _example(self, reason: str) -> str:
        detail = next((s.reject_detail for s in self.signals.values() if s.reject_reason == reason), "") or ""
        return detail if len(detail) <= 70 else detail[:67] + "..."

    def render(self) -> str:
        statuses = Counter(s.status.value for s in self.signals.values())
        lines = [
            "tradepipe demo: what happened",
            f"  alerts sent                {self.sent:>5}",
            f"  accepted (202)             {self.by_http_status[202]:>5}",
            f"  duplicates (200)           {self.by_http_status[200]:>5}",
            f"  invalid (422)              {self.by_http_status[422]:>5}",
            f"  unauthorized (401)         {self.by_http_status[401]:>5}",
            f"  forbidden source (403)     {self.by_http_status[403]:>5}",
            f"  malformed (400)            {self.by_http_status[400]:>5}",
            f"  too large (413)            {self.by_http_status[413]:>5}",
            f"  server errors (5xx)        {sum(v for k, v in self.by_http_status.items() if k >= 500):>5}",
            f"  signals recorded           {len(self.signals):>5}",
            f"    filled                   {statuses.get('FILLED', 0):>5}",
            f"    completed (cancel/flat)  {statuses.get('COMPLETED', 0):>5}",
            f"    rejected                 {statuses.get('REJECTED', 0):>5}",
        ]
        for reason, count in sorted(self.rejected_by_reason().items()):
            lines.append(f"      {reason:<25}{count:>4}   e.g. {self._example(reason)}")
        lines += [
            f"    not settled              {len(self.unsettled):>5}",
            f"  orders submitted           {self.orders_recorded:>5}",
            f"  orders filled              {self.orders_filled:>5}",
        ]
        if self.market_moves:
            lines.append("  then the market moved (paper broker), the reconciler recorded the exits:")
            lines += [f"    {move}" for move in self.market_moves]
        for index, count in sorted(self.documents.items()):
            lines.append(f"  documents in {index:<18}{count:>4}")
        for mismatch in self.expectation_mismatches:
            lines.append(f"  UNEXPECTED: {mismatch}")
        lines.append(
            "  result: " + ("every signal accounted for" if self.ok else "SOME SIGNALS UNACCOUNTED FOR")
        )
        return "\n".join(lines)


def send_alerts(webhook_url: str, passphrase: str, path: Path, report: DemoReport) -> set[str]:
    signal_ids: set[str] = set()
    # One instant for the whole run, as TradingView renders {{timenow}}: repeats stay exact repeats.
    timenow = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    with httpx.Client(timeout=10) as http:
        for i, line in enumerate(path.read_text().splitlines()):
            row = json.loads(line)
            body = row["body"] if isinstance(row["body"], str) else json.dumps(row["body"])
            # TradingView sends text/plain unless the message is valid JSON; exercise both.
            content_type = "text/plain; charset=utf-8" if i % 2 else "application/json"
            response = http.post(
                webhook_url,
                content=body.replace(PASSPHRASE_PLACEHOLDER, passphrase)
                .replace(TIMENOW_PLACEHOLDER, timenow)
                .encode(),
                headers={"Content-Type": content_type},
            )
            report.sent += 1
            report.by_http_status[response.status_code] += 1
            answer = response.json()
            if answer.get("signal_id"):
                signal_ids.add(answer["signal_id"])
            got = {202: "accepted", 200: "duplicate"}.get(response.status_code, str(response.status_code))
            if got != row["expect"]:
                report.expectation_mismatches.append(
                    f"alert {i + 1} ({row['note']}): {got}, expected {row['expect']}"
                )
    return signal_ids


def wait_until_settled(
    backend: SqliteBackend,
    signal_ids: set[str],
    report: DemoReport,
    timeout_s: float,
    reconcile: Callable[[], object] = lambda: None,
) -> None:
    """Until every signal is terminal. Alpaca answers a market order `pending_new` and fills it later: a
    signal SUBMITTED is FILLED by the reconciler, run here as its one-minute schedule would (`reconcile`)."""
    store = backend.signal_store
    deadline = time.monotonic() + timeout_s
    pending = set(signal_ids)
    while pending and time.monotonic() < deadline:
        for signal_id in list(pending):
            item = store.get(signal_id)
            if item is not None:
                report.signals[signal_id] = item
                if item.status in TERMINAL_STATUSES:
                    pending.discard(signal_id)
        if pending:
            time.sleep(0.2)
            if all(
                report.signals.get(s) and report.signals[s].status is SignalStatus.SUBMITTED for s in pending
            ):
                reconcile()
    report.unsettled = sorted(pending)


def recorded_orders(backend: SqliteBackend) -> list[OrderItem]:
    rows = backend.db.connection().execute("SELECT item FROM orders")
    return [OrderItem.model_validate_json(raw) for (raw,) in rows]


def count_orders(orders: list[OrderItem], report: DemoReport) -> None:
    report.orders_recorded = sum(1 for o in orders if o.broker_order_id is not None)
    report.orders_filled = sum(1 for o in orders if o.status == "filled")


def wait_for_documents(
    search_url: str, expected: dict[str, int], report: DemoReport, timeout_s: float
) -> None:
    client = OpenSearch(hosts=[search_url], timeout=5)
    deadline = time.monotonic() + timeout_s
    while True:
        counts = {}
        for index in expected:
            try:
                counts[index] = int(client.count(index=index)["count"])
            except Exception:  # the index appears with the first document
                counts[index] = 0
        if counts == expected or time.monotonic() > deadline:
            report.documents = counts
            return
        time.sleep(0.2)


_OPEN_LEG_STATUSES = frozenset({"new", "held", "accepted", "pending_new", "partially_filled"})


def _open_brackets(orders: list[OrderItem]) -> dict[str, OrderItem]:
    """The latest filled entry per ticker that carries both exits."""
    latest: dict[str, OrderItem] = {}
    for order in sorted(orders, key=lambda o: o.created_at):
        if order.purpose == "open" and order.status == "filled" and order.take_profit and order.stop_loss:
            latest[order.symbol] = order
    return latest


def move_markets(
    sup: Supervisor, backend: SqliteBackend, orders: list[OrderItem], report: DemoReport
) -> None:
    """Push each held ticker through its bracket's take-profit or its stop, alternately, then run the
    reconciler as its one-minute schedule would: exits, fills and P&L for the report to show. The demo's
    alerts alone fill at the broker's current price and leave every trade open at zero P&L."""
    broker = sup.paper_broker()
    keys = backend.local_secrets.alpaca("paper")
    if broker is None or keys is None or sup.broker_url is None:
        return
    held = {symbol: holding.qty for symbol, holding in broker.holdings().items()}
    # Brackets whose legs still wait at the broker (a cancel alert may have removed them).
    live_legs = {
        o.parent_client_order_id
        for o in broker.orders_since(datetime.now(UTC) - timedelta(days=1))
        if o.parent_client_order_id and o.status in _OPEN_LEG_STATUSES
    }
    prices: dict[str, str] = {}
    for ticker, order in sorted(_open_brackets(orders).items()):
        qty = held.get(ticker, Decimal(0))
        long = order.side is Side.BUY
        if order.client_order_id not in live_legs or qty == 0 or (qty > 0) != long:
            continue  # flat already, or the position is no longer this bracket's
        if order.take_profit is None or order.stop_loss is None:
            continue
        target = len(prices) % 2 == 0
        level = order.take_profit if target else order.stop_loss
        beyond = Decimal("1.002") if target == long else Decimal("0.998")
        price = (level * beyond).quantize(Decimal("0.01"))
        prices[ticker] = str(price)
        report.market_moves.append(f"{ticker:<6} -> {price} ({'take-profit' if target else 'stop'} leg)")
    if prices:
        headers = {
            "APCA-API-KEY-ID": keys.api_key.get_secret_value(),
            "APCA-API-SECRET-KEY": keys.secret_key.get_secret_value(),
        }
        httpx.post(f"{sup.broker_url}/_paper/prices", json=prices, headers=headers).raise_for_status()
    run_schedule_now(sup, backend, "reconcile")


def run_schedule_now(sup: Supervisor, backend: SqliteBackend, name: str, timeout_s: float = 60.0) -> bool:
    """Ask the workers to run a schedule now and wait until its run is counted."""
    counter = f"ScheduleRuns.{name}"
    day = datetime.now(UTC).date().isoformat()
    before = backend.metrics.on_day(day)[counter]
    sup.wake(name)
    deadline = time.monotonic() + timeout_s
    while backend.metrics.on_day(day)[counter] <= before:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def run_demo(sup: Supervisor, alerts: Path | None = None, timeout_s: float = 60.0) -> DemoReport:
    report = DemoReport()
    backend = sup.backend()
    passphrase = backend.local_secrets.passphrases()["default"].get_secret_value()
    signal_ids = send_alerts(sup.webhook_url, passphrase, alerts or bundled_alerts(), report)
    wait_until_settled(
        backend, signal_ids, report, timeout_s, reconcile=lambda: run_schedule_now(sup, backend, "reconcile")
    )
    # The market moves touch the broker's legs, never our order items: one read serves both.
    orders = recorded_orders(backend)
    move_markets(sup, backend, orders, report)
    count_orders(orders, report)
    expected: dict[str, Any] = {
        res.SIGNALS_TABLE.index_name or "": len(report.signals),
        res.ORDERS_TABLE.index_name or "": len(orders),
    }
    wait_for_documents(sup.search_url, expected, report, timeout_s=20)
    return report

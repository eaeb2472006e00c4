"""The live page in headless Chromium against a running `tradepipe local`: rows appear without a reload
while alerts are posted over HTTP, a trail opens, Halt (after its confirm) stops the next entry, markup in
alert fields stays text, and the browser console stays free of errors throughout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.local_stack import RunningLocal

pytestmark = pytest.mark.browser

# Entries priced from the paper broker's real daily bars (as in the bundled demo alerts): they fill.
ENTRIES = {
    "AAPL": ("BUY", 430.47, 421.86, 447.69),
    "MSFT": ("BUY", 27.95, 27.39, 29.07),
    "GOOG": ("BUY", 806.19, 794.10, 830.37),
    "IBM": ("SELL", 202.91, 204.94, 198.85),
}


def _entry(passphrase: str, ticker: str, strategy: str = "browser") -> dict[str, Any]:
    side, entry, stop, target = ENTRIES[ticker]
    return {
        "passphrase": passphrase,
        "signal": side,
        "ticker": ticker,
        "tradingMode": "Paper",
        "riskAmount": 100,
        "entryPrice": entry,
        "stopLoss": stop,
        "takeProfit": target,
        "timestamp": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "strategy": strategy,
        # Daily-chart alerts: their stops are a day's scale (on a 5m alert they would be measured against
        # 5-minute ATR and refused as too wide).
        "timeframe": "1D",
    }


def _post(stack: RunningLocal, body: dict[str, Any]) -> str:
    response = httpx.post(stack.webhook_url, json=body, timeout=10)
    assert response.status_code in (202, 422), response.text
    signal_id: str = response.json()["signal_id"]
    return signal_id


def _row(page: Page, signal_id: str) -> Any:
    return page.locator(f'#signal-rows tr[data-signal-id="{signal_id}"]')


@pytest.fixture
def page(browser: Any, local_stack: RunningLocal) -> Iterator[Page]:
    """A fresh page on the live URL; after the test, no console error and no uncaught exception."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    problems: list[str] = []
    opened.on(
        "console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None
    )
    opened.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))
    loads: list[str] = []
    opened.on("load", lambda p: loads.append(p.url))
    opened.goto(f"{local_stack.operator_url}/#token={local_stack.token}")
    expect(opened.locator("#conn")).to_contain_text("live", timeout=5000)
    opened.evaluate("window.__sameDocument = 'yes'")
    yield opened
    still_same = opened.evaluate("window.__sameDocument")
    context.close()
    assert problems == [], problems
    assert (len(loads), still_same) == (1, "yes")  # nothing reloaded the page


def test_live_page_when_alerts_posted_then_rows_appear_trail_opens_and_halt_stops_the_next_entry(
    page: Page, local_stack: RunningLocal
) -> None:
    # Rows appear within 2 s of each POST, without a reload.
    posted = []
    for ticker in ("AAPL", "MSFT", "GOOG"):
        signal_id = _post(local_stack, _entry(local_stack.passphrase, ticker))
        sent = time.monotonic()
        expect(_row(page, signal_id)).to_be_visible(timeout=2000)
        assert time.monotonic() - sent < 2.0
        posted.append(signal_id)
    assert page.locator("#signal-rows tr").first.get_attribute("data-signal-id") == posted[-1]

    # The trail: received ... filled, with the order ids and the fill.
    msft = posted[1]
    expect(_row(page, msft).locator("td").nth(4)).to_have_text("FILLED", timeout=20000)
    _row(page, msft).click()
    trail = page.locator("#trail")
    expect(trail).to_be_visible()
    expect(page.locator("#trail-id")).to_have_text(msft)
    steps = page.locator("#trail-steps li")
    expect(steps.first).to_contain_text("RECEIVED")
    expect(steps.last).to_contain_text("FILLED")
    expect(steps.first.locator("time")).to_have_attribute("datetime", _iso_pattern())
    order = page.locator("#trail-order-rows tr").first
    expect(order.locator("td").nth(0)).to_contain_text(f"tp-{msft}-open")
    expect(order.locator("td").nth(1)).not_to_have_text("–")  # Alpaca's order id
    expect(order.locator("td").nth(5)).to_contain_text(" @ ")  # filled qty @ average price

    # Today's counts and the account come from the table, the metric and the broker.
    expect(page.locator("#c-filled")).not_to_have_text("–", timeout=5000)
    expect(page.locator("#p-equity")).not_to_have_text("–", timeout=5000)

    # Halt: cancelling the confirm changes nothing; accepting it halts.
    expect(page.locator("#state-paper")).to_have_text("ACTIVE", timeout=5000)
    questions: list[str] = []

    def answer(accept: bool) -> None:
        def reply(dialog: Dialog) -> None:
            questions.append(dialog.message)
            if accept:
                dialog.accept()
            else:
                dialog.dismiss()

        page.once("dialog", reply)

    answer(False)
    page.locator("#halt-paper").click()
    assert _state(local_stack) == "ACTIVE"
    answer(True)
    page.locator("#halt-paper").click()
    expect(page.locator("#state-paper")).to_have_text("HALTED", timeout=3000)
    assert _state(local_stack) == "HALTED"
    assert len(questions) == 2
    assert all(q.startswith("Halt paper trading?") for q in questions)
    expect(page.locator("#halt-paper")).to_be_disabled()
    expect(page.locator("#resume-paper")).to_be_enabled()

    # The next entry is rejected by the risk stage, and the page shows why.
    halted = _post(local_stack, _entry(local_stack.passphrase, "IBM"))
    expect(_row(page, halted)).to_be_visible(timeout=2000)
    expect(_row(page, halted).locator("td").nth(4)).to_have_text("REJECTED", timeout=15000)
    expect(_row(page, halted).locator("td.reason")).to_contain_text("TRADING_HALTED")
    assert local_stack.operator().get(f"/signals/{halted}").json()["reject_reason"] == "TRADING_HALTED"


def test_live_page_when_alert_fields_hold_markup_then_shown_as_text_never_run(
    page: Page, local_stack: RunningLocal
) -> None:
    # An invalid alert is recorded with its (truncated) ticker and strategy: both come from the sender.
    body = _entry(local_stack.passphrase, "MSFT", strategy="<img src=x onerror=window.__xss=1>")
    body["ticker"] = "<b>x</b>"
    signal_id = _post(local_stack, body)

    row = _row(page, signal_id)
    expect(row).to_be_visible(timeout=2000)
    row.click()
    expect(page.locator("#trail-head")).to_contain_text("<img src=x onerror=window.__xss=1>")

    assert row.locator("td").nth(1).inner_text() == "<B>X</B>"
    assert row.locator("b, img").count() == 0
    assert page.locator("#trail img").count() == 0
    assert page.evaluate("window.__xss") is None


def _state(stack: RunningLocal) -> str:
    state: str = stack.operator().get("/trading-state/paper").json()["state"]
    return state


def _iso_pattern() -> Any:
    import re

    return re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")

"""The multi-ticker scanner (tradingview/scanner_v6_multi_ticker.pine) sends, at a bar close, one batch of
standard alerts, one per ticker that triggered, and each becomes the signal it means.

The script's messages are rendered as its renderAlert()/renderBatch() would (every %slot% filled with sample
values), then parsed: each element through the single-alert path (`decode_body`, `split_secret`,
`parse_alert`) exactly as if it had come alone, and the whole body through the intake's batch path
(`accept_alert`). Then the Pine source itself is checked for what
keeps the scan honest: no look-ahead, one request per ticker and at most 40, one alert per bar close.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.unit.test_pine_templates import PASSPHRASE, PINE, PINE_BREAKOUT_BUY, SLOT, fill, pine_messages

# Everything this test takes from tradepipe, in one place.
from tradepipe.adapters.memory import FixedClock, MemoryQueue, MemorySignalStore, StaticPassphrases
from tradepipe.api_http import intake_answer
from tradepipe.app.intake import AlertRequest, IntakeDeps, accept_alert
from tradepipe.domain.alerts.decode import decode_body
from tradepipe.domain.alerts.normalize import FieldError, parse_alert
from tradepipe.domain.model import Action, Mode, Side, Signal, SizingMode
from tradepipe.domain.parsing import split_secret
from tradepipe.resources import WEBHOOK_MAX_BODY_BYTES

SCANNER = "scanner_v6_multi_ticker"
SOURCE = PINE[SCANNER].read_text()
MAX_TICKERS = 40
ALERT_TIME = datetime(2024, 1, 1, 12, tzinfo=UTC)

# What renderAlert() fills in for one ticker on the bar of the sample batch (str.tostring, str.format_time).
_BAR = {"%mode%": "Paper", "%risk%": "100", "%time%": "2024-01-01T12:00:00Z", "%timeframe%": "5"}
TRIGGERED = [
    {**_BAR, "%strategy%": "scanner_breakout", "%signal%": "BUY", "%ticker%": "AAPL",
     "%price%": "150.25", "%stop%": "147.25", "%target%": "156.25"},
    {**_BAR, "%strategy%": "scanner_breakout", "%signal%": "SELL", "%ticker%": "MSFT",
     "%price%": "410.5", "%stop%": "418.12", "%target%": "395.26"},
    {**_BAR, "%strategy%": "scanner_breakout", "%signal%": "BUY", "%ticker%": "BRK.B",
     "%price%": "455.1", "%stop%": "449.86", "%target%": "465.58"},
]  # fmt: skip
# (side, ticker, entry, stop, take-profit, risk $) each element must become.
EXPECTED = [
    (Side.BUY, "AAPL", Decimal("150.25"), Decimal("147.25"), Decimal("156.25"), Decimal("100")),
    (Side.SELL, "MSFT", Decimal("410.5"), Decimal("418.12"), Decimal("395.26"), Decimal("100")),
    (Side.BUY, "BRK.B", Decimal("455.1"), Decimal("449.86"), Decimal("465.58"), Decimal("100")),
]

# The longest element the script can send: the longest ticker and strategy name its first-bar checks let
# through, "Production", and numbers and a timeframe as long as the parser takes at all.
LONGEST_NUMBER = "9999999999.99999999"  # 18 digits, 8 decimals: the parser's maximum
LARGEST_ELEMENT = {
    "%signal%": "SELL",
    "%ticker%": "ABCDEFGHIJ",
    "%mode%": "Production",
    "%risk%": LONGEST_NUMBER,
    "%price%": LONGEST_NUMBER,
    "%stop%": LONGEST_NUMBER,
    "%target%": LONGEST_NUMBER,
    "%time%": "2024-01-01T12:00:00Z",
    "%strategy%": "s" * 64,
    "%timeframe%": "t" * 16,
}


# ---- rendering the script's messages, and the batch parser stand-in ---------------------------------------


def render_element(values: dict[str, str]) -> str:
    """renderAlert(): the standard alert of one ticker."""
    return fill(pine_messages(SCANNER)["scanner_alert"], SLOT, values)


def render_batch(elements: list[str], passphrase: str = PASSPHRASE) -> str:
    """renderBatch(): the path-token template when the passphrase input is empty; the elements joined as
    the script joins them."""
    joiner = re.search(r'array\.join\(elements, "(.*?)"\)', SOURCE)
    assert joiner, f"{SCANNER}.pine no longer joins the alerts with array.join(elements, ...)"
    block = "scanner_batch" if passphrase else "scanner_batch_path_token"
    values = {"%alerts%": joiner.group(1).join(elements)}
    if passphrase:
        values["%passphrase%"] = passphrase
    return fill(pine_messages(SCANNER)[block], SLOT, values)


def parse_batch(raw: str) -> tuple[list[Signal], dict[str, Any]]:
    """The intake's batch path itself (`accept_alert` on in-memory ports, the batch answer as the webhook
    maps it): the signals it enqueued, in order, and the answer."""
    deps = IntakeDeps(
        secrets=StaticPassphrases(default=PASSPHRASE),
        store=MemorySignalStore(),
        queue=MemoryQueue(),
        clock=FixedClock(ALERT_TIME),
        dedupe_ttl_s=3600,
    )
    status, answer = intake_answer(accept_alert(AlertRequest(raw.encode()), deps))
    assert status == 202, answer
    sent = deps.queue.sent  # type: ignore[attr-defined]
    return [message.signal for message in sent], answer.model_dump(mode="json")


def through_webhook_alone(element: dict[str, Any]) -> tuple[str | None, Signal | list[FieldError]]:
    """One element sent as a body of its own: what the webhook does with any single alert."""
    body, _ = decode_body(json.dumps(element).encode())
    secret, rest = split_secret(body)
    return secret, parse_alert(rest)


def summary(parsed: Signal | list[FieldError]) -> tuple[Any, ...]:
    assert isinstance(parsed, Signal), parsed
    return (
        parsed.side,
        parsed.ticker,
        parsed.entry_price,
        parsed.stop_loss,
        parsed.take_profit,
        parsed.sizing_value,
    )


def three_ticker_batch(passphrase: str = PASSPHRASE) -> str:
    return render_batch([render_element(values) for values in TRIGGERED], passphrase)


# ---- the rendered batch ----------------------------------------------------------------------------------


def test_scanner_batch_then_strict_json_with_the_passphrase_once_at_the_top() -> None:
    body = json.loads(three_ticker_batch())  # strict: not the lenient second parse

    assert set(body) == {"passphrase", "alerts"}
    assert body["passphrase"] == PASSPHRASE
    assert len(body["alerts"]) == 3
    assert all(split_secret(element) == (None, element) for element in body["alerts"])


def test_scanner_batch_without_passphrase_input_then_no_secret_in_the_body() -> None:
    """The /webhook/<token> setup: the script's passphrase input is empty and the body carries none."""
    body = json.loads(three_ticker_batch(passphrase=""))

    assert set(body) == {"alerts"}
    assert "passphrase" not in three_ticker_batch(passphrase="")


@pytest.mark.parametrize("index", range(len(TRIGGERED)), ids=[v["%ticker%"] for v in TRIGGERED])
def test_scanner_element_sent_alone_then_the_signal_it_means(index: int) -> None:
    """Each element is a complete standard alert: sent as its own body it parses into its ticker's signal."""
    element = json.loads(three_ticker_batch())["alerts"][index]

    secret, parsed = through_webhook_alone(element)

    assert secret is None
    assert summary(parsed) == EXPECTED[index]
    assert isinstance(parsed, Signal)
    assert (parsed.action, parsed.sizing_mode) == (Action.ENTER, SizingMode.RISK_DOLLARS)
    assert parsed.mode == Mode.PAPER
    assert (parsed.strategy, parsed.timeframe, parsed.alert_time) == ("scanner_breakout", "5", ALERT_TIME)


def test_scanner_batch_through_batch_parser_then_one_signal_per_ticker() -> None:
    """3 triggered tickers -> 3 signals through the intake's batch path, in order, each its own id."""
    signals, answer = parse_batch(three_ticker_batch())

    assert [summary(s) for s in signals] == EXPECTED
    assert [r["signal_id"] for r in answer["results"]] == [s.signal_id for s in signals]
    assert [r["status"] for r in answer["results"]] == ["accepted"] * 3
    assert len({s.signal_id for s in signals}) == 3, "each ticker its own signal id"


def test_scanner_element_then_same_signal_as_the_single_chart_indicator() -> None:
    """Same values, same signal (and id): the scanner's element is the indicator's standard alert."""
    indicator = fill(pine_messages("indicator_v6_breakout")["indicator_alert"], SLOT, PINE_BREAKOUT_BUY)
    scanner = render_element({k: v for k, v in PINE_BREAKOUT_BUY.items() if k != "%passphrase%"})

    _, from_indicator = through_webhook_alone(json.loads(indicator))
    _, from_scanner = through_webhook_alone(json.loads(scanner))

    assert isinstance(from_scanner, Signal)
    assert from_scanner == from_indicator


@pytest.mark.parametrize("passphrase", ["", "p" * 1024], ids=["path_token", "passphrase_1024_chars"])
def test_scanner_batch_of_40_largest_elements_then_under_the_webhook_body_limit(passphrase: str) -> None:
    raw = render_batch([render_element(LARGEST_ELEMENT)] * MAX_TICKERS, passphrase).encode()

    assert len(raw) < WEBHOOK_MAX_BODY_BYTES, f"{len(raw)} bytes for {MAX_TICKERS} elements"
    body, _ = decode_body(raw)
    assert len(body["alerts"]) == MAX_TICKERS


def test_scanner_blocks_then_each_rendered_here() -> None:
    """A new message block in the scanner needs its own rendering test in this file."""
    assert set(pine_messages(SCANNER)) == {"scanner_alert", "scanner_batch", "scanner_batch_path_token"}


# ---- the script's first-bar checks agree with the parser ------------------------------------------------


def _pine_pattern(name: str) -> re.Pattern[str]:
    match = re.search(rf'^const string {name} = "(.*)"$', SOURCE, re.M)
    assert match, f"no {name} in {SCANNER}.pine"
    return re.compile(match.group(1))


@pytest.mark.parametrize(
    "ticker", ["AAPL", "BRK.B", "BF-B", "A", "ABCDEFGHIJ", "ABCDEFGHIJK", "ES1!", "1ABC", "BTC/USD", "SPY 2"]
)
def test_scanner_ticker_check_then_passes_exactly_what_the_parser_accepts(ticker: str) -> None:
    """The script refuses at the first bar a ticker every element would then carry into a 422."""
    element = json.loads(render_element({**TRIGGERED[0], "%ticker%": ticker}))

    _, parsed = through_webhook_alone(element)

    assert bool(_pine_pattern("TICKER_PATTERN").search(ticker)) == isinstance(parsed, Signal), parsed


@pytest.mark.parametrize(
    "name", ["scanner_breakout", "x.y-z_1", "s" * 64, "s" * 65, "Long Entry", "caf\u00e9", "a/b", ""]
)
def test_scanner_strategy_name_check_then_passes_exactly_what_the_parser_accepts(name: str) -> None:
    element = json.loads(render_element({**TRIGGERED[0], "%strategy%": name}))

    _, parsed = through_webhook_alone(element)

    assert bool(_pine_pattern("STRATEGY_PATTERN").search(name)) == isinstance(parsed, Signal), parsed


# ---- the Pine source: what keeps the scan honest --------------------------------------------------------


def _code() -> str:
    """The source without // comments, so prose about the rules cannot satisfy (or break) them."""
    return "\n".join(line.split("//")[0].rstrip() for line in SOURCE.splitlines())


def test_scanner_source_then_pine_v6_indicator_with_dynamic_requests() -> None:
    assert re.search(r"^//@version=6$", SOURCE, re.M)
    assert re.search(r"^indicator\(.*dynamic_requests = true", _code(), re.M)
    assert "strategy(" not in _code()


def test_scanner_source_then_no_lookahead_and_every_request_says_so() -> None:
    code = _code()
    calls = re.findall(r"request\.security\(.*", code)

    assert "lookahead_on" not in SOURCE
    assert calls
    assert all("lookahead = barmerge.lookahead_off" in call for call in calls)


def test_scanner_source_then_one_request_per_ticker_and_at_most_40_tickers() -> None:
    """request.*() appears once, inside the loop over the ticker list, and the list is capped at Pine's 40."""
    code = _code()
    requests = re.findall(r"\brequest\.\w+\(", code)
    loop = re.search(r"^for (\w+) in symbols\n((?:    .*\n)+)", code, re.M)

    assert requests == ["request.security("]
    assert loop, "no top-level loop over the ticker list"
    assert re.search(rf"request\.security\({loop.group(1)}, timeframe\.period,", loop.group(2))
    assert re.search(rf"^const int MAX_TICKERS = {MAX_TICKERS}$", code, re.M)
    assert re.search(r"if array\.size\(symbols\) > MAX_TICKERS\n\s+runtime\.error\(", code)


def test_scanner_source_then_one_alert_per_bar_close_on_confirmed_bars_only() -> None:
    code = _code()
    alerts = re.findall(r"\balert\((.*)\)$", code, re.M)

    assert alerts == ["renderBatch(alerts), alert.freq_once_per_bar_close"]
    assert re.search(r"^if barstate\.isconfirmed and array\.size\(alerts\) > 0\n    alert\(", code, re.M)
    assert "alertcondition(" not in code
    # Tickers are collected only on the bar's closing update, and only for the chart's own bar.
    assert re.search(r"if barstate\.isconfirmed and barTime == time", code)

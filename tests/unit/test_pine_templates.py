"""The TradingView templates in tradingview/ render to alerts our parser accepts, as the signals they mean.

Messages come from two places:
- tradingview/messages/*: the text a trader pastes into the alert's message box, with TradingView
  placeholders (`{{close}}`) and `CHANGE_ME` where the passphrase goes;
- the .pine files, between `// tradepipe:message-begin NAME` and `// tradepipe:message-end`: the Pine string
  literals the script sends, with `%slot%` markers the script fills in (or, for alertcondition(), the
  placeholders TradingView fills in).

Each is rendered as TradingView or the script would render it, with sample values, then goes through what the
webhook does with a raw body: `decode_body`, `split_secret`, `parse_alert`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradepipe.domain.alerts.decode import BodyNotUnderstood, decode_body
from tradepipe.domain.alerts.normalize import FieldError, parse_alert
from tradepipe.domain.model import Action, Mode, Side, Signal, SizingMode
from tradepipe.domain.parsing import split_secret

ROOT = Path(__file__).resolve().parents[2]
TRADINGVIEW = ROOT / "tradingview"
MESSAGES = TRADINGVIEW / "messages"
PINE = {path.stem: path for path in sorted(TRADINGVIEW.glob("*.pine"))}
# The multi-ticker scanner sends batches, not single alerts: test_pine_scanner.py renders its messages.
SINGLE_CHART = {stem for stem in PINE if not stem.startswith("scanner_")}

PASSPHRASE = "correct horse battery staple"
PLACEHOLDER = re.compile(r"\{\{.*?\}\}")
PLOT_PLACEHOLDER = re.compile(r'\{\{plot\(".*?"\)\}\}')
SLOT = re.compile(r"%[a-z]+%")
BLOCK = re.compile(r"^// tradepipe:message-begin (\S+)\n(.*?)^// tradepipe:message-end$", re.M | re.S)
PINE_LITERAL = re.compile(r"'([^'\\]*)'")
ALERT_TIME = datetime(2024, 1, 1, 12, tzinfo=UTC)

# What TradingView renders each placeholder as: on the bar of a long entry, and on the fill that closes it.
TV_BAR = {
    "{{ticker}}": "AAPL",
    "{{exchange}}": "NASDAQ",
    "{{close}}": "150.25",
    "{{timenow}}": "2024-01-01T12:00:00Z",
    "{{interval}}": "5",
    '{{plot("Stop")}}': "147.25",
    '{{plot("Target")}}': "156.25",
    '{{plot("Long stop")}}': "147.25",
    '{{plot("Long target")}}': "156.25",
    '{{plot("Short stop")}}': "153.25",
    '{{plot("Short target")}}': "144.25",
}
TV_ENTRY_FILL = {
    **TV_BAR,
    "{{strategy.order.action}}": "buy",
    "{{strategy.order.contracts}}": "33",
    "{{strategy.position_size}}": "33",
    "{{strategy.market_position}}": "long",
    "{{strategy.order.id}}": "Long",
}
TV_EXIT_FILL = {
    **TV_BAR,
    "{{strategy.order.action}}": "sell",
    "{{strategy.order.contracts}}": "33",
    "{{strategy.position_size}}": "0",
    "{{strategy.market_position}}": "flat",
    "{{strategy.order.id}}": "Close",
}

# What the Pine scripts fill each %slot% with on the same bar (str.tostring / str.format_time output).
PINE_BAR = {
    "%passphrase%": PASSPHRASE,
    "%ticker%": "AAPL",
    "%exchange%": "NASDAQ",
    "%price%": "150.25",
    "%time%": "2024-01-01T12:00:00Z",
    "%timeframe%": "5",
    "%mode%": "Paper",
    "%risk%": "100",
}
PINE_STRATEGY_ENTRY = {
    **PINE_BAR,
    "%strategy%": "sma_cross",
    "%contracts%": "33",
    "%stop%": "147.25",
    "%target%": "156.25",
}
PINE_STRATEGY_EXIT = {**PINE_BAR, "%strategy%": "sma_cross", "%contracts%": "33"}
PINE_BREAKOUT_BUY = {
    **PINE_BAR,
    "%strategy%": "donchian_breakout",
    "%signal%": "BUY",
    "%stop%": "147.25",
    "%target%": "156.25",
}
PINE_BREAKOUT_SELL = {
    **PINE_BAR,
    "%strategy%": "donchian_breakout",
    "%signal%": "SELL",
    "%stop%": "153.25",
    "%target%": "144.25",
}

STRATEGY_ALERT_KEYS = {
    "passphrase", "ticker", "exchange", "action", "contracts", "positionSize", "marketPosition", "orderId",
    "price", "time", "strategy", "timeframe", "tradingMode", "riskAmount", "stopLoss", "takeProfit",
}  # fmt: skip
STANDARD_ALERT_KEYS = {
    "passphrase", "signal", "ticker", "tradingMode", "riskAmount", "entryPrice", "stopLoss", "takeProfit",
    "timestamp", "strategy", "timeframe",
}  # fmt: skip

# ---- expected signals ------------------------------------------------------------------------------------

_COMMON = {"ticker": "AAPL", "mode": Mode.PAPER, "timeframe": "5", "alert_time": ALERT_TIME}
STRATEGY_ENTRY = {
    **_COMMON,
    "action": Action.ENTER,
    "side": Side.BUY,
    "strategy": "sma_cross",
    "exchange": "NASDAQ",
    "sizing_mode": SizingMode.RISK_DOLLARS,
    "sizing_value": Decimal("100"),
    "entry_price": Decimal("150.25"),
    "stop_loss": Decimal("147.25"),
    "take_profit": Decimal("156.25"),
    "strategy_position": Decimal("33"),
    "strategy_order_id": "Long",
}
STRATEGY_EXIT = {
    **_COMMON,
    "action": Action.EXIT,
    "side": None,
    "strategy": "sma_cross",
    "exchange": "NASDAQ",
    "sizing_mode": None,
    "sizing_value": None,
    "entry_price": Decimal("150.25"),
    "strategy_position": Decimal("0"),
    "strategy_order_id": "Close",
}
BREAKOUT_BUY = {
    **_COMMON,
    "action": Action.ENTER,
    "side": Side.BUY,
    "strategy": "donchian_breakout",
    "sizing_mode": SizingMode.RISK_DOLLARS,
    "sizing_value": Decimal("100"),
    "entry_price": Decimal("150.25"),
    "stop_loss": Decimal("147.25"),
    "take_profit": Decimal("156.25"),
}
BREAKOUT_SELL = {
    **BREAKOUT_BUY,
    "side": Side.SELL,
    "stop_loss": Decimal("153.25"),
    "take_profit": Decimal("144.25"),
}
TRADERSPOST_EXIT = {
    **_COMMON,
    "action": Action.EXIT,
    "side": None,
    "strategy": "donchian_breakout",
    "sizing_mode": None,
    "sizing_value": None,
    "entry_price": Decimal("150.25"),
}


# ---- reading and rendering the templates ----------------------------------------------------------------


def pine_messages(stem: str) -> dict[str, str]:
    """NAME -> the message text between the markers: its Pine string literals, concatenated."""
    blocks = BLOCK.findall(PINE[stem].read_text())
    assert blocks, f"{stem}.pine has no tradepipe:message-begin/end block"
    messages: dict[str, str] = {}
    for name, body in blocks:
        # The templates use neither escapes nor single quotes, so a literal is simply '...'.
        assert "\\" not in body, f"{stem}.pine block {name}: keep escapes out of message templates"
        literals = PINE_LITERAL.findall(body)
        assert literals, f"{stem}.pine block {name} holds no string literal"
        messages[name] = "".join(literals)
    return messages


def message_file(name: str) -> str:
    return (MESSAGES / name).read_text()


def fill(text: str, pattern: re.Pattern[str], values: Mapping[str, str]) -> str:
    """Replace every match of `pattern` from `values`; a marker without a sample value fails the test."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) not in values:
            pytest.fail(f"no sample value for {match.group(0)}: add it to this test's sample values")
        return values[match.group(0)]

    return pattern.sub(one, text)


def with_passphrase(text: str, key_value: bool = False) -> str:
    """What the trader does in the alert dialog: replace CHANGE_ME (quoted in key=value text: spaces)."""
    return text.replace("CHANGE_ME", shlex.quote(PASSPHRASE) if key_value else PASSPHRASE)


def tv_render(text: str, values: Mapping[str, str]) -> str:
    """TradingView filling in the message box: placeholders only, never %slots%."""
    return fill(text, PLACEHOLDER, values)


def pine_render(stem: str, block: str, values: Mapping[str, str]) -> str:
    """The script's render(): every %slot% of the template, as str.replace_all does."""
    return fill(pine_messages(stem)[block], SLOT, values)


def through_webhook(raw: str) -> tuple[str | None, Signal | list[FieldError], str]:
    """What the webhook does with the body: decode, take the secret off, parse."""
    body, encoding = decode_body(raw.encode())
    secret, rest = split_secret(body)
    return secret, parse_alert(rest), encoding


# ---- the rendered messages, one case each -----------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    sources: tuple[str, ...]  # "messages/<file>" and "<pine stem>:<block>" this case renders
    render: Callable[[], str]
    expected: dict[str, Any]
    encoding: str = "json"


def _strategy_via_alert_message(stem: str, block: str, values: Mapping[str, str]) -> Callable[[], str]:
    # The message box holds {{strategy.order.alert_message}}; TradingView puts the script's string there.
    return lambda: tv_render(
        message_file("strategy_alert_message.txt"),
        {"{{strategy.order.alert_message}}": pine_render(stem, block, values)},
    )


def _pine_built(stem: str, block: str, values: Mapping[str, str]) -> Callable[[], str]:
    # alert(): the script's string is the whole body.
    return lambda: pine_render(stem, block, values)


def _pine_alertcondition(stem: str, block: str) -> Callable[[], str]:
    # alertcondition(): the message box is pre-filled with the script's fixed text; TradingView renders it.
    return lambda: tv_render(with_passphrase(pine_messages(stem)[block]), TV_BAR)


def _cases() -> list[Case]:
    cases = [
        Case(
            "strategy_placeholders_entry_fill",
            ("messages/strategy_placeholders.json",),
            lambda: tv_render(with_passphrase(message_file("strategy_placeholders.json")), TV_ENTRY_FILL),
            STRATEGY_ENTRY,
        ),
        Case(
            "strategy_placeholders_exit_fill",
            ("messages/strategy_placeholders.json",),
            lambda: tv_render(with_passphrase(message_file("strategy_placeholders.json")), TV_EXIT_FILL),
            {**STRATEGY_EXIT, "stop_loss": Decimal("147.25"), "take_profit": Decimal("156.25")},
        ),
        Case(
            "indicator_alertcondition_buy_file",
            ("messages/indicator_alertcondition_buy.json",),
            lambda: tv_render(with_passphrase(message_file("indicator_alertcondition_buy.json")), TV_BAR),
            BREAKOUT_BUY,
        ),
        Case(
            "indicator_alertcondition_sell_file",
            ("messages/indicator_alertcondition_sell.json",),
            lambda: tv_render(with_passphrase(message_file("indicator_alertcondition_sell.json")), TV_BAR),
            BREAKOUT_SELL,
        ),
        Case(
            "traderspost_exit",
            ("messages/traderspost_exit.json",),
            lambda: tv_render(with_passphrase(message_file("traderspost_exit.json")), TV_BAR),
            TRADERSPOST_EXIT,
        ),
        Case(
            "keyvalue_fallback",
            ("messages/keyvalue_fallback.txt",),
            lambda: tv_render(with_passphrase(message_file("keyvalue_fallback.txt"), key_value=True), TV_BAR),
            BREAKOUT_BUY,
            encoding="key-value",
        ),
    ]
    for version in ("v5", "v6"):
        strategy, indicator = f"strategy_{version}_sma_cross", f"indicator_{version}_breakout"
        cases += [
            Case(
                f"{strategy}_entry",
                (f"{strategy}:strategy_entry", "messages/strategy_alert_message.txt"),
                _strategy_via_alert_message(strategy, "strategy_entry", PINE_STRATEGY_ENTRY),
                STRATEGY_ENTRY,
            ),
            Case(
                f"{strategy}_exit",
                (f"{strategy}:strategy_exit", "messages/strategy_alert_message.txt"),
                _strategy_via_alert_message(strategy, "strategy_exit", PINE_STRATEGY_EXIT),
                STRATEGY_EXIT,
            ),
            Case(
                f"{indicator}_alert_buy",
                (f"{indicator}:indicator_alert",),
                _pine_built(indicator, "indicator_alert", PINE_BREAKOUT_BUY),
                BREAKOUT_BUY,
            ),
            Case(
                f"{indicator}_alert_sell",
                (f"{indicator}:indicator_alert",),
                _pine_built(indicator, "indicator_alert", PINE_BREAKOUT_SELL),
                BREAKOUT_SELL,
            ),
            Case(
                f"{indicator}_alertcondition_buy",
                (f"{indicator}:indicator_alertcondition_buy",),
                _pine_alertcondition(indicator, "indicator_alertcondition_buy"),
                BREAKOUT_BUY,
            ),
            Case(
                f"{indicator}_alertcondition_sell",
                (f"{indicator}:indicator_alertcondition_sell",),
                _pine_alertcondition(indicator, "indicator_alertcondition_sell"),
                BREAKOUT_SELL,
            ),
        ]
    return cases


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rendered_template_then_signal_it_means(case: Case) -> None:
    secret, parsed, encoding = through_webhook(case.render())

    assert secret == PASSPHRASE
    assert encoding == case.encoding
    assert isinstance(parsed, Signal), parsed
    assert {field: getattr(parsed, field) for field in case.expected} == case.expected


def test_every_message_file_and_pine_block_then_has_a_rendering_case() -> None:
    sources = {f"messages/{p.name}" for p in MESSAGES.iterdir() if p.is_file()}
    sources |= {f"{stem}:{block}" for stem in SINGLE_CHART for block in pine_messages(stem)}
    covered = {source for case in CASES for source in case.sources}

    assert sources - covered == set(), "a template with no rendering case in this test"
    assert covered - sources == set(), "a case for a template that does not exist"


# ---- the templates agree with each other ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["strategy_{}_sma_cross", "indicator_{}_breakout"])
def test_pine_v5_and_v6_then_same_messages(kind: str) -> None:
    assert pine_messages(kind.format("v5")) == pine_messages(kind.format("v6"))


@pytest.mark.parametrize("stem", sorted(PINE))
def test_pine_template_slot_then_filled_by_the_script(stem: str) -> None:
    source = PINE[stem].read_text()
    slots = {slot for text in pine_messages(stem).values() for slot in SLOT.findall(text)}

    assert slots, "no %slot% at all: the script would send fixed text"
    assert {s for s in slots if f'str.replace_all(m, "{s}",' not in source} == set()


@pytest.mark.parametrize("side", ["buy", "sell"])
@pytest.mark.parametrize("version", ["v5", "v6"])
def test_pine_alertcondition_then_same_alert_as_message_file(side: str, version: str) -> None:
    in_pine = pine_messages(f"indicator_{version}_breakout")[f"indicator_alertcondition_{side}"]
    in_file = message_file(f"indicator_alertcondition_{side}.json")

    def rendered(text: str) -> dict[str, Any]:
        return decode_body(tv_render(with_passphrase(text), TV_BAR).encode())[0]

    assert rendered(in_pine) == rendered(in_file)
    assert set(PLACEHOLDER.findall(in_pine)) == set(PLACEHOLDER.findall(in_file))


ENTRY_TEMPLATES: dict[str, tuple[Callable[[], str], set[str]]] = {
    "strategy_entry": (
        lambda: pine_render("strategy_v6_sma_cross", "strategy_entry", PINE_STRATEGY_ENTRY),
        STRATEGY_ALERT_KEYS,
    ),
    "strategy_placeholders": (
        lambda: tv_render(with_passphrase(message_file("strategy_placeholders.json")), TV_ENTRY_FILL),
        STRATEGY_ALERT_KEYS,
    ),
    "indicator_alert": (
        lambda: pine_render("indicator_v6_breakout", "indicator_alert", PINE_BREAKOUT_BUY),
        STANDARD_ALERT_KEYS,
    ),
    "indicator_alertcondition": (
        lambda: tv_render(with_passphrase(message_file("indicator_alertcondition_buy.json")), TV_BAR),
        STANDARD_ALERT_KEYS,
    ),
}


@pytest.mark.parametrize("name", sorted(ENTRY_TEMPLATES))
def test_entry_template_then_carries_every_key_of_its_format(name: str) -> None:
    render, keys = ENTRY_TEMPLATES[name]

    assert set(decode_body(render().encode())[0]) == keys


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("strategy_placeholders.json", "strategy"),
        ("indicator_alertcondition_buy.json", "indicator"),
        ("indicator_alertcondition_sell.json", "indicator"),
        ("keyvalue_fallback.txt", "indicator"),
    ],
)
def test_plot_placeholder_then_names_a_plot_of_its_script(name: str, kind: str) -> None:
    """A renamed plot would leave {{plot("...")}} with nothing to render."""
    used = set(re.findall(r'\{\{plot\("(.*?)"\)\}\}', message_file(name)))
    assert used

    for stem in (s for s in PINE if s.startswith(kind)):
        titles = set(re.findall(r'^plot\([^,]+, "([^"]+)"', PINE[stem].read_text(), re.M))
        assert used <= titles, f"{stem}.pine has no plot titled {used - titles}"


@pytest.mark.parametrize("stem", sorted(PINE))
def test_pine_script_then_passphrase_is_an_input_not_code(stem: str) -> None:
    source = PINE[stem].read_text()

    assert 'input.string("", "Webhook passphrase"' in source
    assert set(re.findall(r'"passphrase": "([^"]*)"', source)) <= {
        "%passphrase%",
        "CHANGE_ME",
        "<your input>",
    }


@pytest.mark.parametrize("stem", ["strategy_v5_sma_cross", "strategy_v6_sma_cross"])
def test_strategy_script_then_documents_its_message_box(stem: str) -> None:
    header = PINE[stem].read_text().split("//@version=")[0]

    assert "//@strategy_alert_message {{strategy.order.alert_message}}" in header
    assert message_file("strategy_alert_message.txt").strip() in header
    assert "process_orders_on_close = true" in PINE[stem].read_text()


@pytest.mark.parametrize("stem", ["indicator_v5_breakout", "indicator_v6_breakout"])
def test_indicator_script_then_alerts_once_per_bar_close(stem: str) -> None:
    source = PINE[stem].read_text()

    assert source.count("alert.freq_once_per_bar_close") == source.count("alert(render(") == 2
    assert len(re.findall(r"^alertcondition\(", source, re.M)) == 2


# ---- what goes wrong, and what the webhook then says ------------------------------------------------

PLACEHOLDER_MESSAGES = {
    "strategy_placeholders.json": lambda: message_file("strategy_placeholders.json"),
    "indicator_alertcondition_buy.json": lambda: message_file("indicator_alertcondition_buy.json"),
    "indicator_alertcondition_sell.json": lambda: message_file("indicator_alertcondition_sell.json"),
    "traderspost_exit.json": lambda: message_file("traderspost_exit.json"),
    "keyvalue_fallback.txt": lambda: message_file("keyvalue_fallback.txt"),
    "indicator_v6_breakout:buy": lambda: pine_messages("indicator_v6_breakout")[
        "indicator_alertcondition_buy"
    ],
    "indicator_v5_breakout:sell": lambda: pine_messages("indicator_v5_breakout")[
        "indicator_alertcondition_sell"
    ],
}


@pytest.mark.parametrize("name", sorted(PLACEHOLDER_MESSAGES))
def test_unrendered_placeholders_then_field_error_names_each_field(name: str) -> None:
    """Sent as typed (e.g. pasted into a plain price alert): each field still holding `{{...}}` is named.

    Only `{{plot("...")}}` is rendered here: in JSON it sits outside quotes, so left as text the body would
    not be JSON at all (see the next test)."""
    key_value = name.endswith(".txt")
    text = with_passphrase(PLACEHOLDER_MESSAGES[name](), key_value)
    if not key_value:
        text = fill(text, PLOT_PLACEHOLDER, TV_BAR)
    body, _ = decode_body(text.encode())
    holding = {key for key, value in body.items() if isinstance(value, str) and PLACEHOLDER.search(value)}

    secret, parsed, _ = through_webhook(text)

    assert secret == PASSPHRASE
    assert holding, "nothing left unrendered: the sample is not testing anything"
    assert isinstance(parsed, list)
    assert {e.field for e in parsed} == holding
    assert all("placeholder" in e.message for e in parsed)


@pytest.mark.parametrize(
    "name",
    ["strategy_placeholders.json", "indicator_alertcondition_buy.json", "indicator_alertcondition_sell.json"],
)
def test_unrendered_json_with_bare_plot_placeholder_then_body_not_understood(name: str) -> None:
    """`"stopLoss": {{plot("Stop")}}` is not JSON until rendered: the webhook answers 400, not 422."""
    with pytest.raises(BodyNotUnderstood):
        decode_body(with_passphrase(message_file(name)).encode())


def test_alert_message_placeholder_left_as_text_then_body_not_understood() -> None:
    """`{{strategy.order.alert_message}}` on an indicator (or a strategy order without alert_message): 400."""
    with pytest.raises(BodyNotUnderstood):
        decode_body(message_file("strategy_alert_message.txt").encode())


@pytest.mark.parametrize(
    ("name", "plot", "field"),
    [
        ("strategy_placeholders.json", '{{plot("Stop")}}', "stopLoss"),
        ("strategy_placeholders.json", '{{plot("Target")}}', "takeProfit"),
        ("indicator_alertcondition_buy.json", '{{plot("Long stop")}}', "stopLoss"),
        ("indicator_alertcondition_sell.json", '{{plot("Short target")}}', "takeProfit"),
        ("keyvalue_fallback.txt", '{{plot("Long stop")}}', "stopLoss"),
    ],
)
def test_plot_renders_nan_then_field_error_names_it(name: str, plot: str, field: str) -> None:
    text = with_passphrase(message_file(name), key_value=name.endswith(".txt"))

    _, parsed, _ = through_webhook(tv_render(text, {**TV_ENTRY_FILL, plot: "NaN"}))

    assert isinstance(parsed, list)
    assert [e.field for e in parsed] == [field]


@pytest.mark.parametrize(("slot", "field"), [("%stop%", "stopLoss"), ("%target%", "takeProfit")])
def test_pine_value_is_na_then_field_error_names_it(slot: str, field: str) -> None:
    """str.tostring(na) is "NaN", e.g. the ATR stop before the ATR has enough bars."""
    raw = pine_render("indicator_v6_breakout", "indicator_alert", {**PINE_BREAKOUT_BUY, slot: "NaN"})

    _, parsed, _ = through_webhook(raw)

    assert isinstance(parsed, list)
    assert [e.field for e in parsed] == [field]


def test_keyvalue_passphrase_with_spaces_unquoted_then_body_not_understood() -> None:
    """In key=value text a value with spaces must be quoted, or the body is not understood (400)."""
    text = tv_render(message_file("keyvalue_fallback.txt").replace("CHANGE_ME", PASSPHRASE), TV_BAR)

    with pytest.raises(BodyNotUnderstood):
        decode_body(text.encode())


def test_strategy_entry_without_risk_amount_then_sized_by_contracts() -> None:
    """Deleting riskAmount from the placeholder message makes TradingView's own order size the size."""
    text = tv_render(with_passphrase(message_file("strategy_placeholders.json")), TV_ENTRY_FILL)
    text = re.sub(r'\s*"riskAmount": [^,]*,', "", text)

    _, parsed, _ = through_webhook(text)

    assert isinstance(parsed, Signal)
    assert (parsed.sizing_mode, parsed.sizing_value) == (SizingMode.FIXED_QUANTITY, Decimal("33"))


@given(
    ticker=st.from_regex(r"[A-Z]{1,5}(\.[A-Z])?", fullmatch=True),
    cents=st.integers(min_value=200, max_value=10_000_000),
    stop_cents=st.integers(min_value=1, max_value=199),
    qty=st.integers(min_value=1, max_value=100_000),
)
def test_pine_strategy_entry_any_values_then_parsed_as_rendered(
    ticker: str, cents: int, stop_cents: int, qty: int
) -> None:
    price, stop = Decimal(cents) / 100, Decimal(cents - stop_cents) / 100
    target = price + 2 * (price - stop)
    values = {
        **PINE_STRATEGY_ENTRY,
        "%ticker%": ticker,
        "%price%": str(price),
        "%stop%": str(stop),
        "%target%": str(target),
        "%contracts%": str(qty),
    }

    _, parsed, _ = through_webhook(pine_render("strategy_v6_sma_cross", "strategy_entry", values))

    assert isinstance(parsed, Signal), parsed
    assert (parsed.ticker, parsed.entry_price, parsed.stop_loss, parsed.take_profit) == (
        ticker,
        price,
        stop,
        target,
    )
    assert parsed.strategy_position == qty

"""The pure parts of issue 18.4 and 20.1: dedupe windows of alerts without a time, strategy keys, nesting
depth, repeated keys and key=value batches, the checks a valid alert alone decides, stop-limit legs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tradepipe.domain.alerts.checks import check_alert
from tradepipe.domain.alerts.decode import MAX_DEPTH, BodyNotUnderstood, decode_body, repeated_keys
from tradepipe.domain.alerts.normalize import unresolved_placeholders
from tradepipe.domain.alerts.windows import dedupe_window, window_seconds
from tradepipe.domain.exits import risk_per_share
from tradepipe.domain.model import OrderType, RejectReason, Side, Signal
from tradepipe.domain.order_rules import EntryOrder, validate_order
from tradepipe.domain.parsing import parse_alert
from tradepipe.domain.signal_id import strategy_key

# ---- dedupe windows --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeframe", "seconds"),
    [("1", 60), ("5", 300), ("5m", 300), ("15", 900), ("30", 1800), ("60", 1800), ("240", 1800),
     ("45", 900), ("1S", 60), ("30S", 60), ("unknown", 60), ("1D", None), ("1W", None)],
)  # fmt: skip
def test_window_then_the_bar_where_its_edges_are_known_never_two_bars(
    timeframe: str, seconds: int | None
) -> None:
    assert window_seconds(timeframe) == seconds


@pytest.mark.parametrize("open_utc", [time for time in ("13:30", "14:30")], ids=["summer", "winter"])
@pytest.mark.parametrize("bar_minutes", [1, 5, 15, 30, 60, 120, 240, 45])
def test_window_then_never_spans_a_bar_edge_of_a_session_opening_at_9_30_new_york(
    open_utc: str, bar_minutes: int
) -> None:
    hour, minute = map(int, open_utc.split(":"))
    session_open = datetime(2024, 3, 4, hour, minute, tzinfo=UTC)
    seconds = window_seconds(str(bar_minutes))
    assert seconds is not None
    for k in range(1, 8):
        edge = session_open + timedelta(minutes=bar_minutes * k)
        just_before = edge - timedelta(seconds=1)
        assert dedupe_window(just_before, str(bar_minutes)) != dedupe_window(edge, str(bar_minutes))


def test_window_of_a_daily_alert_then_the_day_from_05_utc() -> None:
    evening = datetime(2024, 3, 4, 23, 59, tzinfo=UTC)
    early = datetime(2024, 3, 5, 4, 59, tzinfo=UTC)
    next_day = datetime(2024, 3, 5, 5, 0, tzinfo=UTC)

    assert dedupe_window(evening, "1D") == dedupe_window(early, "1D") == datetime(2024, 3, 4, 5, tzinfo=UTC)
    assert dedupe_window(next_day, "1D") == next_day


def _traderspost(**over: object) -> dict[str, object]:
    return {"ticker": "IBM", "action": "buy", "quantity": 2, "signalPrice": 200, "timeframe": "5"} | over


def test_alert_without_time_then_same_id_within_its_bar_new_id_on_the_next() -> None:
    bar = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)

    first, again, next_bar = (
        parse_alert(_traderspost(), received_at=bar + timedelta(seconds=s)) for s in (1, 299, 300)
    )

    assert isinstance(first, Signal)
    assert isinstance(again, Signal)
    assert isinstance(next_bar, Signal)
    assert first.signal_id == again.signal_id != next_bar.signal_id


def test_alert_with_time_then_its_id_ignores_when_it_arrived() -> None:
    body = _traderspost(time="2024-03-04T15:00:00Z")

    one, other = (parse_alert(body, received_at=datetime(2024, 3, d, tzinfo=UTC)) for d in (4, 9))

    assert isinstance(one, Signal)
    assert isinstance(other, Signal)
    assert one.signal_id == other.signal_id
    assert one.dedupe_window is None


# ---- strategy names and keys -----------------------------------------------------------------------------


def test_strategy_key_then_key_safe_names_unchanged_others_slug_and_hash() -> None:
    assert strategy_key("momentum_breakout") == "momentum_breakout"
    assert strategy_key("Long Entry").startswith("Long-Entry~")
    assert strategy_key("Long Entry") != strategy_key("Long-Entry") != strategy_key("Long#Entry")
    assert "#" not in strategy_key("A#B")
    assert " " not in strategy_key("A B")


def test_strategy_name_then_kept_as_rendered_in_nfc_and_control_characters_refused() -> None:
    decomposed = parse_alert(_traderspost(strategy="Cafe\u0301 Long"))
    tab = parse_alert(_traderspost(strategy="Long\tEntry"))

    assert isinstance(decomposed, Signal)
    assert decomposed.strategy == "Caf\u00e9 Long"
    assert isinstance(tab, list)
    assert [e.field for e in tab] == ["strategy"]


# ---- decoding -------------------------------------------------------------------------------------------


def test_depth_limit_then_the_deepest_accepted_shape_passes_one_more_level_refused() -> None:
    nested = '{"a": ' * (MAX_DEPTH - 1) + "{}" + "}" * (MAX_DEPTH - 1)
    deeper = '{"a": ' * MAX_DEPTH + "{}" + "}" * MAX_DEPTH

    decode_body(nested.encode())
    with pytest.raises(BodyNotUnderstood, match=f"nests {MAX_DEPTH + 1} levels"):
        decode_body(deeper.encode())


def test_deep_enough_to_exhaust_the_parser_then_refused_not_raised() -> None:
    with pytest.raises(BodyNotUnderstood, match="levels deep"):
        decode_body(("[" * 100_000 + "]" * 100_000).encode())


@pytest.mark.parametrize(
    "hostile",
    [b'{"' + b'\\"' * 8_000, b"{" + b"{{" * 8_000, b"{" + b"{{x" * 5_000, b'{"a": "' + b"{{" * 8_000],
    ids=["escaped quotes", "open braces", "braces and names", "braces in a string"],
)
def test_a_hostile_body_is_read_in_linear_time_before_anything_is_trusted(hostile: bytes) -> None:
    # Read before the passphrase: a regex retried from every position took ~1 s of CPU on each 16 KB body,
    # while the intake's event loop waited. Linear, it takes about a millisecond; the bound leaves room for
    # a loaded machine and still fails the quadratic scan by an order of magnitude.
    started = time.process_time()
    with pytest.raises(BodyNotUnderstood):
        decode_body(hostile)

    assert time.process_time() - started < 0.1


def test_a_placeholder_left_in_a_value_is_found_as_before_in_linear_time() -> None:
    started = time.process_time()
    hostile = unresolved_placeholders({"comment": "{{" * 8_000, "note": "{{x" * 5_000})
    assert time.process_time() - started < 0.1  # the old regex: ~1 s for these values

    assert hostile == []
    found = unresolved_placeholders({"ticker": "{{ticker}}", "a": "x {{a}b}} y", "b": "{{\nclose\n}}"})
    assert [(e.field, e.message.split(" placeholder ")[1].split(":")[0]) for e in found] == [
        ("ticker", "{{ticker}}"),
        ("a", "{{a}b}}"),  # whatever sits between the braces, within one line, as before
    ]


def test_a_lone_surrogate_then_refused_a_pair_and_an_escaped_backslash_kept() -> None:
    # No UTF-8 text holds a lone surrogate: the record, the log line and the answer could not be written.
    for lone in (b'{"passphrase": "\\udc80"}', b'{"ticker": "\\uD800x"}', b'{"\\udfff": 1}'):
        with pytest.raises(BodyNotUnderstood, match="surrogate"):
            decode_body(lone)

    body, _ = decode_body(b'{"a": "\\ud83d\\ude00", "b": "\\\\ud800"}')

    assert body == {"a": "\U0001f600", "b": "\\ud800"}


def test_an_unrendered_placeholder_is_named_and_no_other_braced_text_is_quoted() -> None:
    with pytest.raises(BodyNotUnderstood, match=r"\{\{strategy\.order\.alert_message\}\}"):
        decode_body(b"{{strategy.order.alert_message}}")
    with pytest.raises(BodyNotUnderstood, match=r'\{\{plot\("RSI"\)\}\}'):
        decode_body(b'{"ticker": "AAPL", "rsi": {{plot("RSI")}}}')
    # Doubled braces around an alert: refused, and its passphrase is not quoted back to whoever sent it.
    with pytest.raises(BodyNotUnderstood) as refused:
        decode_body(b'{{"passphrase": "hunter2", "ticker": "AAPL"}}')

    assert "hunter2" not in str(refused.value)


def test_repeated_keys_then_named_with_their_path() -> None:
    body, _ = decode_body(b'{"a": 1, "a": 2, "alerts": [{"t": 1}, {"t": 1, "t": 2}]}')

    assert repeated_keys(body) == ["a", "alerts.1.t"]


def test_key_value_blocks_then_a_batch_with_the_header_passphrase() -> None:
    body, encoding = decode_body(b"passphrase=p\n\nticker=AAPL signal=BUY\n \nticker=MSFT signal=SELL\n")

    assert encoding == "key-value"
    assert body == {"passphrase": "p", "alerts": [{"ticker": "AAPL", "signal": "BUY"},
                                                   {"ticker": "MSFT", "signal": "SELL"}]}  # fmt: skip


def test_key_value_header_and_one_block_then_a_single_alert() -> None:
    body, _ = decode_body(b"passphrase=p\n\nticker=AAPL\nticker=MSFT")

    assert body == {"passphrase": "p", "ticker": "MSFT"}
    assert repeated_keys(body) == ["ticker"]


# ---- what the alert alone decides ------------------------------------------------------------------------


def _standard(**over: object) -> Signal:
    body = {"signal": "BUY", "ticker": "AAPL", "riskAmount": 100, "entryPrice": 150, "stopLoss": 148,
            "takeProfit": 155, "timestamp": "2024-01-01T12:00:00Z"} | over  # fmt: skip
    parsed = parse_alert(body)
    assert isinstance(parsed, Signal), parsed
    return parsed


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"stopLoss": 150}, RejectReason.ZERO_STOP_DISTANCE),
        ({"stopLoss": 150.004}, RejectReason.ZERO_STOP_DISTANCE),  # rounded onto the tick grid: the entry
        ({"stopLoss": 151}, RejectReason.STOP_WRONG_SIDE),
        ({"takeProfit": 149}, RejectReason.TAKE_PROFIT_WRONG_SIDE),
        ({"riskAmount": 1.99}, RejectReason.SIZE_BELOW_ONE_SHARE),
        ({"signal": "SELL", "stopLoss": 152, "takeProfit": 140, "riskAmount": 1.99},
         RejectReason.SIZE_BELOW_ONE_SHARE),
    ],
)  # fmt: skip
def test_check_alert_then_the_reason(over: dict[str, object], reason: RejectReason) -> None:
    refused = check_alert(_standard(**over))

    assert refused is not None
    assert refused.reason is reason


def test_check_alert_when_the_alert_can_trade_then_none() -> None:
    assert check_alert(_standard()) is None
    assert check_alert(_standard(riskAmount=2)) is None  # exactly one share's risk


def test_stop_limit_then_risk_per_share_to_the_limit_and_the_limit_on_the_far_side() -> None:
    ok = parse_alert(_traderspost(stopLoss={"type": "stop_limit", "stopPrice": 195, "limitPrice": 194}))
    wrong = parse_alert(_traderspost(stopLoss={"type": "stop_limit", "stopPrice": 195, "limitPrice": 196}))

    assert isinstance(ok, Signal)
    assert isinstance(wrong, Signal)
    assert check_alert(ok) is None
    refused = check_alert(wrong)
    assert refused is not None
    assert refused.reason is RejectReason.STOP_LIMIT_WRONG_SIDE
    assert risk_per_share(Decimal(200), Decimal(195), Decimal(194)) == Decimal(6)
    assert risk_per_share(Decimal(200), Decimal(195)) == Decimal(5)


def test_order_rules_then_a_stop_limit_leg_on_the_grid_and_beyond_its_stop() -> None:
    def entry(limit: str) -> EntryOrder:
        return EntryOrder(
            side=Side.BUY,
            qty=Decimal(1),
            order_type=OrderType.MARKET,
            time_in_force="gtc",
            reference_price=Decimal(200),
            stop_loss=Decimal(195),
            stop_limit_price=Decimal(limit),
        )

    assert validate_order(entry("194.5")) is None
    assert validate_order(entry("195")) is None
    for bad in ("195.5", "194.555"):
        refused = validate_order(entry(bad))
        assert refused is not None
        assert refused.reason is RejectReason.ORDER_INVALID

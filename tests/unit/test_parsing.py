from __future__ import annotations

import json

import pytest

from tests.unit.builders import alert_body
from tradepipe.app.lot_book import protective_id
from tradepipe.domain.model import Mode, Side, Signal
from tradepipe.domain.parsing import BodyNotUnderstood, FieldError, decode_body, parse_alert, split_secret
from tradepipe.domain.signal_id import client_order_id, sent_for_another_purpose


def _body(**overrides: object) -> dict[str, object]:
    return split_secret(alert_body(**overrides))[1]


def test_parse_alert_when_standard_payload_then_normalized_signal() -> None:
    parsed = parse_alert(_body())

    assert isinstance(parsed, Signal)
    assert (parsed.side, parsed.ticker, parsed.mode) == (Side.BUY, "AAPL", Mode.PAPER)
    assert str(parsed.entry_price) == "150.25"
    assert parsed.alert_time.utcoffset() is not None


def test_parse_alert_when_spelled_differently_then_same_signal_id() -> None:
    a = parse_alert(_body())
    b = parse_alert(
        alert_body(
            signal="buy",
            ticker=" aapl ",
            riskAmount=100,
            takeProfit="155.00",
            timestamp="2024-01-01T13:00:00+01:00",
            passphrase="another one",
        )
    )

    assert isinstance(a, Signal)
    assert isinstance(b, Signal)
    assert a.signal_id == b.signal_id


@pytest.mark.parametrize(
    "change",
    [
        {"timestamp": "2024-01-01T12:05:00Z"},
        {"ticker": "MSFT"},
        {"riskAmount": 101},
        {"tradingMode": "Production"},
        {"strategy": "other"},
    ],
)
def test_parse_alert_when_content_differs_then_signal_id_differs(change: dict[str, object]) -> None:
    a, b = parse_alert(_body()), parse_alert(_body(**change))

    assert isinstance(a, Signal)
    assert isinstance(b, Signal)
    assert a.signal_id != b.signal_id


def test_parse_alert_when_production_then_live_mode() -> None:
    parsed = parse_alert(_body(tradingMode="Production"))

    assert isinstance(parsed, Signal)
    assert parsed.mode is Mode.LIVE


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"riskAmount": None}, "riskAmount"),
        ({"ticker": None}, "ticker"),
        ({"signal": "HOLD"}, "signal"),
        ({"entryPrice": -1}, "entryPrice"),
        ({"entryPrice": 0}, "entryPrice"),
        ({"riskAmount": "lots"}, "riskAmount"),
        ({"timestamp": "2024-01-01 12:00:00"}, "timestamp"),
        ({"tradingMode": "Demo"}, "tradingMode"),
        ({"ticker": "AA PL"}, "ticker"),
        # Before the first (after the last) UTC instant a datetime holds: an error, not an OverflowError.
        ({"timestamp": "0001-01-01T00:00:00+01:00"}, "timestamp"),
        ({"timestamp": "9999-12-31T23:59:59-01:00"}, "timestamp"),
    ],
)
def test_parse_alert_when_field_is_bad_then_error_names_it(overrides: dict[str, object], field: str) -> None:
    parsed = parse_alert(_body(**overrides))

    assert isinstance(parsed, list)
    assert field in {e.field for e in parsed}


def test_parse_alert_errors_never_echo_the_input() -> None:
    parsed = parse_alert(_body(entryPrice="hunter2-secret"))

    assert isinstance(parsed, list)
    assert all("hunter2" not in e.message for e in parsed if isinstance(e, FieldError))


@pytest.mark.parametrize("raw", [b"BUY AAPL now", b"[1, 2]", b"{broken", b"", b"\xff\xfe"])
def test_decode_body_when_neither_json_nor_key_value_then_not_understood(raw: bytes) -> None:
    with pytest.raises(BodyNotUnderstood):
        decode_body(raw)


def test_decode_body_round_trips_an_alert() -> None:
    assert decode_body(json.dumps(alert_body()).encode()) == (alert_body(), "json")


def test_client_order_id_is_deterministic_and_within_alpaca_limit() -> None:
    coid = client_order_id("a" * 32, "open")

    assert coid == client_order_id("a" * 32, "open")
    assert len(coid) <= 48
    with pytest.raises(ValueError, match="too long"):
        client_order_id("a" * 60)


def test_only_an_entrys_id_reads_as_an_entry_of_ours() -> None:
    entry = client_order_id("a" * 32, "open")
    others = [
        client_order_id("a" * 32, "close"),  # an exit's, a reverse's or a flatten's close
        protective_id(entry, "flat", 1_764_000_000),  # the reconciler flattening a lot
        protective_id(entry, "restore", "b" * 12),  # a lot's stop put back
        "tp-flat-paper-IBM-1764000000",  # the reconciler flattening a ticker without lots
    ]

    assert not sent_for_another_purpose(entry)
    assert all(sent_for_another_purpose(coid) for coid in others)
    assert not sent_for_another_purpose("my-own-order-1")  # placed by hand: not ours to tell

"""Batched alerts (issue 20.1) through the real webhook handler against moto: one body, several alerts, each
its own signal (id, deduplication, staleness, record, queue message) as if it had come alone."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from tests.integration.conftest import PASSPHRASE, Aws
from tests.integration.test_webhook_handler import _item, _post, handler
from tests.unit.builders import alert_body, fresh_timestamp
from tests.unit.test_pine_scanner import ALERT_TIME, EXPECTED, TRIGGERED, render_batch, render_element
from tradepipe.adapters.memory import FixedClock
from tradepipe.resources import WEBHOOK_MAX_BATCH_ALERTS, WEBHOOK_MAX_BODY_BYTES

pytestmark = pytest.mark.usefixtures("empty_queues")
__all__ = ["handler"]  # the module-scoped fixture, shared with test_webhook_handler

TICKERS = [f"T{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(40)]


def _drain(aws: Aws) -> list[dict[str, Any]]:
    sqs: Any = aws.client("sqs")
    url = aws.provisioned.queues["signals"].url
    messages: list[dict[str, Any]] = []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            messages.append(json.loads(m["Body"]))
    return messages


def _element(ticker: str, strategy: str, **overrides: Any) -> dict[str, Any]:
    """A standard alert without its passphrase (the batch carries it once)."""
    return alert_body(
        passphrase=None, ticker=ticker, strategy=strategy, timestamp=fresh_timestamp(), **overrides
    )


def _batch(elements: list[dict[str, Any]], passphrase: str | None = PASSPHRASE) -> str:
    top = {} if passphrase is None else {"passphrase": passphrase}
    return json.dumps({**top, "alerts": elements})


def _statuses(answer: dict[str, Any]) -> list[str]:
    return [r["status"] for r in answer["results"]]


def test_batch_of_40_standard_alerts_then_202_forty_signals_under_the_body_limit(
    handler: Any, aws: Aws
) -> None:
    body = _batch([_element(t, "batch_40") for t in TICKERS])

    status, answer = _post(handler, body)

    assert len(body.encode()) < WEBHOOK_MAX_BODY_BYTES
    assert status == 202
    assert [r["index"] for r in answer["results"]] == list(range(40))
    assert _statuses(answer) == ["accepted"] * 40
    ids = [r["signal_id"] for r in answer["results"]]
    assert len(set(ids)) == 40
    queued = _drain(aws)
    assert sorted(q["signal"]["signal_id"] for q in queued) == sorted(ids)
    assert {q["signal"]["ticker"] for q in queued} == set(TICKERS)
    item = _item(aws, ids[7])
    assert item is not None
    assert (item["status"]["S"], item["ticker"]["S"]) == ("ENQUEUED", TICKERS[7])
    assert PASSPHRASE not in json.dumps(item)


def test_batch_with_one_invalid_element_then_202_the_others_accepted_it_rejected(
    handler: Any, aws: Aws
) -> None:
    elements = [
        _element("AAPL", "one_bad"),
        _element("MSFT", "one_bad", stopLoss=999.0),
        _element("NVDA", "one_bad"),
    ]

    status, answer = _post(handler, _batch(elements))

    assert status == 202
    assert _statuses(answer) == ["accepted", "rejected", "accepted"]
    bad = answer["results"][1]
    assert (bad["reason"], [e["field"] for e in bad["errors"]]) == ("STOP_WRONG_SIDE", ["stopLoss"])
    item = _item(aws, bad["signal_id"])
    assert item is not None
    assert (item["status"]["S"], item["reject_reason"]["S"]) == ("REJECTED", "STOP_WRONG_SIDE")
    assert sorted(q["signal"]["ticker"] for q in _drain(aws)) == ["AAPL", "NVDA"]


def test_batch_sent_twice_then_200_every_element_a_duplicate_with_its_id(handler: Any, aws: Aws) -> None:
    body = _batch([_element(t, "twice") for t in ("AAPL", "MSFT", "IBM")])
    _, first = _post(handler, body)
    _drain(aws)

    status, second = _post(handler, body)

    assert status == 200
    assert _statuses(second) == ["duplicate"] * 3
    assert [r["signal_id"] for r in second["results"]] == [r["signal_id"] for r in first["results"]]
    assert _drain(aws) == []


def test_batch_of_duplicates_and_a_rejection_then_200(handler: Any, aws: Aws) -> None:
    """200 when every accepted-or-known element was a duplicate, whatever else was rejected."""
    good = _element("AAPL", "dup_and_bad")
    _post(handler, _batch([good]))
    _drain(aws)

    status, answer = _post(handler, _batch([good, _element("IBM", "dup_and_bad", riskAmount=None)]))

    assert (status, _statuses(answer)) == (200, ["duplicate", "rejected"])


def test_batch_of_mixed_formats_then_each_parsed_as_alone(handler: Any, aws: Aws) -> None:
    traderspost = {
        "ticker": "IBM",
        "action": "buy",
        "quantity": 2,
        "signalPrice": 200,
        "time": fresh_timestamp(),
    }
    strategy = {
        "ticker": "MSFT",
        "action": "buy",
        "contracts": 3,
        "positionSize": 3,
        "marketPosition": "long",
        "price": 410.5,
        "time": fresh_timestamp(),
        "strategy": "Long Entry",
        "timeframe": "1D",
        "tradingMode": "Paper",
    }
    elements = [_element("AAPL", "mixed"), traderspost, strategy]

    status, answer = _post(handler, _batch(elements))

    assert (status, _statuses(answer)) == (202, ["accepted"] * 3)
    by_ticker = {q["signal"]["ticker"]: q["signal"] for q in _drain(aws)}
    assert by_ticker["AAPL"]["sizing_mode"] == "RISK_DOLLARS"
    assert (by_ticker["IBM"]["sizing_mode"], by_ticker["IBM"]["sizing_value"]) == ("FIXED_QUANTITY", "2")
    assert (by_ticker["MSFT"]["strategy"], by_ticker["MSFT"]["strategy_position"]) == ("Long Entry", "3")


def test_batch_of_key_value_blocks_then_one_signal_per_block(handler: Any, aws: Aws) -> None:
    time = fresh_timestamp()
    block = "signal=BUY ticker={} risk=100 entry=150.25 stop=148.5 strategy=kv_blocks time=" + time
    body = f"passphrase='{PASSPHRASE}'\n\n" + "\n\n".join(block.format(t) for t in ("AAPL", "MSFT"))

    status, answer = _post(handler, body, content_type="text/plain")

    assert (status, _statuses(answer)) == (202, ["accepted", "accepted"])
    assert sorted(q["signal"]["ticker"] for q in _drain(aws)) == ["AAPL", "MSFT"]


def test_batch_with_passphrase_in_the_path_then_accepted(handler: Any, aws: Aws) -> None:
    status, answer = _post(
        handler,
        _batch([_element("AAPL", "path_token")], passphrase=None),
        path=f"/webhook/{PASSPHRASE}",
        resource="/webhook/{token}",
        path_parameters={"token": PASSPHRASE},
    )

    assert (status, _statuses(answer)) == (202, ["accepted"])


def test_batch_with_wrong_passphrase_then_401_nothing_recorded(handler: Any, aws: Aws) -> None:
    status, answer = _post(handler, _batch([_element("AAPL", "wrong_secret")], passphrase="nope"))

    assert status == 401
    assert "results" not in answer
    assert _drain(aws) == []


def test_batch_with_no_valid_element_then_422(handler: Any, aws: Aws) -> None:
    elements = [_element("AAPL", "none_valid", riskAmount=None), "not an alert"]

    status, answer = _post(handler, _batch(elements))

    assert (status, answer["status"]) == (422, "rejected")
    assert _statuses(answer) == ["rejected", "rejected"]
    assert [r["reason"] for r in answer["results"]] == ["INVALID_ALERT", "INVALID_ALERT"]
    assert _drain(aws) == []


def test_batch_element_with_a_key_twice_then_only_that_element_rejected(handler: Any, aws: Aws) -> None:
    one, two = (json.dumps(_element(t, "element_twice")) for t in ("AAPL", "MSFT"))
    two = two.replace('"ticker": "MSFT"', '"ticker": "MSFT", "ticker": "TSLA"')
    body = f'{{"passphrase": "{PASSPHRASE}", "alerts": [{one}, {two}]}}'

    status, answer = _post(handler, body)

    assert (status, _statuses(answer)) == (202, ["accepted", "rejected"])
    assert answer["results"][1]["errors"][0]["field"] == "ticker"


def test_batch_over_the_body_limit_then_413_naming_the_maximum(handler: Any, aws: Aws) -> None:
    body = _batch([_element(f"T{i}", "over_limit", note="x" * 400) for i in range(40)])

    status, answer = _post(handler, body)

    assert len(body.encode()) > WEBHOOK_MAX_BODY_BYTES
    assert status == 413
    assert f"the limit is {WEBHOOK_MAX_BODY_BYTES} bytes" in answer["message"]
    assert _drain(aws) == []


def test_batch_of_more_alerts_than_allowed_then_413_naming_the_maximum(handler: Any, aws: Aws) -> None:
    body = _batch([{"ticker": "A"}] * (WEBHOOK_MAX_BATCH_ALERTS + 1))

    status, answer = _post(handler, body)

    assert status == 413
    assert f"the limit is {WEBHOOK_MAX_BATCH_ALERTS} alerts per body" in answer["message"]


def test_scanner_message_for_three_tickers_then_three_signals_with_their_stops(
    handler: Any, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tradingview/scanner_v6_multi_ticker.pine's rendered batch, at the bar it was rendered for."""
    monkeypatch.setattr("tradepipe.composition.clock", lambda: FixedClock(_bar_close()))
    body = render_batch([render_element(values) for values in TRIGGERED], PASSPHRASE)

    status, answer = _post(handler, body)

    assert (status, _statuses(answer)) == (202, ["accepted"] * 3)
    signals = {q["signal"]["ticker"]: q["signal"] for q in _drain(aws)}
    for side, ticker, entry, stop, target, risk in EXPECTED:
        got = signals[ticker]
        assert (
            got["side"],
            got["entry_price"],
            got["stop_loss"],
            got["take_profit"],
            got["sizing_value"],
        ) == (
            side.value,
            str(entry),
            str(stop),
            str(target),
            str(risk),
        )


def _bar_close() -> datetime:
    return ALERT_TIME

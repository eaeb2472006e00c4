"""Issue 18.4 through the real webhook handler (functions/api) against moto: what a hostile or careless body
costs (400 before anything is trusted, never a 500), what the alert alone decides (422, recorded REJECTED
with its reason code), and what makes two alerts the same signal."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.conftest import PASSPHRASE, Aws
from tests.integration.test_webhook_handler import _item, _post, _queued, handler
from tests.unit.builders import alert_body, fresh_timestamp
from tradepipe.adapters.memory import FixedClock

pytestmark = pytest.mark.usefixtures("empty_queues")
__all__ = ["handler"]  # the module-scoped fixture, shared with test_webhook_handler


def _standard(strategy: str, **overrides: Any) -> dict[str, Any]:
    """A valid standard alert, its strategy naming the test so no two tests share a signal id."""
    return alert_body(passphrase=PASSPHRASE, timestamp=fresh_timestamp(), strategy=strategy, **overrides)


def _traderspost(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "passphrase": PASSPHRASE,
        "ticker": "IBM",
        "action": "buy",
        "signalPrice": 200.0,
        "quantity": 3,
        "time": fresh_timestamp(),
        "strategy": "tp_rules",
    }
    return {k: v for k, v in {**body, **overrides}.items() if v is not None}


# ---- 400: nothing in the body can be trusted ----------------------------------------------------------


def test_webhook_when_body_nests_5000_deep_then_400_no_traceback_logged(
    handler: Any, aws: Aws, caplog: pytest.LogCaptureFixture
) -> None:
    body = '{"passphrase": "' + PASSPHRASE + '", "x": ' + "[" * 5000 + "]" * 5000 + "}"

    with caplog.at_level(logging.DEBUG):
        status, answer = _post(handler, body)

    assert status == 400
    assert "nests 5001 levels deep; at most 8" in answer["message"]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert _queued(aws) == []


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param(
            '{"passphrase": "%s", "signal": "BUY", "ticker": "AAPL", "ticker": "MSFT", "tradingMode":'
            ' "Paper", "riskAmount": 100, "entryPrice": 150, "stopLoss": 148, "timestamp": "%s"}',
            "ticker",
            id="json-ticker-twice",
        ),
        pytest.param(
            '{"passphrase": "wrong", "passphrase": "%s", "signal": "BUY", "ticker": "AAPL", "tradingMode":'
            ' "Paper", "riskAmount": 100, "entryPrice": 150, "stopLoss": 148, "timestamp": "%s"}',
            "passphrase",
            id="json-passphrase-twice",
        ),
        pytest.param(
            "passphrase='%s'\nsignal=BUY\nticker=AAPL\nrisk=100\nrisk=1000\nentry=150\nstop=148\ntime=%s",
            "risk",
            id="key-value-risk-twice",
        ),
    ],
)
def test_webhook_when_a_key_is_given_twice_then_400_naming_it_nothing_recorded(
    handler: Any, aws: Aws, body: str, named: str
) -> None:
    status, answer = _post(handler, body % (PASSPHRASE, fresh_timestamp()))

    assert status == 400
    assert "given more than once" in answer["message"]
    assert named in answer["message"]
    assert "signal_id" not in answer
    assert PASSPHRASE not in json.dumps(answer)
    assert _queued(aws) == []


def test_webhook_when_passphrase_and_secret_both_given_then_400(handler: Any, aws: Aws) -> None:
    body = _standard("both_secrets", secret=PASSPHRASE)

    status, answer = _post(handler, json.dumps(body))

    assert (status, answer["status"]) == (400, "malformed")
    assert "passphrase is given twice" in answer["message"]


# ---- 422 on the fields -------------------------------------------------------------------------------------


def test_webhook_when_ticker_not_ascii_then_422_and_never_ibm(handler: Any, aws: Aws) -> None:
    status, answer = _post(handler, json.dumps(_standard("dotless_i", ticker="\u0131bm")))

    assert status == 422
    assert [e["field"] for e in answer["errors"]] == ["ticker"]
    item = _item(aws, answer["signal_id"])
    assert item is not None
    assert item["ticker"]["S"] != "IBM"
    assert _queued(aws) == []


def test_webhook_when_mode_is_not_a_mode_then_422_naming_trading_mode(handler: Any, aws: Aws) -> None:
    status, answer = _post(handler, json.dumps(_standard("bad_mode", tradingMode="Prod")))

    assert (status, answer["reason"]) == (422, "INVALID_ALERT")
    assert [e["field"] for e in answer["errors"]] == ["tradingMode"]


def test_webhook_when_strategy_named_as_rendered_then_202_kept_for_display(handler: Any, aws: Aws) -> None:
    """{{strategy.order.id}} renders names such as `Long Entry`: kept as sent; keys derive from it."""
    status, answer = _post(handler, json.dumps(_standard("Long Entry")))

    assert status == 202
    item = _item(aws, answer["signal_id"])
    assert item is not None
    assert item["strategy"]["S"] == "Long Entry"
    assert [q["signal"]["strategy"] for q in _queued(aws)] == ["Long Entry"]


def test_webhook_when_traderspost_quantity_without_type_then_202_fixed_quantity(
    handler: Any, aws: Aws
) -> None:
    status, answer = _post(handler, json.dumps(_traderspost()))

    assert status == 202
    item = _item(aws, answer["signal_id"])
    assert item is not None
    assert (item["sizing_mode"]["S"], item["sizing_value"]["N"]) == ("FIXED_QUANTITY", "3")


def test_webhook_when_traderspost_stop_limit_then_202_with_the_leg_limit(handler: Any, aws: Aws) -> None:
    stop = {"type": "stop_limit", "stopPrice": 195.0, "limitPrice": 194.5}

    status, answer = _post(handler, json.dumps(_traderspost(stopLoss=stop, strategy="tp_stop_limit")))

    assert status == 202
    item = _item(aws, answer["signal_id"])
    assert item is not None
    assert (item["stop_loss"]["N"], item["stop_limit_price"]["N"]) == ("195.0", "194.5")
    [queued] = _queued(aws)
    assert queued["signal"]["stop_limit_price"] == "194.5"


@pytest.mark.parametrize(
    ("stop", "message"),
    [
        ({"type": "stop_limit", "stopPrice": 195.0}, "type stop_limit needs limitPrice"),
        ({"type": "stop", "stopPrice": 195.0, "limitPrice": 194.5}, "limitPrice is for type stop_limit"),
        ({"type": "trailing_stop", "percent": 2}, "a trailing stop cannot be a bracket leg"),
    ],
    ids=["stop-limit-without-limit", "stop-with-limit", "trailing"],
)
def test_webhook_when_traderspost_stop_spec_inconsistent_then_422(
    handler: Any, aws: Aws, stop: dict[str, Any], message: str
) -> None:
    status, answer = _post(handler, json.dumps(_traderspost(stopLoss=stop, strategy="tp_bad_stop")))

    assert status == 422
    assert any(message in e["message"] for e in answer["errors"]), answer
    assert [e["field"].split(".")[0] for e in answer["errors"]] == ["stopLoss"]


# ---- 422: what the alert alone decides, recorded with its reason ----------------------------------------


@pytest.mark.parametrize(
    ("body", "reason", "field"),
    [
        pytest.param(
            _standard("wrong_stop", stopLoss=151.0), "STOP_WRONG_SIDE", "stopLoss", id="stop-above-buy"
        ),
        pytest.param(
            _standard("wrong_stop_sell", signal="SELL", stopLoss=149.0, takeProfit=140.0),
            "STOP_WRONG_SIDE",
            "stopLoss",
            id="stop-below-sell",
        ),
        pytest.param(
            _standard("wrong_target", takeProfit=150.0),
            "TAKE_PROFIT_WRONG_SIDE",
            "takeProfit",
            id="target-at-entry",
        ),
        pytest.param(
            _standard("zero_stop", stopLoss=150.25), "ZERO_STOP_DISTANCE", "stopLoss", id="stop-at-entry"
        ),
        pytest.param(
            _standard("tiny_risk", riskAmount=1.0),
            "SIZE_BELOW_ONE_SHARE",
            "riskAmount",
            id="risk-below-a-share",
        ),
        pytest.param(
            _traderspost(quantity=0.5, stopLoss={"stopPrice": 195.0}, strategy="tp_half"),
            "SIZE_BELOW_ONE_SHARE",
            "quantity",
            id="fraction-with-a-stop",
        ),
        pytest.param(
            _traderspost(stopLoss={"type": "stop_limit", "stopPrice": 195.0, "limitPrice": 196.0}),
            "STOP_LIMIT_WRONG_SIDE",
            "stopLoss.limitPrice",
            id="stop-limit-above-its-stop",
        ),
        pytest.param(
            _traderspost(stopLoss={"percent": 2}, takeProfit={"limitPrice": 199.0}, strategy="tp_pct"),
            "TAKE_PROFIT_WRONG_SIDE",
            "takeProfit.limitPrice",
            id="traderspost-target-below-buy",
        ),
    ],
)
def test_webhook_when_the_alert_alone_cannot_trade_then_422_recorded_with_its_reason(
    handler: Any, aws: Aws, body: dict[str, Any], reason: str, field: str
) -> None:
    status, answer = _post(handler, json.dumps(body))

    assert (status, answer["reason"]) == (422, reason), answer
    assert [e["field"] for e in answer["errors"]] == [field]
    item = _item(aws, answer["signal_id"])
    assert item is not None
    assert (item["status"]["S"], item["reject_reason"]["S"]) == ("REJECTED", reason)
    assert item["ticker"]["S"] in ("AAPL", "IBM")  # the whole signal is on the record, for the trail
    assert _queued(aws) == []
    # A repeat is the same signal: a duplicate, not a second record.
    assert _post(handler, json.dumps(body))[0] == 200


# ---- what makes two alerts the same signal ----------------------------------------------------------------


def _at(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    monkeypatch.setattr("tradepipe.composition.clock", lambda: FixedClock(when))


def test_webhook_when_alert_without_time_repeats_within_its_bar_then_duplicate_next_bar_new_signal(
    handler: Any, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = json.dumps(_traderspost(time=None, strategy="no_time_5m", timeframe="5"))
    bar = datetime.now(UTC).replace(second=0, microsecond=0)
    bar -= timedelta(minutes=bar.minute % 5)

    _at(monkeypatch, bar + timedelta(seconds=10))
    status, first = _post(handler, body)
    _at(monkeypatch, bar + timedelta(minutes=4, seconds=59))
    again, second = _post(handler, body)
    _at(monkeypatch, bar + timedelta(minutes=5))
    next_bar, third = _post(handler, body)

    assert (status, again, next_bar) == (202, 200, 202)
    assert second["signal_id"] == first["signal_id"]
    assert third["signal_id"] != first["signal_id"]
    assert len(_queued(aws)) == 2


def test_webhook_when_alert_with_time_repeats_a_day_later_then_still_duplicate(
    handler: Any, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = json.dumps(_standard("timed_repeat"))
    _, first = _post(handler, body)

    _at(monkeypatch, datetime.now(UTC) + timedelta(days=1))
    status, again = _post(handler, body)

    assert (status, again["signal_id"]) == (200, first["signal_id"])

"""The Alpaca adapters run alpaca-py in `raw_data` mode and read its JSON themselves: each view must be what
alpaca-py's own models of the same answer give (the adapter read those models before), for every shape an
answer takes (strings or JSON numbers, nanosecond times, nulls, `""` fields, nested legs, short positions),
and a malformed answer must still fail rather than become an order."""

from __future__ import annotations

import copy
import json
from datetime import UTC
from decimal import Decimal
from typing import Any

import pytest
import requests
from alpaca.data.models import Quote
from alpaca.trading.models import Order, Position
from pydantic import ValidationError

from tests.alpaca_models import broker_order
from tradepipe.adapters.alpaca import AlpacaBroker
from tradepipe.adapters.market_data import AlpacaMarketData
from tradepipe.domain.model import Mode
from tradepipe.ports.broker import BrokerOrder, HoldingView

PARENT_ID = "61e69015-8549-4bfd-b9c3-01e75843f47d"


def _order(**over: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": PARENT_ID,
        "client_order_id": "tp-s-open",
        "created_at": "2024-01-02T15:00:00.123456789Z",
        "updated_at": "2024-01-02T15:00:00.2Z",
        "submitted_at": "2024-01-02T15:00:00.123456789Z",
        "filled_at": None,
        "expired_at": None,
        "expires_at": None,
        "canceled_at": None,
        "failed_at": None,
        "replaced_at": None,
        "replaced_by": None,
        "replaces": None,
        "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
        "symbol": "AAPL",
        "asset_class": "us_equity",
        "notional": None,
        "qty": "10",
        "filled_qty": "0",
        "filled_avg_price": None,
        "order_class": "bracket",
        "order_type": "market",
        "type": "market",
        "side": "buy",
        "time_in_force": "gtc",
        "limit_price": None,
        "stop_price": None,
        "status": "accepted",
        "extended_hours": False,
        "legs": None,
        "trail_percent": None,
        "trail_price": None,
        "hwm": None,
    }
    return order | over


def _leg(coid: str, **over: Any) -> dict[str, Any]:
    return _order(
        id=f"{coid[-1]}1e69015-8549-4bfd-b9c3-01e75843f47d",
        client_order_id=coid,
        order_class="",
        **over,
    )


FILLED_WITH_LEGS = _order(
    status="filled",
    filled_qty="10",
    filled_avg_price="187.4",
    filled_at="2024-01-02T15:00:00.05Z",
    legs=[
        _leg("leg-a", order_type="limit", type="limit", side="sell", limit_price="195.1", status="new"),
        _leg("leg-b", order_type="stop", type="stop", side="sell", stop_price="180", status="held"),
    ],
)
ANSWERS = {
    "filled bracket with legs": FILLED_WITH_LEGS,
    "JSON numbers": _order(qty=10, filled_qty=2.5, filled_avg_price=187, limit_price=190.25, stop_price=0),
    "empty and absent fields": _order(symbol="", side="", order_type="", qty=None, filled_qty=""),
    "no order_type key": {k: v for k, v in _order().items() if k != "order_type"},
    "naive and offset times": _order(
        submitted_at="2024-01-02T15:00:00", filled_at="2024-01-02T10:00:00-05:00"
    ),
    "a status alpaca-py knows, uppercase id": _order(status="pending_cancel", id=PARENT_ID.upper()),
}


class _Answers(requests.Session):
    """alpaca-py's session: answers every request with the next JSON body, as the API would."""

    def __init__(self, *bodies: object) -> None:
        super().__init__()
        self.bodies = list(bodies)

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = 200
        response.encoding = "utf-8"
        response._content = json.dumps(self.bodies.pop(0)).encode()
        return response


def _broker(*bodies: object) -> AlpacaBroker:
    broker = AlpacaBroker(Mode.PAPER, "key", "secret", url_override="http://127.0.0.1:9")
    broker._client._session = _Answers(*bodies)
    return broker


def _same(found: BrokerOrder | None, expected: BrokerOrder) -> None:
    assert found == expected
    assert found is not None
    assert [str(v) for v in vars(found).values()] == [str(v) for v in vars(expected).values()]


@pytest.mark.parametrize("answer", list(ANSWERS.values()), ids=list(ANSWERS))
def test_an_order_reads_as_alpaca_pys_order_model_reads_it(answer: dict[str, Any]) -> None:
    expected = broker_order(Order(**copy.deepcopy(answer)))

    _same(_broker(answer).find_order("tp-s-open"), expected)
    _same(_broker(answer).submit_close("AAPL", Decimal(10), "tp-s-open"), expected)
    listed = _broker([answer]).recent_orders("AAPL", 5)
    assert len(listed) == 1
    _same(listed[0], expected)


def test_an_order_with_legs_lists_the_order_then_its_legs_as_alpaca_py_models_gave_them() -> None:
    expected = broker_order(Order(**copy.deepcopy(FILLED_WITH_LEGS)))
    family = _broker(FILLED_WITH_LEGS).order_family(PARENT_ID)
    opened = _broker([FILLED_WITH_LEGS]).open_orders("AAPL")

    for listed in (family, opened):
        assert listed == [expected, *expected.legs]
        assert [o.parent_client_order_id for o in listed] == [None, "tp-s-open", "tp-s-open"]
    assert {o.broker_order_id for o in _broker([FILLED_WITH_LEGS]).orders_since(expected.submitted_at)} == {
        o.broker_order_id for o in family
    }


@pytest.mark.parametrize(
    "broken",
    [
        {k: v for k, v in _order().items() if k != "client_order_id"},
        _order(submitted_at=None),
        _order(submitted_at="yesterday"),
        _order(id="not-a-uuid"),
        _order(qty="ten"),
        _order(legs=["not an order"]),
        _order(status=None),  # not the text "None": neither working nor terminal, a stop taken for absent
        _order(status="weird"),
        _order(status="NEW"),
        _order(side="Buy"),
        _order(order_type="xx"),
        _order(legs=[_leg("leg-a", status=None)]),
    ],
)
def test_a_malformed_order_fails_as_before_instead_of_becoming_an_order(
    broken: dict[str, Any],
) -> None:
    with pytest.raises((ValueError, ArithmeticError)):  # pydantic's ValidationError, Decimal's
        broker_order(Order(**copy.deepcopy(broken)))
    with pytest.raises(TypeError):
        _broker(broken).find_order("tp-s-open")


def _position(**over: Any) -> dict[str, Any]:
    position: dict[str, Any] = {
        "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
        "symbol": "AAPL",
        "exchange": "NASDAQ",
        "asset_class": "us_equity",
        "avg_entry_price": "187.4",
        "qty": "10",
        "side": "long",
        "market_value": "1874.00",
        "cost_basis": "1874",
        "current_price": "187.4",
    }
    return position | over


def test_holdings_read_as_alpaca_pys_position_model_reads_them() -> None:
    answer = [
        _position(),
        _position(symbol="IBM", side="short", qty="-3", market_value="-600.3", current_price=None),
        _position(symbol="MSFT", market_value=None),
    ]
    expected = {}
    for p in (Position(**copy.deepcopy(a)) for a in answer):
        sign = Decimal(-1) if p.side.value == "short" else Decimal(1)
        expected[p.symbol] = HoldingView(
            qty=sign * abs(Decimal(p.qty)),
            market_value=sign * abs(Decimal(str(p.market_value or 0))),
            avg_entry_price=Decimal(p.avg_entry_price),
            current_price=None if p.current_price is None else Decimal(p.current_price),
        )

    assert _broker(answer).holdings() == expected
    with pytest.raises(TypeError):
        _broker([{k: v for k, v in _position().items() if k != "qty"}]).holdings()


@pytest.mark.parametrize(
    "broken",
    [
        _position(qty=None),  # not a flat position
        _position(avg_entry_price=None),
        _position(symbol=None),
        _position(side=None),  # not a long: a short's stop on the wrong side
        _position(side=""),
        _position(side="Short"),
    ],
)
def test_a_malformed_position_fails_as_alpaca_pys_position_model_does(broken: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Position(**copy.deepcopy(broken))
    with pytest.raises(TypeError):
        _broker([broken]).holdings()


def _market_data(*bodies: object) -> AlpacaMarketData:
    data = AlpacaMarketData("key", "secret", url_override="http://127.0.0.1:9")
    data._client._session = _Answers(*bodies)
    return data


@pytest.mark.parametrize(
    "raw",
    [
        {"t": "2024-01-02T15:00:00.123456789Z", "ap": 187.42, "as": 1, "bp": 187.4, "bs": 3, "c": ["R"]},
        {"t": "2024-01-02T15:00:00Z", "ap": 188, "bp": 187, "as": 1, "bs": 1},
        {"t": "2024-01-02T15:00:00", "ap": "187.5", "bp": "187.25", "as": 1, "bs": 1},
    ],
)
def test_the_latest_quote_reads_as_alpaca_pys_quote_model_reads_it(raw: dict[str, Any]) -> None:
    model = Quote("AAPL", copy.deepcopy(raw))
    found = _market_data({"quotes": {"AAPL": raw}}).latest_quote("AAPL")

    assert found is not None
    assert (str(found.bid), str(found.ask)) == (str(model.bid_price), str(model.ask_price))
    naive = model.timestamp.tzinfo is None
    assert found.at == (model.timestamp.replace(tzinfo=UTC) if naive else model.timestamp)
    assert found.at.tzinfo is not None


def test_the_latest_quote_is_none_for_an_empty_side_or_no_quote_and_fails_when_malformed() -> None:
    assert (
        _market_data({"quotes": {"AAPL": {"t": "2024-01-02T15:00:00Z", "ap": 0, "bp": 187}}}).latest_quote(
            "AAPL"
        )
        is None
    )
    assert _market_data({"quotes": {}}).latest_quote("AAPL") is None
    with pytest.raises(TypeError):
        _market_data({"quotes": {"AAPL": {"t": "2024-01-02T15:00:00Z", "ap": 188}}}).latest_quote("AAPL")

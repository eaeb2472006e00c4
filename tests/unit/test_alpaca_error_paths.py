"""Each Alpaca error path, raised as alpaca-py raises it (APIError over a real requests.Response), through
the adapter's classification and the executor's exactly-once placement; and Alpaca's order rules."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
from alpaca.common.exceptions import APIError

from tradepipe.adapters.alpaca import AlpacaBroker
from tradepipe.adapters.memory import FixedClock, MemoryOrderStore
from tradepipe.app.patient_broker import Patience, PatientBroker
from tradepipe.app.placement import PlacementDeps, place_exactly_once
from tradepipe.contracts.messages import OrderIntent
from tradepipe.domain.model import Mode, OrderType, RejectReason, Side
from tradepipe.domain.order_rules import EntryOrder, validate_order
from tradepipe.ports.broker import BrokerOrder, BrokerRateLimited, BrokerRejected, BrokerUnavailable

NOW = datetime(2024, 1, 2, 15, tzinfo=UTC)


def api_error(status: int, code: int | None = None, message: str = "", **headers: str) -> APIError:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    body = json.dumps({"code": code, "message": message}) if code is not None else "<html>bad gateway</html>"
    response._content = body.encode()
    return APIError(body, requests.HTTPError(response=response))


class FakeClient:
    """Stands in for alpaca-py's TradingClient: raises what it is told to, in order."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[str] = []

    def _next(self, name: str) -> Any:
        self.calls.append(name)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def submit_order(self, request: Any) -> Any:
        return self._next("submit_order")

    def get_order_by_client_id(self, coid: str) -> Any:
        return self._next("get_order_by_client_id")


def broker_with(client: FakeClient) -> AlpacaBroker:
    broker = AlpacaBroker(Mode.PAPER, "key", "secret", url_override="http://127.0.0.1:9")
    broker._client = client  # type: ignore[assignment]
    return broker


def intent(**over: Any) -> OrderIntent:
    fields: dict[str, Any] = {
        "intent_id": "s:open",
        "client_order_id": "tp-s-open",
        "close_client_order_id": "tp-s-close",
        "signal_id": "s",
        "mode": Mode.PAPER,
        "strategy": "t",
        "symbol": "AAPL",
        "kind": "open",
        "side": Side.BUY,
        "qty": Decimal(10),
        "reference_price": Decimal("100.00"),
        "take_profit": Decimal("104.00"),
        "stop_loss": Decimal("98.00"),
        "sized_at": NOW,
    }
    fields.update(over)
    return OrderIntent(**fields)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        pytest.param(
            api_error(403, 40310000, "potential wash trade detected. use complex orders"),
            "40310000",
            id="403-wash-trade",
        ),
        pytest.param(
            api_error(403, 40310000, "insufficient qty available for order (requested: 10, available: 0)"),
            "40310000",
            id="403-held-by-bracket-legs",
        ),
        pytest.param(
            api_error(403, 40310000, "insufficient buying power"), "40310000", id="403-buying-power"
        ),
        pytest.param(
            api_error(422, 42210000, "bracket orders require take_profit.limit_price > base_price + 0.01"),
            "42210000",
            id="422-bracket-prices",
        ),
        pytest.param(api_error(422, 40010001, 'asset "ZZZZ" not found'), "40010001", id="422-unknown-asset"),
        pytest.param(api_error(404, 40410000, "not found"), "40410000", id="404-on-submit"),
    ],
)
def test_adapter_when_business_rejection_then_final_with_alpacas_code(error: APIError, code: str) -> None:
    client = FakeClient(error, api_error(404, 40410000, "order not found"))
    broker = broker_with(client)

    with pytest.raises(BrokerRejected) as raised:
        broker.submit(intent())

    assert raised.value.code == code
    # Sent once (no libcurl resend: adapters/curl_http.py::maybe_sent_twice) and refused: the order is not
    # at the broker, so the refusal is final without a lookup (a request of the account's budget saved).
    # A refusal of a copy sent twice is looked up first: tests/integration/test_alpaca_transport.py.
    assert client.calls == ["submit_order"]


def test_adapter_when_client_order_id_reused_then_the_existing_order_is_returned() -> None:
    existing = object()
    client = FakeClient(api_error(422, 40010001, "client_order_id must be unique"), existing)
    broker = broker_with(client)
    found = BrokerOrder("b1", "tp-s-open", "filled", Decimal(10), Decimal(10), Decimal(100), NOW, NOW)
    broker.find_order = lambda coid: found  # type: ignore[method-assign]

    assert broker.submit(intent()) is found


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_adapter_when_5xx_then_unavailable_not_final(status: int) -> None:
    with pytest.raises(BrokerUnavailable):
        broker_with(FakeClient(api_error(status))).submit(intent())


@pytest.mark.parametrize("fault", [requests.ReadTimeout("read timed out"), requests.ConnectionError("reset")])
def test_adapter_when_timeout_or_connection_error_then_unavailable(fault: Exception) -> None:
    with pytest.raises(BrokerUnavailable):
        broker_with(FakeClient(fault)).submit(intent())


def test_adapter_when_429_then_rate_limited_for_retry_after() -> None:
    error = api_error(429, 42910000, "rate limit exceeded", **{"Retry-After": "2"})

    with pytest.raises(BrokerRateLimited) as raised:
        broker_with(FakeClient(error)).submit(intent())

    assert raised.value.retry_after_s == 2.0


def test_adapter_when_429_without_retry_after_then_wait_until_ratelimit_reset() -> None:
    reset = str(int(time.time()) + 3)
    error = api_error(
        429, 42910000, "rate limit exceeded", **{"X-RateLimit-Reset": reset, "X-RateLimit-Remaining": "0"}
    )

    with pytest.raises(BrokerRateLimited) as raised:
        broker_with(FakeClient(error)).submit(intent())

    assert 1.0 < raised.value.retry_after_s <= 3.0


def test_adapter_lookup_when_404_then_none_and_when_5xx_then_unavailable() -> None:
    assert broker_with(FakeClient(api_error(404, 40410000, "order not found"))).find_order("x") is None
    with pytest.raises(BrokerUnavailable):
        broker_with(FakeClient(api_error(503))).find_order("x")


class ScriptedBroker:
    """A Broker whose submissions follow a script; `at_broker` is what a lookup finds."""

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.submissions = 0
        self.lookups = 0
        self.at_broker: BrokerOrder | None = None

    def place(self) -> BrokerOrder:
        self.submissions += 1
        step = self.script.pop(0)
        if step == "accept-then-timeout":
            self.at_broker = _order()
            raise BrokerUnavailable("read timeout after accept")
        if isinstance(step, BaseException):
            raise step
        self.at_broker = _order()
        return self.at_broker

    def find_order(self, coid: str) -> BrokerOrder | None:
        self.lookups += 1
        return self.at_broker


def _order() -> BrokerOrder:
    return BrokerOrder("b1", "tp-s-open", "accepted", Decimal(10), Decimal(0), None, NOW, None)


def _deps(sleeps: list[float]) -> PlacementDeps:
    return PlacementDeps(MemoryOrderStore(), FixedClock(NOW), sleep=sleeps.append)


def test_place_when_timeout_after_accept_then_lookup_finds_it_and_no_second_submission() -> None:
    broker, sleeps = ScriptedBroker("accept-then-timeout"), []

    placed = place_exactly_once(broker.place, "tp-s-open", broker, _deps(sleeps))  # type: ignore[arg-type]

    assert placed.broker_order_id == "b1"
    assert (broker.submissions, broker.lookups) == (1, 1)


def test_place_when_timeout_before_accept_then_lookup_misses_and_one_resubmission() -> None:
    broker, sleeps = ScriptedBroker(BrokerUnavailable("504 before accept"), "ok"), []

    place_exactly_once(broker.place, "tp-s-open", broker, _deps(sleeps))  # type: ignore[arg-type]

    assert (broker.submissions, broker.lookups) == (2, 1)


def test_place_when_429_then_waits_what_alpaca_says_then_submits() -> None:
    broker, sleeps = ScriptedBroker(BrokerRateLimited(1.5), "ok"), []

    place_exactly_once(broker.place, "tp-s-open", broker, _deps(sleeps))  # type: ignore[arg-type]

    assert sleeps == [1.5]
    assert broker.lookups == 0  # a 429 means the order was not taken: nothing to look up


def test_place_when_broker_keeps_failing_then_raises_for_the_queue_to_retry() -> None:
    broker = ScriptedBroker(*[BrokerUnavailable("down")] * 4)

    with pytest.raises(BrokerUnavailable):
        place_exactly_once(broker.place, "tp-s-open", broker, _deps([]))  # type: ignore[arg-type]

    assert broker.submissions == 4


def test_place_when_business_rejection_then_no_retry() -> None:
    broker = ScriptedBroker(BrokerRejected("40310000", "wash trade"))

    with pytest.raises(BrokerRejected):
        place_exactly_once(broker.place, "tp-s-open", broker, _deps([]))  # type: ignore[arg-type]

    assert (broker.submissions, broker.lookups) == (1, 0)


@pytest.mark.parametrize(
    ("over", "says"),
    [
        pytest.param({}, None, id="valid-bracket"),
        pytest.param(
            {"take_profit": Decimal("100.00")}, "take_profit 100.00 must be >= $0.01", id="tp-at-base"
        ),
        pytest.param(
            {"stop_loss": Decimal("100.00")}, "stop_loss 100.00 must be >= $0.01", id="stop-at-base"
        ),
        pytest.param(
            {"side": Side.SELL, "take_profit": Decimal("96.00"), "stop_loss": Decimal("100.00")},
            "stop_loss 100.00",
            id="sell-stop-at-base",
        ),
        pytest.param({"qty": Decimal("2.5")}, "cannot carry exit legs", id="fractional-bracket"),
        pytest.param(
            {"qty": Decimal("2.5"), "take_profit": None, "stop_loss": None},
            "must be a day order",
            id="fractional-gtc",
        ),
        pytest.param(
            {"qty": Decimal("2.5"), "take_profit": None, "stop_loss": None, "time_in_force": "day"},
            None,
            id="fractional-day-simple",
        ),
        pytest.param({"qty": Decimal(0)}, "above zero", id="zero-qty"),
        pytest.param({"stop_loss": Decimal("98.005")}, "off the tick grid", id="sub-penny-stop"),
        pytest.param(
            {"order_type": OrderType.LIMIT, "limit_price": None}, "needs a limit price", id="limit-no-price"
        ),
        pytest.param(
            {"order_type": OrderType.LIMIT, "limit_price": Decimal("98.00")},
            "stop_loss 98.00",
            id="limit-base-is-the-limit",
        ),
    ],
)
def test_validate_order_alpaca_rules(over: dict[str, Any], says: str | None) -> None:
    fields: dict[str, Any] = {
        "side": Side.BUY,
        "qty": Decimal(10),
        "order_type": OrderType.MARKET,
        "time_in_force": "gtc",
        "reference_price": Decimal("100.00"),
        "take_profit": Decimal("104.00"),
        "stop_loss": Decimal("98.00"),
    }
    problem = validate_order(EntryOrder(**(fields | over)))

    if says is None:
        assert problem is None
    else:
        assert problem is not None
        assert problem.reason is RejectReason.ORDER_INVALID
        assert says in problem.detail


# --- every broker call survives 429 ------------------------------------------------------------------------


class AnyCallFakeClient(FakeClient):
    """Every alpaca-py method the adapter calls answers the next outcome."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._next(name)


ADAPTER_CALLS: dict[str, Callable[[AlpacaBroker], object]] = {
    "find_order": lambda b: b.find_order("tp-x-open"),
    "submit": lambda b: b.submit(intent()),
    "submit_close": lambda b: b.submit_close("AAPL", Decimal(10), "tp-x-close"),
    "submit_stop": lambda b: b.submit_stop("AAPL", Decimal(10), "sell", Decimal(98), "tp-x-stop"),
    "open_orders": lambda b: b.open_orders("AAPL"),
    "recent_orders": lambda b: b.recent_orders("AAPL", 5),
    "cancel_order": lambda b: b.cancel_order("b-1"),
    "account": lambda b: b.account(),
    "holdings": lambda b: b.holdings(),
    "clock": lambda b: b.clock(),
    "asset": lambda b: b.asset("AAPL"),
    "orders_since": lambda b: b.orders_since(datetime(2024, 1, 2, tzinfo=UTC)),
    "fills_since": lambda b: b.fills_since(datetime(2024, 1, 2, tzinfo=UTC)),
}


@pytest.mark.parametrize("call", sorted(ADAPTER_CALLS))
def test_adapter_when_any_call_meets_429_then_rate_limited_with_alpacas_wait(call: str) -> None:
    error = api_error(429, 42910000, "rate limit exceeded", **{"Retry-After": "3"})

    with pytest.raises(BrokerRateLimited) as raised:
        ADAPTER_CALLS[call](broker_with(AnyCallFakeClient(error)))

    assert raised.value.retry_after_s == 3.0


class RateLimitedOnce:
    """A broker whose every call is refused once with 429 (retry after 0.5 s), then answered."""

    mode = Mode.PAPER

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            if self.calls.count(name) == 1:
                raise BrokerRateLimited(0.5)
            return None

        return call


PATIENT_CALLS: dict[str, Callable[[PatientBroker], object]] = {
    "find_order": lambda b: b.find_order("tp-x-open"),
    "open_orders": lambda b: b.open_orders("AAPL"),
    "recent_orders": lambda b: b.recent_orders("AAPL", 5),
    "cancel_order": lambda b: b.cancel_order("b-1"),
    "account": lambda b: b.account(),
    "holdings": lambda b: b.holdings(),
    "clock": lambda b: b.clock(),
    "asset": lambda b: b.asset("AAPL"),
    "orders_since": lambda b: b.orders_since(datetime(2024, 1, 2, tzinfo=UTC)),
    "fills_since": lambda b: b.fills_since(datetime(2024, 1, 2, tzinfo=UTC)),
}


@pytest.mark.parametrize("call", sorted(PATIENT_CALLS))
def test_patient_broker_when_a_repeatable_call_meets_429_then_waits_alpacas_time_and_retries(
    call: str,
) -> None:
    inner, sleeps = RateLimitedOnce(), list[float]()
    broker = PatientBroker(inner, Patience(sleep=sleeps.append))

    PATIENT_CALLS[call](broker)

    assert inner.calls == [call, call]
    assert sleeps == [0.5]


@pytest.mark.parametrize("call", ["submit", "submit_close", "submit_stop"])
def test_patient_broker_never_retries_a_submit_itself(call: str) -> None:
    inner, sleeps = RateLimitedOnce(), list[float]()
    broker = PatientBroker(inner, Patience(sleep=sleeps.append))
    submits: dict[str, Callable[[], object]] = {
        "submit": lambda: broker.submit(intent()),
        "submit_close": lambda: broker.submit_close("AAPL", Decimal(10), "tp-x-close"),
        "submit_stop": lambda: broker.submit_stop("AAPL", Decimal(10), "sell", Decimal(98), "tp-x-stop"),
    }

    with pytest.raises(BrokerRateLimited):
        submits[call]()

    assert (inner.calls, sleeps) == ([call], [])


def test_patient_broker_when_alpaca_asks_a_longer_wait_than_allowed_then_raises_for_the_queue() -> None:
    class LongWait(RateLimitedOnce):
        def __getattr__(self, name: str) -> Any:
            def call(*args: Any, **kwargs: Any) -> Any:
                self.calls.append(name)
                raise BrokerRateLimited(45.0)

            return call

    inner, sleeps = LongWait(), list[float]()
    broker = PatientBroker(inner, Patience(sleep=sleeps.append, max_wait_s=10.0))

    with pytest.raises(BrokerRateLimited):
        broker.holdings()

    assert (inner.calls, sleeps) == (["holdings"], [])

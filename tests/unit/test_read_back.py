"""Reading back a cancel or a fill: at most two reads, the second only when the first found it unsettled."""

from __future__ import annotations

from tradepipe.app.read_back import read_back


class Broker:
    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.reads = 0

    def read(self) -> str:
        self.reads += 1
        return self.answers[self.reads - 1]


def test_settled_at_the_first_read_is_read_once_after_the_short_wait() -> None:
    waits: list[float] = []
    broker = Broker(["filled"])

    assert read_back(waits.append, 0.1, 0.25, broker.read, lambda s: s == "filled") == "filled"
    assert (waits, broker.reads) == ([0.1], 1)


def test_unsettled_at_the_first_read_is_read_again_at_the_full_wait() -> None:
    waits: list[float] = []
    broker = Broker(["pending_new", "filled"])

    assert read_back(waits.append, 0.1, 0.25, broker.read, lambda s: s == "filled") == "filled"
    assert broker.reads == 2
    assert waits[0] == 0.1
    assert sum(waits) == 0.25


def test_still_unsettled_after_the_second_read_is_answered_as_it_is() -> None:
    waits: list[float] = []
    broker = Broker(["new", "new", "filled"])

    assert read_back(waits.append, 0.1, 0.25, broker.read, lambda s: s == "filled") == "new"
    assert broker.reads == 2  # never a loop: the queue retries the message


def test_a_first_wait_at_or_past_the_full_one_is_one_read() -> None:
    # Tests and callers that read "once, before the broker acts" set the full wait below 0.1 s.
    waits: list[float] = []
    broker = Broker(["pending_cancel", "canceled"])

    assert read_back(waits.append, 0.1, 0.01, broker.read, lambda s: s == "canceled") == "pending_cancel"
    assert (waits, broker.reads) == ([0.01], 1)


def test_an_order_read_that_finds_nothing_keeps_the_last_one_seen() -> None:
    # A 404 from a broker whose index lags its answer must not take back a partial fill the first read saw.
    from decimal import Decimal

    from tradepipe.app.read_back import order_reader
    from tradepipe.ports.broker import BrokerOrder

    def order(status: str, filled: int) -> BrokerOrder:
        return BrokerOrder("b1", "tp-a-open", status, Decimal(10), Decimal(filled), None, None, None)

    answered, partial = order("pending_new", 0), order("partially_filled", 4)

    class Lagging:
        def __init__(self) -> None:
            self.answers: list[BrokerOrder | None] = [partial, None]

        def find_order(self, client_order_id: str) -> BrokerOrder | None:
            assert client_order_id == "tp-a-open"
            return self.answers.pop(0)

    read = order_reader(Lagging(), answered)  # type: ignore[arg-type]

    assert read() is partial
    assert read() is partial

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

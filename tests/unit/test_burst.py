"""The burst gauge that lets search wait while a bar close's alerts arrive (`local/runtime/burst.py`)."""

from __future__ import annotations

from tests.support.clocks import ManualClock
from tradepipe.local.runtime.burst import ArrivalRate, BurstPause


def test_the_rate_counts_only_the_alerts_of_the_last_window() -> None:
    clock = ManualClock(100.0)
    rate = ArrivalRate(window_s=1.0, clock=clock)
    rate.arrived(150)
    clock.at += 0.6
    rate.arrived(100)
    assert rate.in_window() == 250
    clock.at += 0.5  # the first 150 are now 1.1 s old
    assert rate.in_window() == 100
    rate.arrived(0)
    clock.at += 1.0
    assert rate.in_window() == 0


def test_search_waits_while_a_burst_lasts_and_is_written_again_when_it_has_passed() -> None:
    clock = ManualClock(100.0)
    rate = ArrivalRate(window_s=1.0, clock=clock)
    pause = BurstPause(rate, threshold=200, max_pause_s=30.0, clock=clock)
    rate.arrived(199)
    assert not pause.hold()  # a steady stream, however busy, is indexed as it comes
    rate.arrived(1)
    assert pause.hold()
    for _ in range(10):  # ten seconds of a burst
        clock.at += 1.0
        rate.arrived(500)
        assert pause.hold()
    clock.at += 1.0
    assert not pause.hold()


def test_a_flood_pauses_search_for_at_most_max_pause_then_again_only_after_as_long_a_calm() -> None:
    clock = ManualClock(100.0)
    rate = ArrivalRate(window_s=1.0, clock=clock)
    pause = BurstPause(rate, threshold=200, max_pause_s=30.0, clock=clock)
    held = []
    for _ in range(45):
        rate.arrived(1_000)
        held.append(pause.hold())
        clock.at += 1.0
    assert held == [True] * 30 + [False] * 15  # the flood goes on, search is written again after 30 s
    clock.at += 10.0
    rate.arrived(1_000)
    assert not pause.hold()  # ten calm seconds: the same episode
    clock.at += 30.0
    rate.arrived(1_000)
    assert pause.hold()  # after 30 calm seconds a new burst pauses it again


def test_dips_within_a_flood_do_not_restart_the_bound_and_search_catches_up_in_them() -> None:
    clock = ManualClock(100.0)
    rate = ArrivalRate(window_s=1.0, clock=clock)
    pause = BurstPause(rate, threshold=200, max_pause_s=30.0, clock=clock)
    held: list[bool] = []
    for second in range(120):  # a ten-minute-like flood, shortened: the relay stalls 1.5 s every 25 s
        if second % 25 not in (23, 24):
            rate.arrived(1_000)
        held.append(pause.hold())
        clock.at += 1.0
    assert sum(held) <= 30
    assert held[23:25] == [False, False]  # the dip: indexed
    assert held[30:] == [False] * 90

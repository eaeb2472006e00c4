"""The CPU phase's measure of the executor after its submits (benchmarks/load/submit_span; no timing here:
CPU is burnt on purpose and compared in order of magnitude only)."""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import tradepipe.app.execute as real_execute

SPAN = Path(__file__).parents[2] / "benchmarks" / "load" / "submit_span" / "sitecustomize.py"


def _hook() -> Any:
    spec = importlib.util.spec_from_file_location("submit_span_hook", SPAN)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # no BENCH_SUBMIT_SPAN here: it installs nothing by itself
    return module


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_only_the_cpu_after_place_entry_returns_is_counted_and_only_for_intents_that_submitted() -> None:
    fake = SimpleNamespace()

    def place_entry() -> str:
        _burn(0.05)  # the submit itself: before the order is at the broker
        return "placed"

    def execute_intent(submits: bool) -> str:
        _burn(0.05)  # the quote, the positions: before
        if submits:
            fake.place_entry()  # looked up in the module, as execute.py's _open does
        _burn(0.02)  # the records, the read after the fill wait: after
        return "done"

    fake.place_entry, fake.execute_intent, fake.Invalid = place_entry, execute_intent, _Invalid
    totals = {"after_submit": 0.0, "submitted": 0, "intents": 0}
    _hook().instrument(fake, totals)

    assert fake.execute_intent(True) == "done"
    assert fake.execute_intent(False) == "done"  # refused before any submit: nothing after one

    assert (totals["submitted"], totals["intents"]) == (1, 2)
    assert 0.015 <= totals["after_submit"] < 0.05


class _Invalid:
    """Stands for `tradepipe.app.placement.Invalid`: refused by an order rule, nothing sent."""


def test_an_order_refused_before_or_by_the_broker_is_not_counted_as_submitted() -> None:
    fake = SimpleNamespace(Invalid=_Invalid)
    outcome: dict[str, object] = {}

    def place_entry() -> object:
        if outcome["refused"] == "rule":
            return _Invalid()
        raise RuntimeError("alpaca 403: insufficient buying power")

    def execute_intent() -> str:
        with contextlib.suppress(RuntimeError):  # refused by Alpaca: recorded, then refused here
            fake.place_entry()
        _burn(0.02)  # the refusal recorded: still on the way to no order
        return "refused"

    fake.place_entry, fake.execute_intent = place_entry, execute_intent
    totals = {"after_submit": 0.0, "submitted": 0, "intents": 0}
    _hook().instrument(fake, totals)

    for refused in ("rule", "broker"):
        outcome["refused"] = refused
        fake.execute_intent()

    assert totals == {"after_submit": 0.0, "submitted": 0, "intents": 2}


def test_the_executor_still_submits_through_the_names_the_hook_wraps() -> None:
    # Renamed or called otherwise, the hook would count nothing and the bench would wait for it in vain.
    assert callable(real_execute.execute_intent)
    assert callable(real_execute.place_entry)
    assert isinstance(real_execute.Invalid, type)
    assert "place_entry(" in inspect.getsource(real_execute._open)
    assert real_execute.__name__ == _hook().TARGET

"""Every corpus body through accept_alert (in-memory ports): the expected answer, the twin's signal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.alert_corpus import Case, answer_names, by_file, cases
from tradepipe.adapters.memory import FixedClock, MemoryQueue, MemorySignalStore, StaticPassphrases
from tradepipe.api_http import intake_answer
from tradepipe.app.intake import AlertRequest, IntakeDeps, accept_alert
from tradepipe.domain.model import Signal
from tradepipe.domain.parsing import decode_body, parse_alert, split_secret

NOW = datetime(2024, 5, 6, 14, 30, tzinfo=UTC)
TIMENOW = "2024-05-06T14:30:00Z"
PASSPHRASE = "corpus passphrase"
CASES = cases()


def test_corpus_has_at_least_200_bodies_valid_and_invalid() -> None:
    assert len(CASES) >= 200
    assert sum(c.expect < 300 for c in CASES) >= 100
    assert sum(c.expect >= 400 for c in CASES) >= 100


def _signal(case: Case) -> Signal:
    body, _ = decode_body(case.body(PASSPHRASE, TIMENOW))
    parsed = parse_alert(split_secret(body)[1])
    assert isinstance(parsed, Signal), parsed
    return parsed


@pytest.mark.parametrize("case", [c for c in CASES if c.twin], ids=lambda c: c.file)
def test_valid_body_normalizes_to_the_same_signal_as_its_json_twin(case: Case) -> None:
    assert case.twin is not None
    assert _signal(case) == _signal(by_file()[case.twin])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.file)
def test_body_gets_its_expected_answer_naming_the_problem(case: Case) -> None:
    deps = IntakeDeps(
        secrets=StaticPassphrases(default=PASSPHRASE),
        store=MemorySignalStore(),
        queue=MemoryQueue(),
        clock=FixedClock(NOW),
        dedupe_ttl_s=3600,
    )

    status, body = intake_answer(accept_alert(AlertRequest(case.body(PASSPHRASE, TIMENOW)), deps))
    answer = body.model_dump(mode="json", exclude_none=True)

    assert status == case.expect, answer
    if case.names:
        assert answer_names(answer, case.names), answer
    if status >= 400:
        assert deps.queue.sent == []  # type: ignore[attr-defined]
        assert PASSPHRASE not in str(answer)

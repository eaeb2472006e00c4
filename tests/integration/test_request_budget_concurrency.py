"""The request budget holds when many takers race: threads and processes on one SQLite database, threads on
DynamoDB (moto). Every take happens at the same instant, so a correct budget hands out each slot exactly
once: the waits, sorted, are 0 for the burst and then one interval more per request. A slot given twice (a
lost update) shows as a repeated wait, a skipped one as a gap."""

from __future__ import annotations

import multiprocessing
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from infra.checks.emulated_aws import FAKE_CREDENTIALS, LOCAL_REGION
from tests.integration.conftest import STAGE, Aws
from tests.integration.stores import BUDGET_RULE
from tradepipe import resources
from tradepipe.adapters.request_budget import DynamoRequestBudget
from tradepipe.adapters.sqlite.database import Database, Durability
from tradepipe.adapters.sqlite.request_budget import SqliteRequestBudget
from tradepipe.ports.request_budget import RequestBudget

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
TAKERS = 8
TAKES_EACH = 6


def _expected(count: int) -> list[float]:
    return [max(0.0, (k + 1 - BUDGET_RULE.burst) * BUDGET_RULE.interval_s) for k in range(count)]


def _take_many(budget: RequestBudget, account: str) -> list[float]:
    return [budget.take(account, 1, NOW, max_wait_s=3600) for _ in range(TAKES_EACH)]


def _in_threads(make: type[RequestBudget] | object, account: str) -> list[float]:
    with ThreadPoolExecutor(TAKERS) as pool:
        runs = list(pool.map(lambda _: _take_many(make(), account), range(TAKERS)))  # type: ignore[operator]
    return sorted(w for run in runs for w in run)


def test_sqlite_budget_when_threads_race_then_each_slot_is_given_once(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "state", Durability.PROCESS)  # one connection per thread, as the workers

    waits = _in_threads(lambda: SqliteRequestBudget(db, BUDGET_RULE), "paper")

    assert waits == pytest.approx(_expected(TAKERS * TAKES_EACH))


def _process_takes(state_dir: str, queue: multiprocessing.Queue[list[float]]) -> None:
    db = Database.open(Path(state_dir), Durability.PROCESS)
    queue.put(_take_many(SqliteRequestBudget(db, BUDGET_RULE), "paper"))


def test_sqlite_budget_when_processes_race_then_each_slot_is_given_once(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    Database.open(state_dir, Durability.PROCESS).close()  # schema in place before the race
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters: nothing shared but the file
    queue: multiprocessing.Queue[list[float]] = ctx.Queue()
    procs = [ctx.Process(target=_process_takes, args=(str(state_dir), queue)) for _ in range(4)]
    for proc in procs:
        proc.start()
    runs = [queue.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(30)

    assert sorted(w for run in runs for w in run) == pytest.approx(_expected(4 * TAKES_EACH))
    assert all(proc.exitcode == 0 for proc in procs)


def test_dynamodb_budget_when_threads_race_then_each_slot_is_given_once(aws: Aws) -> None:
    def make() -> RequestBudget:
        # A client per thread, as concurrent Lambda invocations each have their own.
        session = boto3.session.Session()
        dynamodb = session.resource(
            "dynamodb", endpoint_url=aws.endpoint, region_name=LOCAL_REGION, **FAKE_CREDENTIALS
        )
        return DynamoRequestBudget(dynamodb.Table(resources.RISK_STATE_TABLE.name(STAGE)), BUDGET_RULE)

    waits = _in_threads(make, f"paper-{uuid.uuid4().hex}")

    assert waits == pytest.approx(_expected(TAKERS * TAKES_EACH))

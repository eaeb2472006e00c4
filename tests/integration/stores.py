"""Every implementation of each store port, by name. The parity suite (test_store_parity.py, and the
risk-state scenarios in test_risk_adapters.py) runs the same contract tests against each entry, so a new
backend (SQLite on one machine) is one more entry per port here, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import STAGE, Aws
from tradepipe import resources
from tradepipe.adapters.dynamodb import DynamoFillStore, DynamoOrderStore, DynamoSignalStore
from tradepipe.adapters.dynamodb_table import DynamoTable, python_values_client
from tradepipe.adapters.fill_cursor import DynamoFillCursorStore, MemoryFillCursorStore
from tradepipe.adapters.lots import DynamoLotStore, MemoryLotStore
from tradepipe.adapters.memory import MemoryOrderStore, MemorySignalStore
from tradepipe.adapters.memory_risk import MemoryRiskStateStore
from tradepipe.adapters.request_budget import DynamoRequestBudget, MemoryRequestBudget
from tradepipe.adapters.sqlite.database import Database, Durability
from tradepipe.adapters.sqlite.fill_cursor import SqliteFillCursorStore
from tradepipe.adapters.sqlite.lots import SqliteLotStore
from tradepipe.adapters.sqlite.records import SqliteFillStore, SqliteOrderStore, SqliteSignalStore
from tradepipe.adapters.sqlite.request_budget import SqliteRequestBudget
from tradepipe.adapters.sqlite.risk_state import SqliteRiskStateStore
from tradepipe.domain.request_budget import BudgetRule

Factory = Callable[[pytest.FixtureRequest], Any]


def _sqlite(request: pytest.FixtureRequest) -> Database:
    """A fresh runtime database per test (the single-machine backend, `synchronous` as the workers use it)."""
    tmp: Path = request.getfixturevalue("tmp_path")
    return Database.open(tmp / "state", Durability.PROCESS)


def _table(request: pytest.FixtureRequest, spec: resources.TableSpec) -> Any:
    """The table on the session's moto server (provisioned from `resources`, as the CDK app deploys it), as
    the AWS backend hands it to the adapters: a client speaking Python values, not boto3's resource."""
    aws: Aws = request.getfixturevalue("aws")
    return DynamoTable(python_values_client(aws.client("dynamodb")), spec.name(STAGE))


SIGNAL_STORES: dict[str, Factory] = {
    "memory": lambda request: MemorySignalStore(),
    "dynamodb": lambda request: DynamoSignalStore(_table(request, resources.SIGNALS_TABLE)),
    "sqlite": lambda request: SqliteSignalStore(_sqlite(request)),
}
ORDER_STORES: dict[str, Factory] = {
    "memory": lambda request: MemoryOrderStore(),
    "dynamodb": lambda request: DynamoOrderStore(_table(request, resources.ORDERS_TABLE)),
    "sqlite": lambda request: SqliteOrderStore(_sqlite(request)),
}
# No in-memory fill store: nothing in-process records fills (the backtest's broker keeps its own).
FILL_STORES: dict[str, Factory] = {
    "dynamodb": lambda request: DynamoFillStore(_table(request, resources.FILLS_TABLE)),
    "sqlite": lambda request: SqliteFillStore(_sqlite(request)),
}
# One adapter serves all seven risk-state ports (TradingStateStore ... NoticeLedger) on each backend.
RISK_STATE_STORES: dict[str, Factory] = {
    "memory": lambda request: MemoryRiskStateStore(),
    "dynamodb": lambda request: request.getfixturevalue("aws").risk_state(),
    "sqlite": lambda request: SqliteRiskStateStore(_sqlite(request)),
}

# The account's request budget: one a second, five at once (round numbers for the contract's arithmetic).
BUDGET_RULE = BudgetRule(per_minute=60, burst=5)
REQUEST_BUDGETS: dict[str, Factory] = {
    "memory": lambda request: MemoryRequestBudget(BUDGET_RULE),
    "dynamodb": lambda request: DynamoRequestBudget(_table(request, resources.RISK_STATE_TABLE), BUDGET_RULE),
    "sqlite": lambda request: SqliteRequestBudget(_sqlite(request), BUDGET_RULE),
}
# Strategy-owned lots (ports/lots.py), in the risk-state table on every backend.
LOT_STORES: dict[str, Factory] = {
    "memory": lambda request: MemoryLotStore(),
    "dynamodb": lambda request: DynamoLotStore(_table(request, resources.RISK_STATE_TABLE)),
    "sqlite": lambda request: SqliteLotStore(_sqlite(request)),
}
# The reconciler's fill cursor (ports/fill_cursor.py), in the risk-state table on every backend.
FILL_CURSORS: dict[str, Factory] = {
    "memory": lambda request: MemoryFillCursorStore(),
    "dynamodb": lambda request: DynamoFillCursorStore(_table(request, resources.RISK_STATE_TABLE)),
    "sqlite": lambda request: SqliteFillCursorStore(_sqlite(request)),
}

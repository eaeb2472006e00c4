"""The AWS backend: DynamoDB tables, SQS FIFO queues, the EventBridge bus and Secrets Manager, at the
settings' endpoint (AWS itself, or moto's server in the embedded default and the tests)."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3

from tradepipe.backends.views import SharedStoreViews
from tradepipe.settings import Settings, budget_rule

# Each adapter is imported where it is first built: a function loads only the stores it uses (the webhook's
# alert: the signals table, the signals queue and the secret), not the risk state's domain with the rest.
if TYPE_CHECKING:
    from tradepipe.adapters.dynamodb import DynamoSignalStore
    from tradepipe.adapters.risk_state import DynamoRiskStateStore
    from tradepipe.ports.admission import SignalAdmission
    from tradepipe.ports.fill_cursor import FillCursorStore
    from tradepipe.ports.lots import LotStore
    from tradepipe.ports.messaging import EventPublisher, IntentQueue, SignalQueue
    from tradepipe.ports.request_budget import RequestBudget
    from tradepipe.ports.secrets import SecretSource
    from tradepipe.ports.stores import FillStore, OrderStore, SignalStore


class AwsBackend(SharedStoreViews):
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self._settings.aws_endpoint_url)  # type: ignore[call-overload]

    @cached_property
    def _session(self) -> boto3.Session:
        return boto3.Session(region_name=self._settings.region)

    @cached_property
    def _dynamodb(self) -> Any:
        # A client, not boto3's resource: the same Python-values calls without building the resource's
        # classes (adapters/dynamodb_table.py says why).
        from tradepipe.adapters.dynamodb_table import python_values_client

        return python_values_client(self.client("dynamodb"))

    def _table(self, name: str) -> Any:
        from tradepipe.adapters.dynamodb_table import DynamoTable

        return DynamoTable(self._dynamodb, name)

    @cached_property
    def _signals(self) -> DynamoSignalStore:
        from tradepipe.adapters.dynamodb import DynamoSignalStore

        return DynamoSignalStore(self._table(self._settings.signals_table))

    @cached_property
    def _risk_state(self) -> DynamoRiskStateStore:
        from tradepipe.adapters.risk_state import DynamoRiskStateStore

        # One table holds every risk-state aggregate: one adapter serves each of their ports.
        return DynamoRiskStateStore(self._table(self._settings.risk_state_table))

    @cached_property
    def _sqs(self) -> Any:
        return self.client("sqs")

    @cached_property
    def order_store(self) -> OrderStore:
        from tradepipe.adapters.dynamodb import DynamoOrderStore

        return DynamoOrderStore(self._table(self._settings.orders_table))

    @cached_property
    def fill_store(self) -> FillStore:
        from tradepipe.adapters.dynamodb import DynamoFillStore

        return DynamoFillStore(self._table(self._settings.fills_table))

    @cached_property
    def lots(self) -> LotStore:
        from tradepipe.adapters.lots import DynamoLotStore

        return DynamoLotStore(self._table(self._settings.risk_state_table))

    @cached_property
    def fill_cursor(self) -> FillCursorStore:
        from tradepipe.adapters.fill_cursor import DynamoFillCursorStore

        return DynamoFillCursorStore(self._table(self._settings.risk_state_table))

    @cached_property
    def request_budget(self) -> RequestBudget:
        from tradepipe.adapters.request_budget import DynamoRequestBudget

        # The account's one request budget: the same item every function and process takes from.
        return DynamoRequestBudget(self._table(self._settings.risk_state_table), budget_rule(self._settings))

    @cached_property
    def signal_queue(self) -> SignalQueue:
        from tradepipe.adapters.sqs import SqsSignalQueue

        return SqsSignalQueue(self._sqs, _required(self._settings.signals_queue_url, "signals_queue_url"))

    def in_one_transaction(self, signals: SignalStore) -> SignalStore:
        # DynamoDB and EventBridge are two services: a signal's change and its notice are two calls.
        return signals

    def unit_of_work(self) -> AbstractContextManager[object]:
        # DynamoDB's conditional writes are per item: each write is its own (the risk stage's reserving write
        # is the one that must be atomic, and is: a version-conditional put).
        return nullcontext()

    @property
    def signal_admission(self) -> SignalAdmission | None:
        # DynamoDB and SQS are two services: the intake records, sends and advances in three steps.
        return None

    @cached_property
    def intent_queue(self) -> IntentQueue:
        from tradepipe.adapters.sqs import SqsIntentQueue

        return SqsIntentQueue(self._sqs, _required(self._settings.intents_queue_url, "intents_queue_url"))

    @cached_property
    def events(self) -> EventPublisher:
        from tradepipe.adapters.events import EventBridgePublisher

        return EventBridgePublisher(self.client("events"), self._settings.event_bus_name)

    @cached_property
    def secrets(self) -> SecretSource:
        from tradepipe.adapters.secrets import SecretReader

        return SecretReader(self.client("secretsmanager"), self._settings.secret_max_age_s)


def _required(value: str, name: str) -> str:
    if not value:
        raise RuntimeError(f"setting TRADEPIPE_{name.upper()} is required by this function")
    return value

"""The single-machine backend: every store, queue and the event bus on one SQLite database in the state
directory, secrets from the state directory's secrets file (adapters/sqlite/, local/runtime/secrets_file.py).

Besides the `Backend` ports, the runtime's own processes reach the pieces AWS runs for them: the FIFO queues'
consumer side, the change feed, the metrics, the local secrets file."""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import cached_property
from pathlib import Path
from typing import Any

from tradepipe import resources
from tradepipe.adapters.sqlite.admission import SqliteSignalAdmission
from tradepipe.adapters.sqlite.database import Database, Durability
from tradepipe.adapters.sqlite.feeds import SqliteEventOutbox
from tradepipe.adapters.sqlite.fill_cursor import SqliteFillCursorStore
from tradepipe.adapters.sqlite.inbox import Inbox, open_inbox
from tradepipe.adapters.sqlite.inbox_relay import InboxRelay
from tradepipe.adapters.sqlite.lots import SqliteLotStore
from tradepipe.adapters.sqlite.metrics import SqliteMetrics
from tradepipe.adapters.sqlite.one_transaction import OneTransactionSignalStore
from tradepipe.adapters.sqlite.queues import SqliteFifoQueue, SqliteIntentQueue, SqliteSignalQueue
from tradepipe.adapters.sqlite.records import SqliteFillStore, SqliteOrderStore, SqliteSignalStore
from tradepipe.adapters.sqlite.request_budget import SqliteRequestBudget
from tradepipe.adapters.sqlite.risk_state import SqliteRiskStateStore
from tradepipe.adapters.sqlite.secrets_file import LocalSecrets
from tradepipe.backends.views import SharedStoreViews
from tradepipe.ports.admission import SignalAdmission
from tradepipe.ports.fill_cursor import FillCursorStore
from tradepipe.ports.lots import LotStore
from tradepipe.ports.messaging import EventPublisher, IntentQueue, SignalQueue
from tradepipe.ports.request_budget import RequestBudget
from tradepipe.ports.secrets import SecretSource
from tradepipe.ports.stores import FillStore, OrderStore, SignalStore
from tradepipe.settings import Settings, budget_rule

# The local queues' visibility: longer than any handler runs (a reverse waits up to 5 s for its close, a 429
# up to 10 s); a failed message comes back sooner through retry_after, a dead process's at the restart.
VISIBILITY_TIMEOUT_S = 60.0


class LocalSecretSource:
    """SecretSource over the secrets file: the names the AWS secrets have, mapped to the file's sections."""

    def __init__(self, settings: Settings, secrets: LocalSecrets) -> None:
        self._settings, self._secrets = settings, secrets

    def json(self, name: str) -> dict[str, Any] | None:
        s = self._settings
        if name == s.webhook_secret_name:
            return {k: v.get_secret_value() for k, v in self._secrets.passphrases().items()}
        for secret_name, account in (
            (s.alpaca_paper_secret_name, "paper"),
            (s.alpaca_live_secret_name, "live"),
        ):
            if name == secret_name:
                pair = self._secrets.alpaca(account)
                if pair is None:
                    return None
                return {
                    "api_key": pair.api_key.get_secret_value(),
                    "secret_key": pair.secret_key.get_secret_value(),
                }
        return None


class SqliteBackend(SharedStoreViews):
    def __init__(self, settings: Settings) -> None:
        if not settings.state_dir:
            raise RuntimeError("the sqlite backend needs TRADEPIPE_STATE_DIR")
        self._settings = settings
        self.state_dir = Path(settings.state_dir)
        self.db = Database.open(self.state_dir, Durability(settings.sqlite_synchronous))
        self.local_secrets = LocalSecrets(self.state_dir / "secrets.json")

    # --- the Backend ports ---------------------------------------------------------------------------------

    @cached_property
    def _signals(self) -> SqliteSignalStore:
        return SqliteSignalStore(self.db)

    @cached_property
    def _risk_state(self) -> SqliteRiskStateStore:
        return SqliteRiskStateStore(self.db)

    @cached_property
    def order_store(self) -> OrderStore:
        return SqliteOrderStore(self.db)

    @cached_property
    def fill_store(self) -> FillStore:
        return SqliteFillStore(self.db)

    @cached_property
    def lots(self) -> LotStore:
        return SqliteLotStore(self.db)

    @cached_property
    def fill_cursor(self) -> FillCursorStore:
        return SqliteFillCursorStore(self.db)

    @cached_property
    def request_budget(self) -> RequestBudget:
        # The account's one request budget: the same item every function and process takes from.
        return SqliteRequestBudget(self.db, budget_rule(self._settings))

    @cached_property
    def signal_queue(self) -> SignalQueue:
        return SqliteSignalQueue(self.signal_fifo)

    def in_one_transaction(self, signals: SignalStore) -> SignalStore:
        return OneTransactionSignalStore(self.db, signals)

    def unit_of_work(self) -> AbstractContextManager[object]:
        return self.db.transaction()

    @cached_property
    def signal_admission(self) -> SignalAdmission | None:
        return SqliteSignalAdmission(self.db, self._signals, SqliteSignalQueue(self.signal_fifo))

    # --- the intake's inbox (adapters/sqlite/inbox.py): its own file, written by the intake alone -----------

    @cached_property
    def inbox(self) -> Inbox:
        return Inbox(open_inbox(self.state_dir), self.db)

    @cached_property
    def inbox_relay(self) -> InboxRelay:
        return InboxRelay(open_inbox(self.state_dir), self.db, self.signal_fifo)

    @cached_property
    def intent_queue(self) -> IntentQueue:
        return SqliteIntentQueue(self.intent_fifo)

    @cached_property
    def events(self) -> EventPublisher:
        return SqliteEventOutbox(self.db)

    @cached_property
    def secrets(self) -> SecretSource:
        return LocalSecretSource(self._settings, self.local_secrets)

    # --- what the runtime's own processes need besides ---------------------------------------------------

    def _fifo(self, spec: resources.QueueSpec) -> SqliteFifoQueue:
        return SqliteFifoQueue(
            self.db,
            spec.base_name,
            visibility_timeout_s=VISIBILITY_TIMEOUT_S,
            max_receive_count=spec.max_receive_count,
        )

    @cached_property
    def signal_fifo(self) -> SqliteFifoQueue:
        return self._fifo(resources.SIGNALS_QUEUE)

    @cached_property
    def intent_fifo(self) -> SqliteFifoQueue:
        return self._fifo(resources.INTENTS_QUEUE)

    @cached_property
    def metrics(self) -> SqliteMetrics:
        return SqliteMetrics(self.db)

    @cached_property
    def risk_state(self) -> SqliteRiskStateStore:
        return self._risk_state

    @cached_property
    def signals(self) -> SqliteSignalStore:
        return self._signals

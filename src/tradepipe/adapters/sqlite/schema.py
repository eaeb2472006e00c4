"""The runtime database's schema, as forward migrations: `(version, script)`, applied in order, never
edited once
released (a change is a new migration). `SCHEMA_VERSION` is the last one.

Item tables mirror the DynamoDB tables of `tradepipe.resources` (same keys, the item as JSON in the shape the
DynamoDB adapters store), so the indexer maps both backends' changes with the same code. Triggers append every
item change to `changes`, in the same transaction as the write: the local DynamoDB stream.
"""

from __future__ import annotations

from tradepipe import resources

# (julianday - unix epoch's julian day) * seconds per day: epoch seconds with sub-second precision, in SQL
# (SQLite 3.40 here has no unixepoch('subsec')).
NOW_SQL = "((julianday('now') - 2440587.5) * 86400.0)"


def _change_triggers(table: str, base_name: str, keys: tuple[str, ...], when: str = "") -> str:
    def key_json(row: str) -> str:
        return "json_object(" + ", ".join(f"'{k}', {row}.{k}" for k in keys) + ")"

    def condition(extra: str) -> str:
        parts = [p for p in (when, extra) if p]
        return ("WHEN " + " AND ".join(f"({p})" for p in parts)) if parts else ""

    # The SQL of a trigger we define, from our own table names.
    columns = "INSERT INTO changes (table_name, event_name, keys, old_item, new_item, at) VALUES "
    insert = columns + f"('{base_name}', '%s', %s, %s, %s, {NOW_SQL});"
    new_when = when.replace("ROW.", "NEW.")
    old_when = when.replace("ROW.", "OLD.")
    return "\n".join(
        [
            f"CREATE TRIGGER {table}_inserted AFTER INSERT ON {table} "
            + (f"WHEN {new_when} " if when else "")
            + "BEGIN",
            insert % ("INSERT", key_json("NEW"), "NULL", "NEW.item"),
            "END;",
            f"CREATE TRIGGER {table}_modified AFTER UPDATE OF item ON {table} "
            + condition("OLD.item IS NOT NEW.item").replace("ROW.", "NEW.")
            + " BEGIN",
            insert % ("MODIFY", key_json("NEW"), "OLD.item", "NEW.item"),
            "END;",
            f"CREATE TRIGGER {table}_removed AFTER DELETE ON {table} "
            + (f"WHEN {old_when} " if when else "")
            + "BEGIN",
            insert % ("REMOVE", key_json("OLD"), "OLD.item", "NULL"),
            "END;",
        ]
    )


# Only the risk-state rows the indexer turns into documents (switches, equity samples) are fed: counters,
# cooldowns, reservations and queued entries are working state that would only grow the feed.
_RISK_STATE_TRIGGERS = _change_triggers(
    "risk_state",
    resources.RISK_STATE_TABLE.base_name,
    ("pk", "sk"),
    when="ROW.pk LIKE 'STATE#%' OR ROW.pk LIKE 'EQUITY#%'",
)

_V1 = f"""
CREATE TABLE signals (
    signal_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    received_day TEXT,
    received_at TEXT,
    expires_at INTEGER,
    item TEXT NOT NULL
);
CREATE INDEX signals_by_received_day ON signals (received_day, received_at, signal_id);
CREATE INDEX signals_expiry ON signals (expires_at);

CREATE TABLE orders (
    client_order_id TEXT PRIMARY KEY,
    signal_id TEXT,
    mode TEXT,
    symbol TEXT,
    status TEXT,
    item TEXT NOT NULL
);
CREATE INDEX orders_by_status ON orders (mode, status);

CREATE TABLE fills (
    pk TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    signed_qty TEXT NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (pk, execution_id)
);

CREATE TABLE risk_state (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    expires_at INTEGER,
    item TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
);
CREATE INDEX risk_state_expiry ON risk_state (expires_at);

-- The local DynamoDB streams: every item change, in commit order.
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name TEXT NOT NULL,
    event_name TEXT NOT NULL,
    keys TEXT NOT NULL,
    old_item TEXT,
    new_item TEXT,
    at REAL NOT NULL
);
-- Where each reader of `changes` or `events` has got to (the indexer, the notifier, the alarms).
CREATE TABLE checkpoints (consumer TEXT PRIMARY KEY, seq INTEGER NOT NULL);

-- The local SQS FIFO queues (see queues.py).
CREATE TABLE queue_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    group_id TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at REAL NOT NULL,
    visible_at REAL NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    first_received_at REAL,
    receipt TEXT
);
CREATE INDEX queue_messages_visible ON queue_messages (queue, visible_at);
CREATE INDEX queue_messages_group ON queue_messages (queue, group_id, seq);
CREATE TABLE queue_dedup (
    queue TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (queue, dedup_id)
);
CREATE TABLE dead_letters (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    group_id TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at REAL NOT NULL,
    receive_count INTEGER NOT NULL,
    dead_at REAL NOT NULL
);

-- What CloudWatch would count: metric name per UTC day (the live page's duplicates, local alarms).
CREATE TABLE metrics (
    day TEXT NOT NULL,
    name TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (day, name)
);

-- The local event bus: an outbox written in the same transaction as the change it reports.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    detail_type TEXT NOT NULL,
    detail TEXT NOT NULL,
    at REAL NOT NULL
);

{_change_triggers("signals", resources.SIGNALS_TABLE.base_name, ("signal_id",))}
{_change_triggers("orders", resources.ORDERS_TABLE.base_name, ("client_order_id",))}
{_change_triggers("fills", resources.FILLS_TABLE.base_name, ("pk", "execution_id"))}
{_RISK_STATE_TRIGGERS}
"""

# The reconciler's index of open orders (resources.ORDERS_WORKING; DynamoDB: a sparse GSI): the account while
# the order or its legs may still change, NULL once the reconciler has recorded their end. Orders recorded
# before it start followed unless known to be done: a filled bracket or OTO entry is not (its legs may still
# work, weeks on); the next run reads each once and settles or keeps it.
_V2 = """
ALTER TABLE orders ADD COLUMN working_account TEXT;
UPDATE orders SET working_account = mode
    WHERE status NOT IN ('filled', 'canceled', 'expired', 'rejected', 'replaced', 'not_sent')
    OR (status = 'filled' AND json_extract(item, '$.order_class') != 'simple');
CREATE INDEX orders_working ON orders (working_account, client_order_id) WHERE working_account IS NOT NULL;
"""

# A queue's claim walks its own messages in order (queues.py `_CLAIMABLE`): walked in the table's order, each
# signals queue claim stepped past every intent waiting behind one ticker's fills (~50 us a claim).
_V3 = """
CREATE INDEX queue_messages_by_seq ON queue_messages (queue, seq);
"""

# The reservation book as rows (adapters/sqlite/reservation_rows.py): until v4 one RESERVE# item of risk_state
# held it whole, rewritten by every reserve, hold and release; its reservations and order times move here.
_V4 = """
CREATE TABLE reservation_books (account TEXT PRIMARY KEY, token TEXT NOT NULL);
CREATE TABLE reservations (
    seq INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    reservation_id TEXT NOT NULL,
    reserved_at TEXT NOT NULL,
    item TEXT NOT NULL,
    UNIQUE (account, reservation_id)
);
CREATE INDEX reservations_by_time ON reservations (account, reserved_at, seq);
CREATE TABLE reservation_times (seq INTEGER PRIMARY KEY, account TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX reservation_times_by_account ON reservation_times (account, seq);
INSERT INTO reservation_books (account, token)
    SELECT substr(pk, 9), 'v4' FROM risk_state WHERE sk = 'RESERVE' AND substr(pk, 1, 8) = 'RESERVE#';
INSERT INTO reservations (account, reservation_id, reserved_at, item)
    SELECT substr(s.pk, 9), r.key, json_extract(r.value, '$.reserved_at'), r.value
    FROM risk_state AS s, json_each(s.item, '$.reservations') AS r
    WHERE s.sk = 'RESERVE' AND substr(s.pk, 1, 8) = 'RESERVE#'
    ORDER BY s.pk, json_extract(r.value, '$.reserved_at'), r.id;
INSERT INTO reservation_times (account, at)
    SELECT substr(s.pk, 9), t.value FROM risk_state AS s, json_each(s.item, '$.order_times') AS t
    WHERE s.sk = 'RESERVE' AND substr(s.pk, 1, 8) = 'RESERVE#'
    ORDER BY s.pk, t.key;
DELETE FROM risk_state WHERE sk = 'RESERVE' AND substr(pk, 1, 8) = 'RESERVE#';
"""

MIGRATIONS: tuple[tuple[int, str], ...] = ((1, _V1), (2, _V2), (3, _V3), (4, _V4))
SCHEMA_VERSION = MIGRATIONS[-1][0]

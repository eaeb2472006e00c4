"""DynamoDB stores. ClientError codes become domain outcomes here and nowhere else."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError
from pydantic import BaseModel

from tradepipe.contracts.items import OrderItem, OrderLeg, OrderUpdate, SignalItem, StatusUpdate
from tradepipe.domain.lifecycle import allowed_from
from tradepipe.ports.stores import DaySlice, FeedKey, SignalFilter, TableChange
from tradepipe.resources import ORDERS_WORKING, SIGNALS_BY_DAY

# Type-only: the broker port (its dataclasses and the intent model) is not loaded with the stores.
if TYPE_CHECKING:
    from tradepipe.ports.broker import FillView

_CONDITION_FAILED = "ConditionalCheckFailedException"
_BATCH_GET_LIMIT = 100
_BATCH_GET_ATTEMPTS = 4
_deserializer = TypeDeserializer()


def to_attribute(value: Any) -> Any:
    """Python value -> what boto3's resource API stores: Decimal numbers, ISO times, no None."""
    if isinstance(value, BaseModel):
        return to_item(value.model_dump(mode="python"))
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return to_item(value)
    if isinstance(value, list | tuple):
        return [to_attribute(v) for v in value]
    return value


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: to_attribute(v) for k, v in values.items() if v is not None}


def from_stream_image(image: Mapping[str, Any]) -> dict[str, Any]:
    """A stream record's typed image ({"S": ...}) -> plain values, as the resource API returns them."""
    return {k: _deserializer.deserialize(v) for k, v in image.items()}


def table_changes(event: Mapping[str, Any], stage: str) -> list[TableChange]:
    """A DynamoDB Streams Lambda event -> one TableChange per record, images decoded, the table named by its
    base name (`tradepipe-<stage>-signals` -> `signals`)."""
    changes = []
    for record in event.get("Records", []):
        # arn:aws:dynamodb:REGION:ACCOUNT:table/tradepipe-STAGE-BASE/stream/...
        table = str(record.get("eventSourceARN", "")).split(":table/", 1)[-1].split("/", 1)[0]
        data = record["dynamodb"]
        changes.append(
            TableChange(
                table_base_name=table.removeprefix(f"tradepipe-{stage}-"),
                event_name=record["eventName"],
                sequence_number=data["SequenceNumber"],
                new_image=from_stream_image(data["NewImage"]) if "NewImage" in data else None,
                old_image=from_stream_image(data["OldImage"]) if "OldImage" in data else None,
            )
        )
    return changes


def _is_condition_failure(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED)


class DynamoSignalStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def record_new(self, item: SignalItem) -> bool:
        received = item.received_at.astimezone(UTC)
        stored = to_item(item.model_dump(mode="python")) | {
            # The by-received-day index's keys: UTC, so the ISO strings sort as the instants do.
            SIGNALS_BY_DAY.partition_key: received.date().isoformat(),
            "received_at": received.isoformat(),
        }
        try:
            self._table.put_item(
                Item=stored,
                ConditionExpression="attribute_not_exists(signal_id)",
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def get(self, signal_id: str) -> SignalItem | None:
        found = self._table.get_item(Key={"signal_id": signal_id}, ConsistentRead=True).get("Item")
        return None if found is None else SignalItem.model_validate(found)

    def get_many(self, signal_ids: Sequence[str]) -> dict[str, SignalItem]:
        """BatchGetItem in chunks of 100 (its limit), following UnprocessedKeys (throttling) a few times
        before giving up loudly (the indexer's batch is then retried)."""
        wanted = sorted(set(signal_ids))
        found: dict[str, SignalItem] = {}
        client, name = self._table.meta.client, self._table.name
        for start in range(0, len(wanted), _BATCH_GET_LIMIT):
            chunk = wanted[start : start + _BATCH_GET_LIMIT]
            request: dict[str, Any] = {name: {"Keys": [{"signal_id": sid} for sid in chunk]}}
            for attempt in range(_BATCH_GET_ATTEMPTS):
                if attempt:
                    time.sleep(0.05 * 2**attempt)  # unprocessed keys mean throttling: back off
                page = client.batch_get_item(RequestItems=request)
                for raw in page.get("Responses", {}).get(name, []):
                    item = SignalItem.model_validate(raw)
                    found[item.signal_id] = item
                request = page.get("UnprocessedKeys") or {}
                if not request:
                    break
            if request:
                raise RuntimeError(
                    f"signals BatchGetItem left keys unprocessed after {_BATCH_GET_ATTEMPTS} tries"
                )
        return found

    def advance(self, signal_id: str, update: StatusUpdate) -> bool:
        entry = update.entry
        names: dict[str, str] = {"#status": "status", "#history": "history", "#updated_at": "updated_at"}
        values: dict[str, Any] = {
            ":status": entry.status.value,
            ":entry": [to_attribute(entry)],
            ":updated_at": entry.at.isoformat(),
        }
        sets = ["#status = :status", "#history = list_append(#history, :entry)", "#updated_at = :updated_at"]
        for i, (name, value) in enumerate(to_item(update.fields.changes()).items()):
            names[f"#f{i}"] = name
            values[f":f{i}"] = value
            sets.append(f"#f{i} = :f{i}")
        allowed = sorted(s.value for s in allowed_from(entry.status))
        if not allowed:
            return False  # nothing moves there (the lifecycle lists no edge into it)
        for i, status in enumerate(allowed):
            values[f":from{i}"] = status
        condition = "#status IN (" + ", ".join(f":from{i}" for i in range(len(allowed))) + ")"
        try:
            self._table.update_item(
                Key={"signal_id": signal_id},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def newest_first(
        self,
        day: str,
        filters: SignalFilter,
        *,
        since: datetime | None,
        after: FeedKey | None,
        limit: int,
        max_reads: int,
    ) -> DaySlice:
        index = SIGNALS_BY_DAY
        sort_key = index.sort_key or "received_at"
        key: ConditionBase = Key(index.partition_key).eq(day)
        if since is not None:
            key = key & Key(sort_key).gte(since.astimezone(UTC).isoformat())
        condition = _filter_condition(filters)
        kwargs: dict[str, Any] = {
            "IndexName": index.name,
            "KeyConditionExpression": key,
            "ScanIndexForward": False,
            # Limit counts items read before the filter: read wider when a filter will drop most of them.
            "Limit": limit if condition is None else max(4 * limit, 100),
        }
        if condition is not None:
            kwargs["FilterExpression"] = condition
        start: dict[str, Any] | None = None
        if after is not None:
            start = {index.partition_key: day, sort_key: after.received_at, "signal_id": after.signal_id}
        items: list[dict[str, Any]] = []
        reads = 0
        while reads < max_reads:
            page = self._table.query(**kwargs, **({"ExclusiveStartKey": start} if start else {}))
            reads += 1
            found, start = page["Items"], page.get("LastEvaluatedKey")
            taken = found[: limit - len(items)]
            items.extend(taken)
            if len(items) >= limit and (len(taken) < len(found) or start is not None):
                # Full page: resume after the last item returned, not after the last one read (the rest of
                # this query page has not been handed out).
                last = items[-1]
                return DaySlice(_signals(items), FeedKey(str(last[sort_key]), str(last["signal_id"])), reads)
            if start is None:
                return DaySlice(_signals(items), None, reads)
        # Out of reads with more to come: resume after the last item read.
        resume = None if start is None else FeedKey(str(start[sort_key]), str(start["signal_id"]))
        return DaySlice(_signals(items), resume, reads)


def _filter_condition(filters: SignalFilter) -> ConditionBase | None:
    conditions = [
        Attr(name).eq(value.value if isinstance(value, Enum) else value)
        for name, value in (
            ("status", filters.status),
            ("ticker", filters.ticker),
            ("strategy", filters.strategy),
            ("mode", filters.mode),
        )
        if value is not None
    ]
    if not conditions:
        return None
    combined: ConditionBase = conditions[0]
    for condition in conditions[1:]:
        combined = combined & condition
    return combined


def _signals(raw: list[dict[str, Any]]) -> list[SignalItem]:
    return [SignalItem.model_validate(item) for item in raw]


class DynamoOrderStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def record_intent(self, item: OrderItem) -> bool:
        followed = {ORDERS_WORKING.partition_key: item.mode.value}  # in the reconciler's index from the start
        try:
            self._table.put_item(
                Item=to_item(item.model_dump(mode="python") | followed),
                ConditionExpression="attribute_not_exists(client_order_id)",
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def get(self, client_order_id: str) -> OrderItem | None:
        found = self._table.get_item(Key={"client_order_id": client_order_id}, ConsistentRead=True).get(
            "Item"
        )
        return None if found is None else OrderItem.model_validate(found)

    def update(self, client_order_id: str, update: OrderUpdate) -> None:
        values = to_item(update.changes())
        if not values:
            return
        names = {f"#f{i}": name for i, name in enumerate(values)}
        self._table.update_item(
            Key={"client_order_id": client_order_id},
            UpdateExpression="SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(values))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":f{i}": v for i, v in enumerate(values.values())},
            ConditionExpression="attribute_exists(client_order_id)",
        )

    def working(self, account: str) -> list[OrderItem]:
        found: list[OrderItem] = []
        query: dict[str, Any] = {
            "IndexName": ORDERS_WORKING.name,
            "KeyConditionExpression": Key(ORDERS_WORKING.partition_key).eq(account),
        }
        while True:
            page = self._table.query(**query)
            found.extend(OrderItem.model_validate(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return found
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def record_working(self, client_order_id: str, account: str, legs: Sequence[OrderLeg]) -> None:
        self._table.update_item(
            Key={"client_order_id": client_order_id},
            UpdateExpression="SET #w = :w, #l = :l",
            ExpressionAttributeNames={"#w": ORDERS_WORKING.partition_key, "#l": "legs"},
            ExpressionAttributeValues={
                ":w": account,
                ":l": [to_item(leg.model_dump()) for leg in legs],
            },
            ConditionExpression="attribute_exists(client_order_id)",
        )

    def follow_unsettled(self) -> int:
        """Deploy-time backfill, once, for items written before the orders-working index (the SQLite
        runtime does the same in its migration 2): every order not known to be done is followed, a filled
        bracket or OTO entry included (its legs may still work, and they name no entry). A Scan of the whole
        table, run by the operator, never by a function; returns how many items it put in the index."""
        final = ["filled", "canceled", "expired", "rejected", "replaced", "not_sent"]
        unsettled = Attr(ORDERS_WORKING.partition_key).not_exists() & (
            ~Attr("status").is_in(final) | (Attr("status").eq("filled") & Attr("order_class").ne("simple"))
        )
        followed = 0
        scan: dict[str, Any] = {"FilterExpression": unsettled}
        while True:
            page = self._table.scan(**scan)
            for item in page.get("Items", []):
                self._table.update_item(
                    Key={"client_order_id": item["client_order_id"]},
                    UpdateExpression="SET #w = :w",
                    ExpressionAttributeNames={"#w": ORDERS_WORKING.partition_key},
                    ExpressionAttributeValues={":w": item["mode"]},
                )
                followed += 1
            if "LastEvaluatedKey" not in page:
                return followed
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def record_done(self, client_order_id: str) -> None:
        # Removing the key attribute takes the item out of the sparse index; the item itself stays.
        self._table.update_item(
            Key={"client_order_id": client_order_id},
            UpdateExpression="REMOVE #w",
            ExpressionAttributeNames={"#w": ORDERS_WORKING.partition_key},
            ConditionExpression="attribute_exists(client_order_id)",
        )


class DynamoFillStore:
    """fills table: pk `<mode>#<symbol>`, sort key `execution_id`."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def record_fill(
        self, fill: FillView, mode: str, client_order_id: str | None, signal_id: str | None
    ) -> bool:
        signed = fill.qty if fill.side == "buy" else -fill.qty
        item = to_item(
            {
                "pk": f"{mode}#{fill.symbol}",
                "execution_id": fill.execution_id,
                "mode": mode,
                "symbol": fill.symbol,
                "side": fill.side,
                "qty": fill.qty,
                "signed_qty": signed,
                "price": fill.price,
                "at": fill.at,
                "broker_order_id": fill.broker_order_id,
                "client_order_id": client_order_id,
                "signal_id": signal_id,
            }
        )
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(execution_id)")
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def net_quantity(self, mode: str, symbol: str) -> Decimal:
        total, start = Decimal(0), None
        while True:
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": Key("pk").eq(f"{mode}#{symbol}"),
                "ProjectionExpression": "signed_qty",
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self._table.query(**kwargs)
            total += sum((Decimal(i["signed_qty"]) for i in page["Items"]), Decimal(0))
            start = page.get("LastEvaluatedKey")
            if not start:
                return total

"""DynamoDB stores. ClientError codes become domain outcomes here and nowhere else."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError
from pydantic import BaseModel

from tradepipe.contracts.items import OrderItem, SignalItem, StatusEntry
from tradepipe.domain.model import SignalStatus
from tradepipe.ports import FillView

_CONDITION_FAILED = "ConditionalCheckFailedException"
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


def _is_condition_failure(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED)


class DynamoSignalStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def record_new(self, item: SignalItem) -> bool:
        try:
            self._table.put_item(
                Item=to_item(item.model_dump(mode="python")),
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

    def advance(
        self,
        signal_id: str,
        entry: StatusEntry,
        allowed_from: frozenset[SignalStatus],
        fields: Mapping[str, Any] | None = None,
    ) -> bool:
        names: dict[str, str] = {"#status": "status", "#history": "history", "#updated_at": "updated_at"}
        values: dict[str, Any] = {
            ":status": entry.status.value,
            ":entry": [to_attribute(entry)],
            ":updated_at": entry.at.isoformat(),
        }
        sets = ["#status = :status", "#history = list_append(#history, :entry)", "#updated_at = :updated_at"]
        for i, (name, value) in enumerate(to_item(fields or {}).items()):
            names[f"#f{i}"] = name
            values[f":f{i}"] = value
            sets.append(f"#f{i} = :f{i}")
        allowed = sorted(s.value for s in allowed_from)
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


class DynamoOrderStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def record_intent(self, item: OrderItem) -> bool:
        try:
            self._table.put_item(
                Item=to_item(item.model_dump(mode="python")),
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

    def update(self, client_order_id: str, fields: Mapping[str, Any]) -> None:
        values = to_item(fields)
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

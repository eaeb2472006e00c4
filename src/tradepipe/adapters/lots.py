"""Strategy-owned lots (ports/lots.py) in memory and in DynamoDB, in the risk-state table's layout
(adapters/risk_keys.py: `LOTS#<account>#<ticker>` / `<strategy>#<lot_id>`).

DynamoDB: a lot is recorded with a conditional put (a fill seen twice is one lot), resized with a conditional
update, and closed with conditional deletes that return the old item, so two invocations closing the same
strategy's lots hand each lot to one of them only. ClientError codes become outcomes here."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from tradepipe.adapters.risk_keys import lot_sk, lots_pk, parse_time, stored_time
from tradepipe.domain.lots import Lot
from tradepipe.resources import RISK_STATE_TABLE

_PK = RISK_STATE_TABLE.partition_key
_SK = RISK_STATE_TABLE.sort_key or "sk"


def lot_item(lot: Lot) -> dict[str, Any]:
    item: dict[str, Any] = {
        _PK: lots_pk(lot.account, lot.ticker),
        _SK: lot_sk(lot.strategy, lot.lot_id),
        "account": lot.account,
        "ticker": lot.ticker,
        "strategy": lot.strategy,
        "lot_id": lot.lot_id,
        "qty": lot.qty,
        "entry_price": lot.entry_price,
        "opened_at": stored_time(lot.opened_at),
    }
    if lot.stop_price is not None:
        item["stop_price"] = lot.stop_price
    return item


def lot_from(item: dict[str, Any]) -> Lot:
    opened = parse_time(item["opened_at"])
    if opened is None:
        raise ValueError("a lot without its opening time")
    stop = item.get("stop_price")
    return Lot(
        account=str(item["account"]),
        ticker=str(item["ticker"]),
        strategy=str(item["strategy"]),
        lot_id=str(item["lot_id"]),
        qty=Decimal(str(item["qty"])),
        entry_price=Decimal(str(item["entry_price"])),
        stop_price=None if stop is None else Decimal(str(stop)),
        opened_at=opened,
    )


def oldest_first(lots: list[Lot]) -> list[Lot]:
    return sorted(lots, key=lambda lot: (lot.opened_at, lot.lot_id))


class MemoryLotStore:
    def __init__(self) -> None:
        self._lots: dict[tuple[str, str], dict[tuple[str, str], Lot]] = {}
        self._lock = threading.Lock()

    def open_lot(self, lot: Lot) -> bool:
        with self._lock:
            book = self._lots.setdefault((lot.account, lot.ticker), {})
            if (lot.strategy, lot.lot_id) in book:
                return False
            book[(lot.strategy, lot.lot_id)] = lot
            return True

    def lots(self, account: str, ticker: str) -> list[Lot]:
        with self._lock:
            return oldest_first(list(self._lots.get((account, ticker), {}).values()))

    def resize_lot(
        self, account: str, ticker: str, strategy: str, lot_id: str, qty: Decimal, stop_price: Decimal | None
    ) -> bool:
        with self._lock:
            book = self._lots.get((account, ticker), {})
            lot = book.get((strategy, lot_id))
            if lot is None:
                return False
            if qty == 0:
                del book[(strategy, lot_id)]
            else:
                book[(strategy, lot_id)] = Lot(
                    account, ticker, strategy, lot_id, qty, lot.entry_price, stop_price, lot.opened_at
                )
            return True

    def close_lots(self, account: str, ticker: str, strategy: str) -> list[Lot]:
        with self._lock:
            book = self._lots.get((account, ticker), {})
            closed = [book.pop(key) for key in [k for k in book if k[0] == strategy]]
            return oldest_first(closed)


def _condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoLotStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def open_lot(self, lot: Lot) -> bool:
        try:
            self._table.put_item(
                Item=lot_item(lot),
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": _PK},
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def _query(self, account: str, ticker: str, sk_prefix: str | None = None) -> list[dict[str, Any]]:
        condition: Any = Key(_PK).eq(lots_pk(account, ticker))
        if sk_prefix is not None:
            condition = condition & Key(_SK).begins_with(sk_prefix)
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "ConsistentRead": True}
        while True:
            page = self._table.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def lots(self, account: str, ticker: str) -> list[Lot]:
        return oldest_first([lot_from(item) for item in self._query(account, ticker)])

    def resize_lot(
        self, account: str, ticker: str, strategy: str, lot_id: str, qty: Decimal, stop_price: Decimal | None
    ) -> bool:
        key = {_PK: lots_pk(account, ticker), _SK: lot_sk(strategy, lot_id)}
        try:
            if qty == 0:
                self._table.delete_item(
                    Key=key,
                    ConditionExpression="attribute_exists(#pk)",
                    ExpressionAttributeNames={"#pk": _PK},
                )
            elif stop_price is None:
                self._table.update_item(
                    Key=key,
                    UpdateExpression="SET #qty = :qty REMOVE #stop",
                    ConditionExpression="attribute_exists(#pk)",
                    ExpressionAttributeNames={"#pk": _PK, "#qty": "qty", "#stop": "stop_price"},
                    ExpressionAttributeValues={":qty": qty},
                )
            else:
                self._table.update_item(
                    Key=key,
                    UpdateExpression="SET #qty = :qty, #stop = :stop",
                    ConditionExpression="attribute_exists(#pk)",
                    ExpressionAttributeNames={"#pk": _PK, "#qty": "qty", "#stop": "stop_price"},
                    ExpressionAttributeValues={":qty": qty, ":stop": stop_price},
                )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def close_lots(self, account: str, ticker: str, strategy: str) -> list[Lot]:
        closed: list[Lot] = []
        for item in self._query(account, ticker, lot_sk(strategy, "")):
            if item.get("strategy") != strategy:
                continue  # another strategy whose name starts with this one and a '#'
            try:
                old = self._table.delete_item(
                    Key={_PK: item[_PK], _SK: item[_SK]},
                    ConditionExpression="attribute_exists(#pk)",
                    ExpressionAttributeNames={"#pk": _PK},
                    ReturnValues="ALL_OLD",
                )
            except ClientError as exc:
                if _condition_failed(exc):
                    continue  # closed by another invocation: its lot, not ours
                raise
            closed.append(lot_from(old["Attributes"]))
        return oldest_first(closed)

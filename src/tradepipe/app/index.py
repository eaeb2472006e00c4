"""index_changes: table changes -> OpenSearch documents, one bulk request per batch."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from tradepipe import resources
from tradepipe.contracts.documents import ExecutionDocument, SignalDocument
from tradepipe.contracts.items import OrderItem, SignalItem
from tradepipe.ports import IndexAction, SearchIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableChange:
    """One stream record, already deserialized from DynamoDB's typed JSON."""

    table_base_name: str
    event_name: str  # INSERT | MODIFY | REMOVE
    sequence_number: str
    new_image: Mapping[str, Any] | None


def to_action(change: TableChange) -> IndexAction | None:
    """None for changes analytics do not keep: TTL removals keep their last document as history."""
    if change.event_name == "REMOVE" or change.new_image is None:
        return None
    if change.table_base_name == resources.SIGNALS_TABLE.base_name:
        signal = SignalDocument.from_item(SignalItem.model_validate(change.new_image))
        return IndexAction(_index(resources.SIGNALS_TABLE), signal.signal_id, signal.model_dump(mode="json"))
    if change.table_base_name == resources.ORDERS_TABLE.base_name:
        order = ExecutionDocument.from_item(OrderItem.model_validate(change.new_image))
        return IndexAction(
            _index(resources.ORDERS_TABLE), order.client_order_id, order.model_dump(mode="json")
        )
    return None


def _index(spec: resources.TableSpec) -> str:
    if spec.index_name is None:
        raise ValueError(f"table {spec.base_name} feeds no index")
    return spec.index_name


def index_changes(changes: Sequence[TableChange], search: SearchIndex) -> list[str]:
    """Returns the sequence numbers that failed and must be retried."""
    actions: list[IndexAction] = []
    seq_by_doc: dict[str, str] = {}
    failed: list[str] = []
    for change in changes:
        try:
            action = to_action(change)
        except ValidationError:
            # A record that can never map is a bug, not a transient fault: retrying it would block the
            # shard, so it is logged loudly and skipped.
            log.exception("unmappable stream record", extra={"sequence_number": change.sequence_number})
            continue
        if action is not None:
            actions.append(action)
            seq_by_doc[f"{action.index}/{action.doc_id}"] = change.sequence_number
    if actions:
        for doc_key in search.bulk(actions):
            failed.append(seq_by_doc[doc_key])
    return failed

"""Index templates derived from the document contracts, so every field a document can carry is mapped
explicitly (strict) with a type chosen per Python type, plus named overrides."""

from __future__ import annotations

import types
import typing
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from tradepipe import resources
from tradepipe.contracts.documents import ExecutionDocument, SignalDocument

# Free text analysts search in; everything else that is a string is an exact-match keyword.
_TEXT_FIELDS = frozenset({"reject_detail"})


def _field_type(annotation: Any) -> str:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if annotation is datetime:
        return "date"
    if annotation is int:
        return "long"
    if annotation is float:
        return "double"
    if annotation is bool:
        return "boolean"
    return "keyword"


def mapping_for(model: type[BaseModel]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name in _TEXT_FIELDS:
            properties[name] = {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 256}}}
        else:
            properties[name] = {"type": _field_type(field.annotation)}
    return {"dynamic": "strict", "properties": properties}


def index_templates() -> dict[str, dict[str, Any]]:
    """Composable templates keyed by template name."""
    pairs = (
        (resources.SIGNALS_TABLE.index_name, SignalDocument),
        (resources.ORDERS_TABLE.index_name, ExecutionDocument),
    )
    return {
        f"tradepipe-{index}": {
            "index_patterns": [f"{index}*"],
            "template": {"settings": {"number_of_shards": 1}, "mappings": mapping_for(model)},
            "priority": 100,
        }
        for index, model in pairs
        if index is not None
    }

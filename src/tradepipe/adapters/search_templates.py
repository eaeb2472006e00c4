"""Index templates derived from the document contracts: every field a document can carry is mapped
explicitly, `dynamic: strict` (a field nobody mapped is a rejected document, not a guessed type).

Layout (composable templates):
- component `tradepipe-settings`: one shard (these indices stay small: one shard per index is the
  efficient layout below tens of GB);
- component `tradepipe-dimensions`: mode, strategy, ticker, sector, the fields every document carries;
- component `tradepipe-stage-times`: the signal's per-stage times, for documents about a signal;
- one index template per index, `<alias>-v*`, composed of the above plus the index's own fields.

Indices are versioned behind aliases: documents are written to the alias (`trading-signals`), which points
at the concrete `trading-signals-v<N>` as its write index. A mapping change bumps N: the new index is
created from the same template and becomes the write index, the old one is reindexed into it and leaves
the alias (`tradepipe dashboards migrate`). Readers and the dashboards only ever name the alias.

Types are chosen per field, on purpose:
- `keyword` for identifiers, enums, tickers, sectors, strategies: exact match, terms aggregations, sorting.
  Nothing analysts filter on is analysed text.
- `text` (+ a `raw` keyword sub-field for exact filters and top values) only for free-text explanations
  (`reject_detail`, a risk event's `detail`), which people search by word.
- `double` for prices, quantities (fractional shares) and money: sum / avg / percentiles need numbers;
  the exact Decimal stays in DynamoDB.
- `long` for counts and latencies in milliseconds.
- `date` for every time (ISO-8601 with offset, as pydantic writes them): date_histogram and range.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from tradepipe import resources
from tradepipe.contracts.documents import DOCUMENT_MODELS, Dimensions, StageTimes
from tradepipe.contracts.performance import PerformanceSnapshotDocument
from tradepipe.resources import INDEXES, SearchIndexSpec

SETTINGS_COMPONENT = "tradepipe-settings"
DIMENSIONS_COMPONENT = "tradepipe-dimensions"
STAGE_TIMES_COMPONENT = "tradepipe-stage-times"

# Free text analysts search in; a `raw` keyword sub-field keeps it filterable and aggregatable.
_TEXT_FIELDS = frozenset({"reject_detail", "detail"})
_RAW_LIMIT = 1024  # longer explanations are still searchable as text, just not as one keyword


_MODELS: dict[str, type[BaseModel]] = {
    **DOCUMENT_MODELS,
    resources.PERFORMANCE_INDEX.alias: PerformanceSnapshotDocument,
}


def model_of(spec: SearchIndexSpec) -> type[BaseModel]:
    """The document model an index holds: its mapping is derived from it."""
    return _MODELS[spec.alias]


def components_of(spec: SearchIndexSpec) -> tuple[str, ...]:
    model = model_of(spec)
    parts = [SETTINGS_COMPONENT]
    if issubclass(model, Dimensions):
        parts.append(DIMENSIONS_COMPONENT)
    if issubclass(model, StageTimes):
        parts.append(STAGE_TIMES_COMPONENT)
    return tuple(parts)


def _field_type(annotation: Any) -> str:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
        origin = typing.get_origin(annotation)
    if origin is list:
        # OpenSearch fields hold arrays natively: a list of X is mapped as X.
        annotation = typing.get_args(annotation)[0]
    if annotation is datetime:
        return "date"
    if annotation is bool:
        return "boolean"
    if annotation is int:
        return "long"
    if annotation is float:
        return "double"
    if annotation is str:
        return "keyword"
    raise TypeError(f"no mapping for {annotation!r}: choose one in search_templates._field_type")


def field_mapping(name: str, annotation: Any) -> dict[str, Any]:
    if name in _TEXT_FIELDS:
        return {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": _RAW_LIMIT}}}
    return {"type": _field_type(annotation)}


def _properties(model: type[BaseModel], exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {
        name: field_mapping(name, f.annotation)
        for name, f in model.model_fields.items()
        if name not in exclude
    }


def mapping_for(model: type[BaseModel]) -> dict[str, Any]:
    """The whole mapping a document of `model` is indexed with (components included)."""
    return {"dynamic": "strict", "properties": _properties(model)}


def component_templates() -> dict[str, dict[str, Any]]:
    return {
        SETTINGS_COMPONENT: {"template": {"settings": {"number_of_shards": 1}}, "version": 1},
        DIMENSIONS_COMPONENT: {
            "template": {"mappings": {"properties": _properties(Dimensions)}},
            "version": 1,
        },
        STAGE_TIMES_COMPONENT: {
            "template": {"mappings": {"properties": _properties(StageTimes)}},
            "version": 1,
        },
    }


def _shared_fields(model: type[BaseModel]) -> frozenset[str]:
    shared: set[str] = set()
    for base in (Dimensions, StageTimes):
        if issubclass(model, base):
            shared.update(
                name
                for name in base.model_fields
                # A model that narrows a shared field (received_at: datetime) maps to the same type.
                if field_mapping(name, model.model_fields[name].annotation)
                == field_mapping(name, base.model_fields[name].annotation)
            )
    return frozenset(shared)


def index_template(spec: SearchIndexSpec) -> dict[str, Any]:
    model = model_of(spec)
    meta = {"managed_by": "tradepipe", "model": model.__name__, "alias": spec.alias}
    return {
        "index_patterns": [spec.pattern],
        "composed_of": list(components_of(spec)),
        "priority": 100,
        "version": spec.version,
        "_meta": meta,
        "template": {
            # No alias here: the write alias is attached when the index is created, so a new version's
            # index never joins the alias as a second write index by accident.
            "mappings": {
                "dynamic": "strict",
                "_meta": {**meta, "version": spec.version},
                "properties": _properties(model, exclude=_shared_fields(model)),
            },
        },
    }


def index_templates() -> dict[str, dict[str, Any]]:
    """Composable index templates keyed by template name."""
    return {spec.template_name: index_template(spec) for spec in INDEXES}


def merged_mapping(spec: SearchIndexSpec) -> dict[str, Any]:
    """What an index created from the template ends up with: its components' fields plus its own."""
    components = component_templates()
    properties: dict[str, Any] = {}
    for name in components_of(spec):
        properties.update(components[name]["template"].get("mappings", {}).get("properties", {}))
    template = index_template(spec)["template"]["mappings"]
    properties.update(template["properties"])
    return {"dynamic": template["dynamic"], "properties": properties}

"""Every saved object in dashboard/*.ndjson parses, its references resolve, and every field it names exists
in the index templates with a type the aggregation can use."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tradepipe.adapters.search_templates import merged_mapping
from tradepipe.resources import INDEXES

DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "dashboard"
NUMERIC = {"double", "long", "integer", "float", "scaled_float", "short", "byte", "half_float"}
# What each aggregation can work on (a text field has no doc values: it cannot be aggregated at all).
AGG_TYPES: dict[str, set[str]] = {
    "terms": {"keyword", "boolean"} | NUMERIC,
    "date_histogram": {"date"},
    "histogram": NUMERIC,
    "percentiles": NUMERIC,
    "sum": NUMERIC,
    "avg": NUMERIC,
    "min": NUMERIC | {"date"},
    "max": NUMERIC | {"date"},
    "median": NUMERIC,
    "cardinality": {"keyword", "boolean", "date"} | NUMERIC,
}
KQL_FIELD = re.compile(r"([A-Za-z_][\w.]*)\s*:")


def _objects() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(DASHBOARD_DIR.glob("*.ndjson")):
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            if line.strip():
                found.append((f"{path.name}:{n}", json.loads(line)))
    return found


def _fields() -> dict[str, dict[str, str]]:
    """alias -> {field path (multi-fields as name.sub): type}, from the templates as indices get them."""
    fields: dict[str, dict[str, str]] = {}
    for spec in INDEXES:
        flat = fields.setdefault(spec.alias, {})
        for name, prop in merged_mapping(spec)["properties"].items():
            flat[name] = prop["type"]
            for sub, subprop in prop.get("fields", {}).items():
                flat[f"{name}.{sub}"] = subprop["type"]
    return fields


OBJECTS = _objects()
FIELDS = _fields()
PATTERNS = {obj["id"]: obj for _, obj in OBJECTS if obj["type"] == "index-pattern"}
VISUALIZATIONS = [(where, obj) for where, obj in OBJECTS if obj["type"] == "visualization"]


def _alias_of(vis: dict[str, Any]) -> str:
    search = json.loads(vis["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    ref = next(r for r in vis["references"] if r["name"] == search["indexRefName"])
    assert ref["type"] == "index-pattern"
    return str(PATTERNS[ref["id"]]["attributes"]["title"])


def test_saved_objects_exist_two_dashboards_and_ids_unique_per_file() -> None:
    assert {obj["attributes"]["title"] for _, obj in OBJECTS if obj["type"] == "dashboard"} == {
        "Signals",
        "Trading",
    }
    for path in DASHBOARD_DIR.glob("*.ndjson"):
        ids = [(o["type"], o["id"]) for o in map(json.loads, path.read_text().splitlines())]
        assert len(ids) == len(set(ids)), path.name


def test_index_patterns_name_an_alias_and_its_date_time_field() -> None:
    assert PATTERNS
    for pattern in PATTERNS.values():
        alias = pattern["attributes"]["title"]
        assert alias in FIELDS, f"{alias} is not an index alias in the templates"
        assert FIELDS[alias][pattern["attributes"]["timeFieldName"]] == "date"


@pytest.mark.parametrize(("where", "vis"), VISUALIZATIONS, ids=[w for w, _ in VISUALIZATIONS])
def test_every_field_a_visualization_aggregates_exists_with_an_aggregatable_type(
    where: str, vis: dict[str, Any]
) -> None:
    alias = _alias_of(vis)
    state = json.loads(vis["attributes"]["visState"])
    assert state["aggs"], where
    for agg in state["aggs"]:
        field = agg["params"].get("field")
        if agg["type"] == "count":
            assert field is None
            continue
        assert agg["type"] in AGG_TYPES, f"{where}: add {agg['type']} to AGG_TYPES with the types it accepts"
        assert field in FIELDS[alias], f"{where}: {alias} has no field {field!r}"
        assert FIELDS[alias][field] in AGG_TYPES[agg["type"]], (
            f"{where}: {agg['type']} on {alias}.{field} of type {FIELDS[alias][field]}"
        )


@pytest.mark.parametrize(("where", "vis"), VISUALIZATIONS, ids=[w for w, _ in VISUALIZATIONS])
def test_every_field_a_visualization_query_filters_on_exists(where: str, vis: dict[str, Any]) -> None:
    alias = _alias_of(vis)
    search = json.loads(vis["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    for name in KQL_FIELD.findall(search["query"]["query"]):
        assert FIELDS[alias].get(name) in {"keyword", "boolean", "date"} | NUMERIC, f"{where}: {name}"


def test_dashboards_reference_only_visualizations_that_exist_in_the_same_file() -> None:
    for path in DASHBOARD_DIR.glob("*.ndjson"):
        objects = [json.loads(line) for line in path.read_text().splitlines()]
        known = {(o["type"], o["id"]) for o in objects}
        for obj in objects:
            for ref in obj["references"]:
                assert (ref["type"], ref["id"]) in known, f"{path.name}: {obj['id']} -> {ref['id']}"
            if obj["type"] == "dashboard":
                panels = json.loads(obj["attributes"]["panelsJSON"])
                names = {r["name"] for r in obj["references"]}
                assert {p["panelRefName"] for p in panels} == names


def test_committed_ndjson_matches_the_generator() -> None:
    spec = importlib.util.spec_from_file_location("dashboard_build", DASHBOARD_DIR / "build.py")
    assert spec is not None
    assert spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = build  # dataclasses resolve string annotations through sys.modules
    try:
        spec.loader.exec_module(build)
    finally:
        del sys.modules[spec.name]

    for name, objects in build.saved_objects().items():
        assert (DASHBOARD_DIR / name).read_text() == build.render(objects), f"run dashboard/build.py ({name})"


def test_the_field_check_catches_a_text_field_under_terms() -> None:
    # The check itself must be able to fail: terms on free text is exactly the mistake it exists for.
    assert FIELDS["trading-signals"]["reject_detail"] not in AGG_TYPES["terms"]
    assert FIELDS["trading-signals"]["reject_detail.raw"] in AGG_TYPES["terms"]
    assert FIELDS["trading-signals"]["received_at"] not in AGG_TYPES["sum"]

"""Index templates: strict, composable, every document field mapped with a type chosen on purpose."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import BaseModel

from tradepipe.adapters import search_templates
from tradepipe.adapters.search_templates import (
    component_templates,
    index_template,
    index_templates,
    mapping_for,
    merged_mapping,
    model_of,
)
from tradepipe.contracts.documents import DOCUMENT_MODELS, Dimensions
from tradepipe.contracts.performance import PerformanceSnapshotDocument
from tradepipe.resources import INDEXES, TABLES, SearchIndexSpec

ALLOWED = {"keyword", "text", "double", "long", "date", "boolean"}


@pytest.mark.parametrize("spec", INDEXES, ids=lambda s: s.alias)
def test_template_is_strict_and_maps_exactly_the_document_fields(spec: SearchIndexSpec) -> None:
    merged = merged_mapping(spec)

    assert merged["dynamic"] == "strict"
    assert index_template(spec)["template"]["mappings"]["dynamic"] == "strict"
    assert set(merged["properties"]) == set(model_of(spec).model_fields)
    assert merged == mapping_for(model_of(spec))
    assert {p["type"] for p in merged["properties"].values()} <= ALLOWED


def test_every_document_model_has_an_index() -> None:
    # The stream-fed documents plus the analytics' daily performance snapshots.
    assert {model_of(spec) for spec in INDEXES} == {*DOCUMENT_MODELS.values(), PerformanceSnapshotDocument}
    assert len({spec.alias for spec in INDEXES}) == len(INDEXES)


def test_every_table_feeds_an_index_of_the_registry() -> None:
    aliases = {spec.alias for spec in INDEXES}

    assert {table.index_name for table in TABLES} <= aliases
    assert set(DOCUMENT_MODELS) <= aliases


@pytest.mark.parametrize(
    ("alias", "name", "expected"),
    [
        pytest.param("trading-signals", "ticker", "keyword", id="ticker-keyword"),
        pytest.param("trading-signals", "sector", "keyword", id="sector-keyword"),
        pytest.param("trading-signals", "reject_reason", "keyword", id="reason-code-keyword"),
        pytest.param("trading-signals", "reject_detail", "text", id="detail-free-text"),
        pytest.param("trading-signals", "risk_caps", "keyword", id="cap-names-keyword"),
        pytest.param("trading-signals", "entry_price", "double", id="price-double"),
        pytest.param("trading-signals", "total_ms", "long", id="latency-long"),
        pytest.param("trading-signals", "received_at", "date", id="time-date"),
        pytest.param("trade-executions", "filled_at", "date", id="order-time-date"),
        pytest.param("fills", "cash_flow", "double", id="money-double"),
        pytest.param("risk-events", "detail", "text", id="event-detail-text"),
        pytest.param("risk-events", "state_level", "long", id="state-level-long"),
        pytest.param("equity-snapshots", "open_positions", "long", id="count-long"),
        pytest.param("equity-snapshots", "kind", "keyword", id="kind-keyword"),
    ],
)
def test_field_types_chosen_on_purpose(alias: str, name: str, expected: str) -> None:
    spec = next(s for s in INDEXES if s.alias == alias)

    assert merged_mapping(spec)["properties"][name]["type"] == expected


def test_text_fields_keep_a_raw_keyword_for_exact_filters() -> None:
    for spec in INDEXES:
        for name, prop in merged_mapping(spec)["properties"].items():
            if prop["type"] == "text":
                assert prop["fields"]["raw"]["type"] == "keyword", (spec.alias, name)


def test_templates_compose_shared_components_and_match_only_versioned_indices() -> None:
    components = component_templates()
    templates = index_templates()

    for spec in INDEXES:
        body = templates[spec.template_name]
        assert body["index_patterns"] == [f"{spec.alias}-v*"]
        assert set(body["composed_of"]) <= set(components)
        assert "aliases" not in body["template"]  # the write alias is attached at creation only
        own = body["template"]["mappings"]["properties"]
        # The dimensions come from the shared component, not repeated per index.
        assert not set(Dimensions.model_fields) & set(own)
    patterns = [p for body in templates.values() for p in body["index_patterns"]]
    for a in patterns:
        for b in patterns:
            assert a == b or not a.removesuffix("*").startswith(b.removesuffix("*")), (a, b)


def test_a_new_index_is_a_registry_entry_and_its_document_model(monkeypatch: pytest.MonkeyPatch) -> None:
    class PerformanceStub(Dimensions):
        day: datetime
        realized_pl: float | None
        trades: int

    spec = SearchIndexSpec("weekly-stub", time_field="day")
    monkeypatch.setitem(search_templates._MODELS, spec.alias, PerformanceStub)

    body = index_template(spec)

    assert spec.concrete == "weekly-stub-v1"
    assert body["index_patterns"] == ["weekly-stub-v*"]
    assert body["composed_of"] == ["tradepipe-settings", "tradepipe-dimensions"]
    assert merged_mapping(spec)["properties"]["realized_pl"] == {"type": "double"}
    assert set(merged_mapping(spec)["properties"]) == set(PerformanceStub.model_fields)


def test_an_unmappable_field_type_fails_loudly() -> None:
    class Odd(BaseModel):
        blob: dict[str, str]

    with pytest.raises(TypeError, match="no mapping"):
        mapping_for(Odd)

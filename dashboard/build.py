"""Writes the OpenSearch Dashboards saved objects (dashboard/*.ndjson) from the definitions below.

    .venv/bin/python dashboard/build.py

The ndjson files are what `tradepipe dashboards import` loads and what the tests check (every field a
visualization names exists in the index templates with a type that aggregation can use); this script only
keeps them consistent (ids, references, JSON-in-JSON strings). Edit here, regenerate, commit both.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradepipe import resources
from tradepipe.resources import INDEXES

SIGNALS_ALIAS = resources.SIGNALS_INDEX.alias
EXECUTIONS_ALIAS = resources.EXECUTIONS_INDEX.alias
FILLS_ALIAS = resources.FILLS_INDEX.alias
RISK_EVENTS_ALIAS = resources.RISK_EVENTS_INDEX.alias
EQUITY_SNAPSHOTS_ALIAS = resources.EQUITY_SNAPSHOTS_INDEX.alias
PERFORMANCE_INDEX = resources.PERFORMANCE_INDEX.alias

HERE = Path(__file__).parent
TIME_FIELDS = {spec.alias: spec.time_field for spec in INDEXES}


def pattern_id(alias: str) -> str:
    return f"tradepipe-{alias}"


def index_pattern(alias: str) -> dict[str, Any]:
    # The title is the alias: the pattern keeps working across reindexes (`<alias>-v<N>` behind it).
    return {
        "type": "index-pattern",
        "id": pattern_id(alias),
        "attributes": {"title": alias, "timeFieldName": TIME_FIELDS[alias]},
        "references": [],
    }


@dataclass(frozen=True)
class Vis:
    id: str
    title: str
    index: str  # alias
    vis_type: str  # line | histogram | horizontal_bar | pie | table
    aggs: list[dict[str, Any]]
    query: str = ""  # KQL
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def saved_object(self) -> dict[str, Any]:
        aggs = [{"id": str(n), "enabled": True, **agg} for n, agg in enumerate(self.aggs, start=1)]
        vis_state = {
            "title": self.title,
            "type": self.vis_type,
            "aggs": aggs,
            # Dashboards merges the type's defaults (axes, series) under these when it loads the object.
            "params": {"addTooltip": True, "addLegend": True, "legendPosition": "right", **self.params},
        }
        search = {
            "query": {"query": self.query, "language": "kuery"},
            "filter": [],
            "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
        }
        return {
            "type": "visualization",
            "id": self.id,
            "attributes": {
                "title": self.title,
                "description": self.description,
                "visState": json.dumps(vis_state, sort_keys=True),
                "uiStateJSON": "{}",
                "version": 1,
                "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(search, sort_keys=True)},
            },
            "references": [
                {
                    "name": "kibanaSavedObjectMeta.searchSourceJSON.index",
                    "type": "index-pattern",
                    "id": pattern_id(self.index),
                }
            ],
        }


def count() -> dict[str, Any]:
    return {"type": "count", "schema": "metric", "params": {}}


def metric(kind: str, name: str, label: str, **params: Any) -> dict[str, Any]:
    return {"type": kind, "schema": "metric", "params": {"field": name, "customLabel": label, **params}}


def over_time(name: str) -> dict[str, Any]:
    return {
        "type": "date_histogram",
        "schema": "segment",
        "params": {"field": name, "interval": "auto", "min_doc_count": 1, "extended_bounds": {}},
    }


def terms(name: str, schema: str = "group", size: int = 10, order_by: str = "1") -> dict[str, Any]:
    # Ordered by the first metric (largest first) unless "_key": then alphabetical, so that a P&L chart
    # never drops its biggest losers for being the smallest values.
    order = "asc" if order_by == "_key" else "desc"
    return {
        "type": "terms",
        "schema": schema,
        "params": {"field": name, "size": size, "order": order, "orderBy": order_by, "otherBucket": True},
    }


STACKED = {"seriesParams": [{"data": {"id": "1"}, "mode": "stacked"}]}
LATENCIES = (
    ("enqueue_ms", "webhook: received -> enqueued"),
    ("sizing_ms", "risk: enqueued -> sized"),
    ("submit_ms", "executor: sized -> submitted"),
    ("fill_ms", "broker: submitted -> filled"),
    ("total_ms", "received -> filled"),
)

SIGNALS = [
    Vis(
        "tradepipe-signals-volume-by-ticker",
        "Signals over time by ticker",
        SIGNALS_ALIAS,
        "histogram",
        [count(), over_time("received_at"), terms("ticker")],
        params=STACKED,
    ),
    Vis(
        "tradepipe-signals-volume-by-sector",
        "Signals over time by sector",
        SIGNALS_ALIAS,
        "histogram",
        [count(), over_time("received_at"), terms("sector")],
        description="GICS sector from the bundled src/tradepipe/data/sectors.csv; Unknown if unlisted.",
        params=STACKED,
    ),
    Vis(
        "tradepipe-signals-outcome",
        "Accepted vs rejected",
        SIGNALS_ALIAS,
        "pie",
        [count(), terms("outcome", schema="segment", size=5)],
        description="accepted: sized or later; rejected: any stage said no; not_filled: a collared entry "
        "cancelled at its entry timeout (ENTRY_NOT_FILLED); pending: still on its way.",
        params={"isDonut": True},
    ),
    Vis(
        "tradepipe-signals-rejections-by-reason",
        "Rejections by reason",
        SIGNALS_ALIAS,
        "horizontal_bar",
        [count(), terms("reject_reason", schema="segment", size=30), terms("mode")],
        query="outcome:rejected",
    ),
    Vis(
        "tradepipe-signals-latency-table",
        "Latency per stage, p50 / p99 (ms)",
        SIGNALS_ALIAS,
        "table",
        [
            *(metric("percentiles", name, label, percents=[50, 99]) for name, label in LATENCIES),
            terms("mode", schema="bucket", size=2, order_by="_key"),
        ],
        description="One value per signal. Sizing excludes signals that waited for the market to open.",
        params={"perPage": 10, "showTotal": False},
    ),
    Vis(
        "tradepipe-signals-latency-over-time",
        "Latency received -> filled over time, p50 / p99 (ms)",
        SIGNALS_ALIAS,
        "line",
        [
            metric("percentiles", "total_ms", "received -> filled", percents=[50, 99]),
            over_time("received_at"),
        ],
    ),
    Vis(
        "tradepipe-signals-paper-vs-live",
        "Paper vs live",
        SIGNALS_ALIAS,
        "histogram",
        [count(), over_time("received_at"), terms("mode", size=2)],
        params=STACKED,
    ),
]

TRADING = [
    Vis(
        "tradepipe-trading-realized-by-ticker",
        "Realized P&L by ticker (net fill cash flow)",
        FILLS_ALIAS,
        "horizontal_bar",
        [metric("sum", "cash_flow", "net cash flow ($)"), terms("ticker", "segment", 100, "_key")],
        description="Sum of sells minus buys: the realized P&L of every position that is flat again; an "
        "open position shows its cost here until closed (its open P&L is in the chart below).",
    ),
    Vis(
        "tradepipe-trading-realized-by-strategy",
        "Realized P&L by strategy (net fill cash flow)",
        FILLS_ALIAS,
        "horizontal_bar",
        [metric("sum", "cash_flow", "net cash flow ($)"), terms("strategy", "segment", 100, "_key")],
        description="Fills attributed through their order's signal; fills of orders that are not ours have "
        "no strategy and are left out.",
    ),
    Vis(
        "tradepipe-trading-closed-trades-by-strategy",
        "Realized P&L by strategy, trade by trade (daily performance)",
        PERFORMANCE_INDEX,
        "line",
        [metric("max", "realized_pnl", "cumulative realized P&L ($)"), over_time("day"), terms("strategy")],
        query="source:records",
        description="FIFO-matched trades net of fees (tradepipe report --publish-snapshots, and the demo); "
        "strategy ALL is the account.",
    ),
    Vis(
        "tradepipe-trading-open-pl-by-ticker",
        "Open (unrealized) P&L by ticker",
        EQUITY_SNAPSHOTS_ALIAS,
        "line",
        [metric("avg", "unrealized_pl", "unrealized P&L ($)"), over_time("sampled_at"), terms("ticker")],
        query="kind:position",
        description="From the reconciler's one-minute samples of the broker's positions.",
    ),
    Vis(
        "tradepipe-trading-equity",
        "Account equity and day P&L",
        EQUITY_SNAPSHOTS_ALIAS,
        "line",
        [
            metric("avg", "equity", "equity ($)"),
            metric("avg", "day_pl", "day P&L ($)"),
            over_time("sampled_at"),
            terms("mode", size=2),
        ],
        query="kind:account",
    ),
    Vis(
        "tradepipe-trading-exposure",
        "Open exposure",
        EQUITY_SNAPSHOTS_ALIAS,
        "line",
        [
            metric("avg", "gross_exposure", "gross ($)"),
            metric("avg", "net_exposure", "net ($)"),
            over_time("sampled_at"),
        ],
        query="kind:account",
    ),
    Vis(
        "tradepipe-trading-exposure-by-ticker",
        "Exposure by ticker (average while held, % of equity)",
        EQUITY_SNAPSHOTS_ALIAS,
        "table",
        [
            metric("avg", "gross_value", "avg |market value| ($)"),
            metric("avg", "exposure_pct", "avg % of equity"),
            terms("ticker", schema="bucket", size=50),
            terms("sector", schema="bucket", size=20),
        ],
        query="kind:position",
        params={"perPage": 20},
    ),
    Vis(
        "tradepipe-trading-orders-by-status",
        "Orders by status",
        EXECUTIONS_ALIAS,
        "pie",
        [count(), terms("status", schema="segment", size=15), terms("mode", schema="split", size=2)],
        params={"isDonut": True, "row": False},
    ),
    Vis(
        "tradepipe-trading-fills-over-time",
        "Fills: notional over time by side",
        FILLS_ALIAS,
        "histogram",
        [metric("sum", "notional", "notional ($)"), over_time("executed_at"), terms("side", size=2)],
        params=STACKED,
    ),
    Vis(
        "tradepipe-trading-fills-table",
        "Fills by ticker",
        FILLS_ALIAS,
        "table",
        [
            count(),
            metric("sum", "signed_qty", "net qty"),
            metric("sum", "notional", "notional ($)"),
            metric("avg", "price", "avg price ($)"),
            terms("ticker", schema="bucket", size=50, order_by="1"),
            terms("strategy", schema="bucket", size=20),
        ],
        params={"perPage": 20},
    ),
    Vis(
        "tradepipe-trading-state-over-time",
        "Trading state over time (0 ACTIVE, 1 REDUCING, 2 HALTED)",
        RISK_EVENTS_ALIAS,
        "line",
        [metric("max", "state_level", "state after switch"), over_time("at"), terms("mode", size=2)],
        query="kind:state_switch",
        description="One point per switch: the state holds until the next point.",
    ),
    Vis(
        "tradepipe-trading-state-switches",
        "Trading-state switches by rule",
        RISK_EVENTS_ALIAS,
        "table",
        [
            count(),
            terms("mode", schema="bucket", size=2),
            terms("to_state", schema="bucket"),
            terms("rule", schema="bucket"),
        ],
        query="kind:state_switch",
    ),
    Vis(
        "tradepipe-trading-caps",
        "Caps that bit",
        RISK_EVENTS_ALIAS,
        "horizontal_bar",
        [count(), terms("rule", schema="segment", size=15), terms("kind", size=2)],
        query="kind:cap_applied or kind:cap_rejected",
        description="cap_applied: the order was shrunk to fit; cap_rejected: nothing was left to send.",
        params=STACKED,
    ),
]


def dashboard(dashboard_id: str, title: str, description: str, panels: list[Vis]) -> dict[str, Any]:
    grid = []
    for n in range(len(panels)):
        grid.append(
            {
                "panelIndex": str(n + 1),
                "gridData": {"x": (n % 2) * 24, "y": (n // 2) * 15, "w": 24, "h": 15, "i": str(n + 1)},
                "embeddableConfig": {},
                "version": "2.11.0",
                "panelRefName": f"panel_{n}",
            }
        )
    search = {"query": {"query": "", "language": "kuery"}, "filter": []}
    return {
        "type": "dashboard",
        "id": dashboard_id,
        "attributes": {
            "title": title,
            "description": description,
            "panelsJSON": json.dumps(grid, sort_keys=True),
            "optionsJSON": json.dumps({"useMargins": True, "hidePanelTitles": False}),
            "timeRestore": True,
            "timeFrom": "now-7d",
            "timeTo": "now",
            "refreshInterval": {"pause": False, "value": 60000},
            "version": 1,
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(search, sort_keys=True)},
        },
        "references": [
            {"name": f"panel_{n}", "type": "visualization", "id": vis.id} for n, vis in enumerate(panels)
        ],
    }


def saved_objects() -> dict[str, list[dict[str, Any]]]:
    """File name -> objects. Each file stands alone (its index patterns first), so either imports alone."""
    files = {
        "signals.ndjson": (
            "tradepipe-signals",
            "Signals",
            "Volume by ticker and sector, accepted vs rejected by reason, latency per stage, paper vs live.",
            SIGNALS,
        ),
        "trading.ndjson": (
            "tradepipe-trading",
            "Trading",
            "P&L by ticker and strategy, open exposure, orders by status, fills, trading state over time.",
            TRADING,
        ),
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for name, (dashboard_id, title, description, panels) in files.items():
        aliases = sorted({vis.index for vis in panels})
        out[name] = [
            *(index_pattern(alias) for alias in aliases),
            *(vis.saved_object() for vis in panels),
            dashboard(dashboard_id, title, description, panels),
        ]
    return out


def render(objects: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(obj, sort_keys=True) + "\n" for obj in objects)


def main() -> int:
    for name, objects in saved_objects().items():
        (HERE / name).write_text(render(objects))
        sys.stdout.write(f"wrote {name}: {len(objects)} saved objects\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

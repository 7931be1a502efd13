"""Which models matter, and where optimising pays: composite importance and priority.

*Composite importance* is rank based. Each input (the six centrality measures and
``consumers``, the consumers a node serves) becomes a percentile among the nodes of the
same kind: the share of the others with a strictly lower value (0 = lowest, 1 = none
higher; a kind with one node scores 1). The importance is the weighted mean of the
percentiles, weights from ``centrality.weights`` (an unnamed input weighs 1), and it is 0
for a node that serves no consumer: importance is for people, so an orphan (which by
definition reaches no consumer) scores 0 and ranks below every node that serves one.

A *consumer served* is an active BI report, a hand-written exposure, or a metric or saved
query of the semantic layer, reachable downstream (the node itself included): the
``consumer`` decision 02_merge stores on dbt nodes (``lineage.orphans.decide``) and the
``active`` flag of report nodes. Protection by configuration or age keeps a model from
deletion but is no one looking at it, so it does not count here.

*Priority* (``PRIORITY_FORMULA``) weighs importance by the model's runtime and by the
runtime that waits for it: its own plus that of every model downstream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import networkx as nx
import pandas as pd

from lineage_utils.errors import ParamsError
from lineage_utils.lineage.reach import downstream_reach
from lineage_utils.lineage.runtimes import RuntimeSource, execution_times

COMPOSITE_INPUTS = ("degree", "in_degree", "out_degree", "closeness", "betweenness", "pagerank", "consumers")
"""What composite importance is made of: ``centrality.MEASURES`` and the consumers served."""
SERVED_CONSUMERS = ("exposure", "semantic_layer:metric", "semantic_layer:saved_query")
"""The stored ``consumer`` reasons of dbt nodes that count as people served (plus active BI reports)."""
PRIORITY_FORMULA = "priority = importance × runtime_s × (runtime_s + downstream_runtime_s)"
"""One line, for the notebook to show."""
PRIORITY_COLUMNS = ("node_id", "kind", "name", "materialized", "importance", "consumers_served", "execution_time",
                    "downstream", "downstream_reports", "downstream_runtime", "waiting_runtime", "priority")
COLUMN_HELP = {
    "degree": "How many direct links the node has, upstream and downstream.",
    "in_degree": "How many nodes it reads directly.",
    "out_degree": "How many nodes read it directly (models, BI queries, exposures).",
    "closeness": "How near it sits to everything upstream of it (1: all of it one step away).",
    "betweenness": "How much of the lineage's shortest paths run through it: a bottleneck scores high.",
    "pagerank": "Where a random walk down the lineage ends up: favours the final nodes, so not used alone.",
    "consumers_served": "Active BI reports, exposures and metrics/saved queries that depend on it (itself included).",
    "importance": "Composite score 0-1: weighted mean of its percentiles on the measures above; "
                  "0 if it serves no consumer.",
    "execution_time": "Seconds it took to build in the dbt run (or its median over past runs).",
    "downstream": "Distinct nodes downstream of it: models, BI queries, reports.",
    "downstream_reports": "BI reports downstream of it, active or not.",
    "downstream_runtime": "Seconds of dbt build time of the models downstream of it, which wait for it.",
    "waiting_runtime": "Its own runtime plus downstream_runtime: the build time that waits for it to finish.",
    "priority": "Where optimising pays most: " + PRIORITY_FORMULA + ".",
}
"""One line per column, for stakeholders."""


def consumer_nodes(graph: nx.DiGraph) -> set[str]:
    """The nodes that count as consumers served: active BI reports, exposures, metrics and saved queries.

    dbt nodes are judged by 02_merge's stored ``consumer``; a graph without that decision
    (no ``consumer`` attribute) falls back on kinds: a non-generated exposure, a metric,
    a saved query.
    """
    found = set()
    for node, attrs in graph.nodes(data=True):
        kind = attrs.get("kind")
        if kind == "bi_report":
            if attrs.get("active"):
                found.add(node)
        elif "consumer" in attrs:
            if attrs["consumer"] in SERVED_CONSUMERS:
                found.add(node)
        elif (kind == "exposure" and not attrs.get("generated")) or kind in ("metric", "saved_query"):
            found.add(node)
    return found


def resolve_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Every input's weight (unnamed ones 1), refusing unknown names and negative or all-zero weights."""
    resolved = {name: 1.0 for name in COMPOSITE_INPUTS}
    for name, value in (weights or {}).items():
        if name not in resolved:
            raise ParamsError(f"centrality.weights: {name!r} is none of {', '.join(COMPOSITE_INPUTS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ParamsError(f"centrality.weights.{name}: {value!r} is not a number >= 0")
        resolved[name] = float(value)
    if not sum(resolved.values()):
        raise ParamsError("centrality.weights: every weight is 0, so nothing would rank")
    return resolved


def percentiles(values: pd.Series, groups: pd.Series) -> pd.Series:
    """Per group: the share of the group's other members with a strictly lower value (1 for a lone member)."""
    lower = values.groupby(groups).rank(method="min") - 1
    others = values.groupby(groups).transform("size") - 1
    return (lower / others.where(others > 0)).fillna(1.0)


def add_importance(table: pd.DataFrame, graph: nx.DiGraph, weights: Mapping[str, float] | None = None,
                   reach: pd.DataFrame | None = None) -> pd.DataFrame:
    """``table`` (``compute_centrality``'s) with ``consumers_served``, ``<input>_pct`` and ``importance``.

    Sorted by importance, then consumers served (both descending), then node id; ``reach``
    (``downstream_reach`` of ``graph``) is computed when not given.
    """
    resolved = resolve_weights(weights)
    ranked = table.copy()
    if reach is None:
        reach = downstream_reach(graph, consumer_nodes(graph))
    ranked["consumers_served"] = reach["consumers_served"].reindex(ranked["node_id"]).fillna(0).astype("int64").values
    kinds = ranked["kind"].fillna("")
    score = pd.Series(0.0, index=ranked.index)
    for name in COMPOSITE_INPUTS:
        column = "consumers_served" if name == "consumers" else name
        ranked[f"{name}_pct"] = percentiles(ranked[column].astype(float), kinds)
        score += resolved[name] * ranked[f"{name}_pct"]
    ranked["importance"] = (score / sum(resolved.values())).where(ranked["consumers_served"] > 0, 0.0)
    return ranked.sort_values(["importance", "consumers_served", "node_id"], ascending=[False, False, True],
                              ignore_index=True)


@dataclass(frozen=True)
class Priorities:
    """Models by priority, or an empty table and the reason (no execution times)."""

    table: pd.DataFrame
    formula: str
    runtime_source: RuntimeSource
    reason: str | None = None
    without_runtime: int = 0
    """Models left out: they have no runtime (did not run, or no median)."""


def prioritise(table: pd.DataFrame, graph: nx.DiGraph, runtimes: Mapping[str, float] | None = None,
               weights: Mapping[str, float] | None = None, reach: pd.DataFrame | None = None) -> Priorities:
    """Models that ran, by ``PRIORITY_FORMULA``; ``runtimes``: medians by unique_id (default: run_results).

    ``table`` is ``compute_centrality``'s, with importance (``add_importance``) or without
    (then it is added with ``weights``). Downstream reach and runtime come from one pass
    over the graph (``downstream_reach``), or ``reach`` when the caller made it already with
    the same runtimes (03_rank shares one pass with ``add_importance``).
    """
    found = execution_times(graph, runtimes)
    if not found.seconds:
        return Priorities(pd.DataFrame(columns=list(PRIORITY_COLUMNS)), PRIORITY_FORMULA, found.source, found.reason)
    if reach is None:
        reach = downstream_reach(graph, consumer_nodes(graph), found.seconds)
    ranked = table if "importance" in table.columns else add_importance(table, graph, weights, reach)
    models = ranked[ranked["kind"] == "model"]
    ran = models[models["node_id"].isin(found.seconds)].copy()
    ran["materialized"] = [graph.nodes[n].get("materialized") for n in ran["node_id"]]
    ran["execution_time"] = ran["node_id"].map(found.seconds).astype(float)
    for column in ("downstream", "downstream_reports", "downstream_runtime"):
        ran[column] = reach[column].reindex(ran["node_id"]).values
    ran["waiting_runtime"] = ran["execution_time"] + ran["downstream_runtime"]
    ran["priority"] = ran["importance"] * ran["execution_time"] * ran["waiting_runtime"]
    ordered = ran.sort_values(["priority", "node_id"], ascending=[False, True], ignore_index=True)
    return Priorities(ordered[list(PRIORITY_COLUMNS)], PRIORITY_FORMULA, found.source,
                      without_runtime=len(models) - len(ran))


def importance_vs_runtime(table: pd.DataFrame, graph: nx.DiGraph,
                          runtimes: Mapping[str, float] | None = None) -> pd.DataFrame:
    """``prioritise(...).table``: the old API. Empty (with ``attrs["reason"]``) when nothing has a runtime."""
    result = prioritise(table, graph, runtimes)
    frame = result.table
    frame.attrs.update(reason=result.reason, formula=result.formula, runtime_source=result.runtime_source)
    return frame

"""The holistic lineage graph: dbt nodes, BI queries and BI reports in one DiGraph.

Edges point downstream: source -> model -> BI query -> BI report, and model ->
semantic model -> metric -> saved query for the dbt semantic layer. Node and edge
attributes are those ``lineage.schema`` declares: what the analyses need, provenance
(``dbt``, ``exposure``, ``semantic``, ``sql``, ``bi``, ``dataset``) and, for SQL edges, the reference
text, its status and whether the read is conditional (a Liquid branch the defaults
skip). Staleness is decided here, once, on the report nodes.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, Iterable, Mapping

import networkx as nx
import pandas as pd

from lineage_utils.bi.hal import report_node_id
from lineage_utils.bi.snapshot import BiQuery, BiReport
from lineage_utils.jsonio import gc_paused, to_jsonable
from lineage_utils.lineage.schema import (
    DBT_KINDS,
    LINEAGE_SCHEMA_VERSION,
    DbtDecision,
    QueryAttrs,
    ReportAttrs,
    SqlEdgeAttrs,
    check_node_link,
)
from lineage_utils.lineage.staleness import StaleReport
from lineage_utils.records import row_dicts
from lineage_utils.run_folder import Run

__all__ = ["DBT_KINDS", "build_lineage", "from_node_link", "to_node_link"]

_STATUS_RANK = {"resolved": 3, "ambiguous": 2, "unparsed": 1}
_NOT_ATTRS = {"unique_id", "depends_on", "tests", "analyses", "fqn", "meta"}


def add_dbt(graph: nx.DiGraph, nodes: pd.DataFrame, edges: pd.DataFrame) -> None:
    undecided = asdict(DbtDecision())
    for row in row_dicts(nodes):
        attrs = {k: to_jsonable(v) for k, v in row.items() if k not in _NOT_ATTRS}
        attrs["meta"] = json.loads(row["meta"]) if row.get("meta") else {}
        attrs["fqn"] = list(row.get("fqn") or ())
        graph.add_node(row["unique_id"], **attrs, **to_jsonable(undecided))
    for row in row_dicts(edges):
        graph.add_edge(row["source"], row["target"], provenance=row["provenance"])


def add_bi(graph: nx.DiGraph, reports: Iterable[BiReport], queries: Iterable[BiQuery],
           stale: Iterable[StaleReport]) -> None:
    """Report and query nodes, query -> report edges, dataset -> importing report edges."""
    reports = list(reports)
    verdicts = {s.token: s for s in stale}
    known = {r.token for r in reports}
    for report in reports:
        verdict = verdicts.get(report.token)
        rules = list(verdict.rules) if verdict else []
        attrs = ReportAttrs(
            kind="bi_report", name=report.name, token=report.token, report_type=report.type,
            space_token=report.space_token, archived=report.archived, stale=bool(rules), stale_rules=rules,
            stale_evidence=verdict.evidence if verdict else None,
            active=not report.archived and not report.is_dataset and not rules,
            view_count=report.view_count, runs_count=report.runs_count, schedules_count=report.schedules_count,
            last_run_at=to_jsonable(report.last_run_at), created_at=to_jsonable(report.created_at),
            creator=report.creator, web_url=report.web_url,
        )
        graph.add_node(report.node_id, **asdict(attrs))
    for report in reports:
        for dataset in report.imported_datasets:
            if dataset in known:
                graph.add_edge(report_node_id(dataset), report.node_id, provenance="dataset")
    for query in queries:
        attrs = QueryAttrs(kind="bi_query", name=query.name, token=query.token, report_token=query.report_token,
                           data_source_id=query.data_source_id)
        graph.add_node(query.node_id, **asdict(attrs))
        graph.add_edge(query.node_id, report_node_id(query.report_token), provenance="bi")


def add_sql_edges(graph: nx.DiGraph, refs: pd.DataFrame) -> None:
    """dbt node -> query edges from resolved, ambiguous and unparsed-mention references."""
    for row in row_dicts(refs):
        status = row["status"]
        if status not in _STATUS_RANK:
            continue
        for candidate in row.get("candidates") or ():
            if candidate not in graph:
                continue
            source, target = candidate, row["query_node_id"]
            conditional = bool(row.get("conditional"))
            if graph.has_edge(source, target):
                data = graph.edges[source, target]
                data["refs"] = sorted(set(data["refs"]) | {row["raw"]})
                if _STATUS_RANK[status] > _STATUS_RANK[data["status"]]:
                    data["status"] = status
                data["conditional"] = data["conditional"] and conditional
            else:
                graph.add_edge(source, target, **asdict(SqlEdgeAttrs(provenance="sql", refs=[row["raw"]],
                                                                     status=status, conditional=conditional)))


def build_lineage(nodes: pd.DataFrame, edges: pd.DataFrame, reports: Iterable[BiReport],
                  queries: Iterable[BiQuery], stale: Iterable[StaleReport], refs: pd.DataFrame) -> nx.DiGraph:
    graph = nx.DiGraph(lineage_schema=LINEAGE_SCHEMA_VERSION)
    add_dbt(graph, nodes, edges)
    add_bi(graph, reports, queries, stale)
    add_sql_edges(graph, refs)
    return graph


def to_node_link(graph: nx.DiGraph) -> dict[str, Any]:
    """Deterministic node-link JSON (nodes and edges sorted)."""
    nodes = [{"id": n, **to_jsonable(graph.nodes[n])} for n in sorted(graph.nodes)]
    links = [{"source": u, "target": v, **to_jsonable(graph.edges[u, v])} for u, v in sorted(graph.edges)]
    return {"directed": True, "multigraph": False, "graph": dict(graph.graph), "nodes": nodes, "edges": links}


def read_lineage(run: Run) -> nx.DiGraph:
    """The lineage graph 02_merge stored in ``run`` (``lineage.json``), checked as :func:`from_node_link` checks."""
    return from_node_link(run.read_json("lineage"), origin=str(run.path("lineage")))


def from_node_link(data: Mapping[str, Any], origin: str = "lineage.json") -> nx.DiGraph:
    """The graph back from node-link JSON, refused (naming the culprit) if not of this schema."""
    check_node_link(data, origin)
    graph = nx.DiGraph()
    graph.graph.update(data.get("graph") or {})
    with gc_paused(freeze=True):  # 80k nodes' attribute dicts, kept for the stage: see gc_paused
        graph.add_nodes_from((node["id"], {k: v for k, v in node.items() if k != "id"}) for node in data["nodes"])
        graph.add_edges_from((edge["source"], edge["target"],
                              {k: v for k, v in edge.items() if k != "source" and k != "target"})
                             for edge in data["edges"])
    return graph

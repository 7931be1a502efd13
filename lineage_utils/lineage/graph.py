"""The holistic lineage graph: dbt nodes, BI queries and BI reports in one DiGraph.

Edges point downstream: source -> model -> BI query -> BI report. Node attributes
carry what the analyses need; edge attributes carry provenance (``dbt``,
``exposure``, ``sql``, ``bi``, ``dataset``) and, for SQL edges, the reference text,
its status and whether the read is conditional (a Liquid branch the defaults skip).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Mapping

import networkx as nx
import pandas as pd

from lineage_utils.bi.snapshot import BiQuery, BiReport
from lineage_utils.records import row_dicts

DBT_KINDS = ("model", "source", "seed", "snapshot", "exposure")
_STATUS_RANK = {"resolved": 3, "ambiguous": 2, "unparsed": 1}


def report_node_id(token: str) -> str:
    return f"mode.report.{token}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def add_dbt(graph: nx.DiGraph, nodes: pd.DataFrame, edges: pd.DataFrame) -> None:
    for row in row_dicts(nodes):
        attrs = {k: _jsonable(v) for k, v in row.items() if k not in {"unique_id", "depends_on", "tests", "analyses", "fqn"}}
        attrs["meta"] = json.loads(row["meta"]) if row.get("meta") else {}
        attrs["fqn"] = list(row.get("fqn") or ())
        graph.add_node(row["unique_id"], **attrs)
    for row in row_dicts(edges):
        graph.add_edge(row["source"], row["target"], provenance=row["provenance"])


def add_bi(graph: nx.DiGraph, reports: Iterable[BiReport], queries: Iterable[BiQuery],
           stale: Mapping[str, tuple[str, ...]]) -> None:
    """Report and query nodes, query -> report edges, dataset -> importing report edges."""
    reports = list(reports)
    known = {r.token for r in reports}
    for report in reports:
        rules = stale.get(report.token, ())
        active = not report.archived and not report.is_dataset and not rules
        graph.add_node(
            report_node_id(report.token), kind="bi_report", name=report.name, token=report.token,
            report_type=report.type, space_token=report.space_token, archived=report.archived,
            stale=bool(rules), stale_rules=list(rules), active=active,
            view_count=report.view_count, runs_count=report.runs_count,
            schedules_count=report.schedules_count,
            last_run_at=_jsonable(report.last_run_at), created_at=_jsonable(report.created_at),
            creator=report.creator, web_url=report.web_url,
        )
    for report in reports:
        for dataset in report.imported_datasets:
            if dataset in known:
                graph.add_edge(report_node_id(dataset), report_node_id(report.token), provenance="dataset")
    for query in queries:
        graph.add_node(query.node_id, kind="bi_query", name=query.name, token=query.token,
                       report_token=query.report_token, data_source_id=query.data_source_id)
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
                graph.add_edge(source, target, provenance="sql", refs=[row["raw"]], status=status,
                               conditional=conditional)


def build_lineage(nodes: pd.DataFrame, edges: pd.DataFrame, reports: Iterable[BiReport],
                  queries: Iterable[BiQuery], stale: Mapping[str, tuple[str, ...]],
                  refs: pd.DataFrame) -> nx.DiGraph:
    graph = nx.DiGraph()
    add_dbt(graph, nodes, edges)
    add_bi(graph, reports, queries, stale)
    add_sql_edges(graph, refs)
    return graph


def to_node_link(graph: nx.DiGraph) -> dict[str, Any]:
    """Deterministic node-link JSON (nodes and edges sorted)."""
    nodes = [{"id": n, **graph.nodes[n]} for n in sorted(graph.nodes)]
    links = [{"source": u, "target": v, **graph.edges[u, v]} for u, v in sorted(graph.edges)]
    return {"directed": True, "multigraph": False, "graph": dict(graph.graph), "nodes": nodes, "edges": links}


def from_node_link(data: Mapping[str, Any]) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.graph.update(data.get("graph") or {})
    for node in data["nodes"]:
        attrs = dict(node)
        graph.add_node(attrs.pop("id"), **attrs)
    for edge in data["edges"]:
        attrs = dict(edge)
        graph.add_edge(attrs.pop("source"), attrs.pop("target"), **attrs)
    return graph


"""The lineage graph as an inline SVG view: layered left (sources) to right (reports).

Node colours say what a node is (``KIND_COLOURS``) or what was decided about it
(``STATE_COLOURS``); labels and tooltips show outside text through :func:`visible`, and the
markup is rendered by the autoescaping templates.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import networkx as nx

from lineage_utils.lineage.orphans import orphan_ids
from lineage_utils.publish.cells import cell_text
from lineage_utils.publish.run_status import crawl_status_of, problem_names
from lineage_utils.publish.templating import Html, render, visible
from lineage_utils.run_folder import Run

KIND_COLOURS = {
    "source": "#6b8e23", "seed": "#8fbc8f", "snapshot": "#5f9ea0", "model": "#4682b4", "exposure": "#9370db",
    "semantic_model": "#c71585", "metric": "#db7093", "saved_query": "#b8860b",
    "bi_query": "#b0b0b0", "bi_report": "#2e8b57",
}
SEMANTIC_LAYERS = {"semantic_model": 1, "metric": 2, "saved_query": 3}
"""Columns after the last dbt model for the semantic layer (a derived metric shares its inputs' column)."""
STATE_COLOURS = {"orphan": "#d62728", "stale": "#ff8c00", "archived": "#7f7f7f", "dataset": "#20b2aa"}




def _layers(graph: nx.DiGraph) -> dict[str, int]:
    """dbt nodes by depth from their sources; datasets and the semantic layer next; reports and exposures last."""
    dbt = graph.subgraph(n for n, k in graph.nodes(data="kind") if k in {"source", "seed", "snapshot", "model"})
    if nx.is_directed_acyclic_graph(dbt):
        layers = {n: depth for depth, layer in enumerate(nx.topological_generations(dbt)) for n in layer}
    else:
        layers = {n: 0 for n in dbt}
    last = max(layers.values(), default=-1)
    for node, attrs in graph.nodes(data=True):
        if attrs.get("kind") in SEMANTIC_LAYERS:
            layers[node] = last + SEMANTIC_LAYERS[attrs["kind"]]
        elif node not in layers:
            layers[node] = last + (1 if attrs.get("report_type") == "DatasetReport" else 2)
    return layers


def _columns(graph: nx.DiGraph, layers: Mapping[str, int]) -> dict[int, list[str]]:
    """Each column ordered by the mean position of its parents (fewer crossings)."""
    columns: dict[int, list[str]] = {}
    for node in sorted(graph, key=lambda n: (layers[n], graph.nodes[n].get("kind", ""), n)):
        columns.setdefault(layers[node], []).append(node)
    rank: dict[str, float] = {}
    for layer in sorted(columns):
        def key(node: str) -> tuple[float, str]:
            parents = [rank[p] for p in graph.predecessors(node) if p in rank]
            return (sum(parents) / len(parents) if parents else float("inf"), node)

        columns[layer].sort(key=key)
        rank.update({n: i for i, n in enumerate(columns[layer])})
    return columns


def _colour(attrs: Mapping[str, Any], orphans: set[str], node: str) -> str:
    if node in orphans:
        return STATE_COLOURS["orphan"]
    if attrs.get("archived"):
        return STATE_COLOURS["archived"]
    if attrs.get("stale"):
        return STATE_COLOURS["stale"]
    if attrs.get("report_type") == "DatasetReport":
        return STATE_COLOURS["dataset"]
    return KIND_COLOURS.get(attrs.get("kind"), "#999")


def _tooltip(node: str, attrs: Mapping[str, Any]) -> str:
    parts = [node, f"kind: {attrs.get('kind')}", f"name: {attrs.get('name')}"]
    if attrs.get("time_spine"):
        parts.append("time spine of the semantic layer")
    for key in ("relation_name", "materialized", "metric_type", "stale_rules", "archived", "view_count", "runs_count",
                "last_run_at", "execution_time"):
        if attrs.get(key) not in (None, [], ""):
            parts.append(f"{key}: {cell_text(attrs.get(key))}")
    return "\n".join(parts)


def lineage_graph(graph: nx.DiGraph, orphans: Iterable[str] | None = None, max_nodes: int = 600,
                  run: Run | None = None) -> Html:
    """Inline SVG, layered left (sources) to right (reports). Click a node to light up its lineage.

    Orphans are the ones 02_merge stored on the graph unless given. Queries are folded
    into their reports; graphs bigger than ``max_nodes`` are cut down to the
    neighbourhood of orphans and inactive reports. Given the ``run`` and its crawl was
    incomplete, orphans are labelled unconfirmed (reports the crawl missed may read them).
    """
    status = crawl_status_of(run)
    unconfirmed = status is not None and not status.complete
    orphans = set(orphan_ids(graph) if orphans is None else orphans)
    view = nx.DiGraph()
    for node, attrs in graph.nodes(data=True):
        if attrs.get("kind") != "bi_query":
            view.add_node(node, **attrs)
    for u, v, data in graph.edges(data=True):
        for a in ([u] if graph.nodes[u].get("kind") != "bi_query" else list(graph.successors(u))):
            for b in ([v] if graph.nodes[v].get("kind") != "bi_query" else list(graph.successors(v))):
                if a != b:
                    view.add_edge(a, b, dashed=data.get("status") in {"ambiguous", "unparsed"} or bool(data.get("conditional")))
    if view.number_of_nodes() > max_nodes:
        focus = orphans | {n for n, a in view.nodes(data=True) if a.get("stale") or a.get("archived")}
        keep = set(focus)
        for n in focus:
            keep |= set(view.predecessors(n)) | set(view.successors(n))
        view = view.subgraph(sorted(keep)[:max_nodes]).copy()
    columns = _columns(view, _layers(view))
    x_gap, y_gap, pad = 190, 22, 30
    pos = {n: (pad + layer * x_gap, pad + i * y_gap) for layer, nodes in columns.items() for i, n in enumerate(nodes)}
    index = {n: i for i, n in enumerate(view)}
    edges = [{"u": index[u], "v": index[v], "x1": pos[u][0], "y1": pos[u][1], "x2": pos[v][0], "y2": pos[v][1],
              "dashed": bool(d.get("dashed"))} for u, v, d in view.edges(data=True)]
    nodes = [{"i": index[n], "x": pos[n][0], "y": pos[n][1], "tooltip": _tooltip(n, a),
              "colour": _colour(a, orphans, n), "label": visible(str(a.get("name") or n))[:28]}
             for n, a in view.nodes(data=True)]
    states = {**STATE_COLOURS}
    if unconfirmed:
        states = {("orphan in what was crawled (unconfirmed: crawl incomplete)" if k == "orphan" else k): v
                  for k, v in STATE_COLOURS.items()}
    legend = [*((k, v) for k, v in KIND_COLOURS.items() if k != "bi_query"), *states.items()]
    return Html(render(
        "views/lineage_graph.html.j2", uid=f"lg{abs(hash(tuple(view))) % 10**8}", legend=legend, edges=edges,
        unconfirmed=problem_names(status) if unconfirmed else None,
        nodes=nodes, width=pad * 2 + max(columns, default=0) * x_gap + 160,
        height=pad * 2 + max((len(v) for v in columns.values()), default=1) * y_gap,
        adjacency={"up": [[index[p] for p in view.predecessors(n)] for n in view],
                   "down": [[index[s] for s in view.successors(n)] for n in view]},
    ))

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
CHAR_WIDTH = 6.2
"""Pixels per character of a 10 px sans-serif label, on the wide side (labels are never cut)."""
BOX_HEIGHT = 640
"""The view's height in the page; a taller graph pans and zooms inside it."""




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


def node_colour(attrs: Mapping[str, Any], node: str, orphans: set[str] | None = None) -> str:
    """What was decided about a node (orphan, archived, stale; a dataset), else what it is."""
    if (attrs.get("orphan") if orphans is None else node in orphans):
        return STATE_COLOURS["orphan"]
    if attrs.get("archived"):
        return STATE_COLOURS["archived"]
    if attrs.get("stale"):
        return STATE_COLOURS["stale"]
    if attrs.get("report_type") == "DatasetReport":
        return STATE_COLOURS["dataset"]
    return KIND_COLOURS.get(attrs.get("kind"), "#999")


TOOLTIP_KEYS = {"relation_name": "relation", "materialized": "materialized", "metric_type": "metric type",
                "stale_rules": "stale because", "archived": "archived", "view_count": "views",
                "runs_count": "runs", "last_run_at": "last run", "execution_time": "runtime",
                "importance": "importance", "priority": "priority", "owner": "owner"}


def human(key: str, value: Any) -> str:
    """A figure as a person reads it: runtimes in s/min, counts with separators, scores to 3 figures, dates short."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key in {"execution_time", "runtime_s", "downstream_runtime"} and isinstance(value, (int, float)):
        return f"{value:.2f} s" if value < 60 else f"{value / 60:.1f} min"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    if key.endswith("_at") and isinstance(value, str) and len(value) >= 16 and value[10] in "T ":
        return value[:16].replace("T", " ") + " UTC"
    return cell_text(value)


def tooltip(node: str, attrs: Mapping[str, Any]) -> str:
    """A node's tooltip: its name and kind, then what is known of it, in words and rounded figures."""
    parts = [f"name: {attrs.get('name') or node}", f"kind: {str(attrs.get('kind') or 'other').replace('_', ' ')}",
             f"id: {node}"]
    if attrs.get("time_spine"):
        parts.append("time spine of the semantic layer")
    for key, label in TOOLTIP_KEYS.items():
        if attrs.get(key) not in (None, [], "", False):
            parts.append(f"{label}: {human(key, attrs.get(key))}")
    parts += [str(line) for line in attrs.get("notes") or ()]
    return visible("\n".join(parts))


def by_weight(view: nx.DiGraph, nodes: Iterable[str]) -> list[str]:
    """Most connected first (then by id, for a stable order): the seeds that explain the most come first."""
    return sorted(nodes, key=lambda n: (-view.degree(n), str(n)))


def focus_cut(view: nx.DiGraph, seeds: Iterable[str], max_nodes: int) -> list[str]:
    """At most ``max_nodes`` nodes: each seed in turn with its direct neighbours, until the budget is spent.

    A seed comes with what feeds it and what it feeds (most connected first), so a drawn
    stale report has its models and a drawn orphan its sources: the cut is by relevance
    to the seeds, never by name. A seed whose group no longer fits still comes alone
    while there is room.
    """
    keep: dict[str, None] = {}
    for seed in seeds:
        if len(keep) >= max_nodes:
            break
        keep.setdefault(seed)
        for neighbour in by_weight(view, {*view.predecessors(seed), *view.successors(seed)}):
            if len(keep) >= max_nodes:
                break
            keep.setdefault(neighbour)
    return list(keep)


def _left_out(view: nx.DiGraph, keep: Iterable[str], total: int) -> str:
    """What the cut left out, by kind: 'showing 600 of 81,286 nodes; left out 60,412 models, ...'."""
    kept = set(keep)
    counts: dict[str, int] = {}
    for node, kind in view.nodes(data="kind"):
        if node not in kept:
            counts[kind or "other"] = counts.get(kind or "other", 0) + 1
    parts = ", ".join(f"{count:,} {kind.replace('_', ' ')}s" for kind, count in sorted(counts.items(),
                                                                                       key=lambda kv: -kv[1]))
    return (f"Showing {len(kept):,} of {total:,} nodes: the orphan models and the stale or archived reports, each "
            f"with its direct neighbours, most connected first. Left out: {parts}.")


def fold_queries(graph: nx.DiGraph) -> nx.DiGraph:
    """The graph as drawn: each BI query folded into its report (a model -> query -> report path is model -> report).

    An edge is dashed when the read behind it is ambiguous, unparsed or conditional.
    """
    view = nx.DiGraph()
    for node, attrs in graph.nodes(data=True):
        if attrs.get("kind") != "bi_query":
            view.add_node(node, **attrs)
    for u, v, data in graph.edges(data=True):
        for a in ([u] if graph.nodes[u].get("kind") != "bi_query" else list(graph.successors(u))):
            for b in ([v] if graph.nodes[v].get("kind") != "bi_query" else list(graph.successors(v))):
                if a != b:
                    dashed = data.get("status") in {"ambiguous", "unparsed"} or bool(data.get("conditional"))
                    if not view.has_edge(a, b) or not dashed:
                        view.add_edge(a, b, dashed=dashed)
    return view


def lineage_graph(graph: nx.DiGraph, orphans: Iterable[str] | None = None, max_nodes: int = 600,
                  run: Run | None = None) -> Html:
    """Inline SVG, layered left (sources) to right (reports). Click a node to light up its lineage.

    Orphans are the ones 02_merge stored on the graph unless given. Queries are folded
    into their reports; graphs bigger than ``max_nodes`` are cut down to the
    neighbourhood of orphans and inactive reports (``focus_cut``), saying what was left
    out. Given the ``run`` and its crawl was
    incomplete, orphans are labelled unconfirmed (reports the crawl missed may read them).
    """
    orphans = set(orphan_ids(graph) if orphans is None else orphans)
    view = fold_queries(graph)
    total = view.number_of_nodes()
    left_out = None
    if total > max_nodes:
        stale = [n for n, a in view.nodes(data=True) if a.get("stale") or a.get("archived")]
        keep = focus_cut(view, [*by_weight(view, orphans & set(view)), *by_weight(view, stale)], max_nodes)
        left_out = _left_out(view, keep, total)
        view = view.subgraph(keep).copy()
    return render_view(view, orphans, left_out=left_out, run=run)


def render_view(view: nx.DiGraph, orphans: Iterable[str] = (), *, left_out: str | None = None, run: Run | None = None,
                name: str = "lg", focus: Iterable[str] = (), extra_legend: Iterable[tuple[str, str]] = ()) -> Html:
    """One drawn view (nodes already chosen): layered columns, legend, the pan/zoom/search/highlight script.

    ``focus`` nodes are ringed; ``extra_legend`` adds (label, colour) pairs for node
    colours a caller set itself (a node's ``colour`` attribute wins over its kind's).
    """
    status = crawl_status_of(run)
    unconfirmed = status is not None and not status.complete
    orphans = set(orphans)
    focus = set(focus)
    columns = _columns(view, _layers(view))
    labels = {n: visible(str(a.get("name") or n)) for n, a in view.nodes(data=True)}
    y_gap, pad = 22, 30
    left, x = {}, pad
    for layer in range(max(columns, default=0) + 1):  # each column as wide as its longest label: none is cut
        left[layer] = x
        x = round(x + max((len(labels[n]) for n in columns.get(layer, ())), default=4) * CHAR_WIDTH + 40, 1)
    rows = max((len(v) for v in columns.values()), default=1)
    pos = {n: (left[layer], pad + ((rows - len(nodes)) // 2 + i) * y_gap)  # a short column is centred
           for layer, nodes in columns.items() for i, n in enumerate(nodes)}
    height = pad * 2 + rows * y_gap
    index = {n: i for i, n in enumerate(view)}
    edges = [{"u": index[u], "v": index[v], "x1": pos[u][0], "y1": pos[u][1], "x2": pos[v][0], "y2": pos[v][1],
              "dashed": bool(d.get("dashed"))} for u, v, d in view.edges(data=True)]
    nodes = [{"i": index[n], "id": visible(str(n)), "x": pos[n][0], "y": pos[n][1], "tooltip": tooltip(n, a),
              "colour": a.get("colour") or node_colour(a, n, orphans), "label": labels[n], "focus": n in focus}
             for n, a in view.nodes(data=True)]
    colours = {node["colour"] for node in nodes}
    states = {k: v for k, v in STATE_COLOURS.items() if v in colours}
    if unconfirmed:
        states = {("orphan in what was crawled (unconfirmed: crawl incomplete)" if k == "orphan" else k): v
                  for k, v in states.items()}
    kinds = {a.get("kind") for _, a in view.nodes(data=True)}
    legend = [*((k.replace("_", " "), v) for k, v in KIND_COLOURS.items() if k in kinds and k != "bi_query"),
              *states.items(), *extra_legend]
    return Html(render(
        "views/lineage_graph.html.j2", uid=f"{name}{abs(hash(tuple(view))) % 10**8}", legend=legend, edges=edges,
        left_out=left_out, ringed=bool(focus),
        unconfirmed=problem_names(status) if unconfirmed else None,
        nodes=nodes, width=x + pad, height=height, box_height=min(height, BOX_HEIGHT),
        adjacency={"up": [[index[p] for p in view.predecessors(n)] for n in view],
                   "down": [[index[s] for s in view.successors(n)] for n in view]},
    ))

"""The published pages' focused graph views: orphans with their neighbourhood, the top-priority
models with their consumers, and the BI data sources with what their queries resolved to.

Each view is chosen by :func:`lineage_utils.publish.explorer.focused` (nearest the focus
first, never alphabetically, at most ``max_nodes``) and drawn by
:func:`lineage_utils.publish.graph_view.render_view`, so it pans, zooms, finds and lights
a clicked node's lineage, offline. A view that stops short says what it left out.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import networkx as nx
import pandas as pd

from lineage_utils.lineage.orphans import orphan_ids
from lineage_utils.lineage.query_refs import resolution_summary
from lineage_utils.publish.explorer import Focused, focused
from lineage_utils.publish.graph_view import by_weight, fold_queries, render_view
from lineage_utils.publish.templating import Html
from lineage_utils.run_folder import Run

__all__ = ["DATA_SOURCE_COLOUR", "orphan_view", "priority_view", "sources_view"]

MAX_NODES = 300
"""A view's node budget: enough for a neighbourhood, small enough to read (and to keep pages light)."""
MAX_FOCUS = 40
"""At most this many focus nodes per view (the most connected); the rest are in the page's table and CSV."""
DATA_SOURCE_COLOUR = "#8c564b"
STATUS_WORDS = ("resolved", "ambiguous", "external", "unparsed")


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _left_out(view: Focused) -> str:
    return f" Left out for room, the farthest first: {view.left_out_text}." if view.left_out else ""


def _seeds(graph: nx.DiGraph, nodes: Iterable[str], limit: int) -> tuple[list[str], int]:
    """The ``limit`` most connected of ``nodes`` (then by id), and how many there were."""
    present = [n for n in dict.fromkeys(nodes) if n in graph]
    return by_weight(graph, present)[:limit], len(present)


def orphan_view(graph: nx.DiGraph, *, run: Run | None = None, max_nodes: int = MAX_NODES,
                max_focus: int = MAX_FOCUS) -> Html | str:
    """The orphan models (ringed), what feeds them (one hop) and what they feed (two hops: the reports that went stale)."""
    orphans = orphan_ids(graph)
    if not orphans:
        return "No orphan models: every model feeds a consumer."
    view = fold_queries(graph)
    seeds, total = _seeds(view, orphans, max_focus)
    chosen = focused(view, seeds, up=1, down=2, max_nodes=max_nodes)
    which = (f"the {len(seeds):,} most connected of {total:,} orphan models (all of them are in the table above "
             "and in data/orphan_models.csv)" if total > len(seeds) else _plural(total, "orphan model"))
    note = (f"Showing {chosen.graph.number_of_nodes():,} nodes: {which}, ringed, with what feeds them and "
            f"what they feed.{_left_out(chosen)}")
    return render_view(chosen.graph, orphans, left_out=note, run=run, name="orphans", focus=seeds)


def priority_view(graph: nx.DiGraph, priorities: pd.DataFrame, *, top: int = 8, max_nodes: int = MAX_NODES,
                  depth: int = 6) -> Html | str:
    """The ``top`` models by optimisation priority (ringed), with everything downstream of them up to the consumers."""
    if priorities is None or priorities.empty or "node_id" not in priorities.columns:
        return "No priorities: no model has a runtime from a dbt run."
    view = fold_queries(graph)
    seeds = [n for n in priorities["node_id"].astype(str).head(top) if n in view]
    if not seeds:
        return "No priorities: the ranked models are not in the lineage graph."
    chosen = focused(view, seeds, up=0, down=depth, max_nodes=max_nodes)
    consumers = sum(1 for n, k in chosen.graph.nodes(data="kind") if k in {"bi_report", "exposure", "metric",
                                                                             "saved_query"})
    note = (f"Showing {chosen.graph.number_of_nodes():,} nodes: the {_plural(len(seeds), 'top-priority model')} "
            f"of the table above, ringed, and what they feed up to {depth} hops down, "
            f"{_plural(consumers, 'consumer')} among them (reports, exposures, metrics, saved queries)."
            f"{_left_out(chosen)}")
    return render_view(chosen.graph, left_out=note, name="priority", focus=seeds)


def _source_label(name: str, counts: Mapping[str, int]) -> str:
    figures = " · ".join(f"{counts[s]:,} {s}" for s in STATUS_WORDS if counts.get(s))
    return f"{name} ({figures or 'no references'})"


def sources_view(graph: nx.DiGraph, refs: pd.DataFrame, queries: pd.DataFrame, *, run: Run | None = None,
                 max_nodes: int = MAX_NODES) -> Html | str:
    """Each BI data source (ringed) with the dbt nodes its queries resolved to; dashed: an ambiguous or unparsed read.

    The label counts its references by status (external ones name tables dbt does not
    build, so they have no node to draw); a data source that looks wrongly mapped says so
    in its tooltip.
    """
    summary = resolution_summary(refs, queries)
    if summary.empty:
        return "No BI query reads a table: nothing to resolve."
    view = nx.DiGraph()
    ids = {}
    for row in summary.itertuples(index=False):
        node = f"bi_data_source.{row.data_source_id}"
        ids[str(row.data_source_id)] = node
        counts = {s: int(getattr(row, s)) for s in STATUS_WORDS}
        view.add_node(node, kind="bi_data_source", colour=DATA_SOURCE_COLOUR,
                      name=_source_label(str(row.data_source or row.data_source_id), counts),
                      notes=[f"data source id: {row.data_source_id}", f"resolved share: {row.resolved_share:.0%}",
                             *([row.flag] if row.flag else []), *([] if row.warehouse else ["not the warehouse"])])
    for query, attrs in graph.nodes(data=True):
        target = ids.get(str(attrs.get("data_source_id"))) if attrs.get("kind") == "bi_query" else None
        if target is None:
            continue
        for model, _, data in graph.in_edges(query, data=True):
            dashed = data.get("status") in {"ambiguous", "unparsed"}
            if model not in view:
                view.add_node(model, **graph.nodes[model])
            if not view.has_edge(model, target) or not dashed:
                view.add_edge(model, target, dashed=dashed)
    seeds = list(ids.values())
    chosen = focused(view, seeds, up=1, down=0, max_nodes=max_nodes)
    note = (f"Showing {chosen.graph.number_of_nodes():,} nodes: {_plural(len(seeds), 'BI data source')}, ringed, "
            "each labelled with its references by status, and the dbt nodes their queries read, most read first."
            f"{_left_out(chosen)}")
    return render_view(chosen.graph, orphan_ids(graph), left_out=note, run=run, name="sources", focus=seeds,
                       extra_legend=[("BI data source", DATA_SOURCE_COLOUR)])

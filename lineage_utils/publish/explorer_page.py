"""The explorer's drawing: a focused sub-graph as one self-contained HTML page (vis-network, inlined).

The nodes and edges are pyvis's (``Network.get_network_data``); the page is ours, so it
loads nothing from outside (pyvis's own template fetches its libraries from CDNs): the
vis-network bundle pyvis ships is inlined. Labels are drawn on a canvas and tooltips
are plain text (vis-network 9 shows a string title as text), so outside text cannot
become markup there; the details pane's markup comes from the autoescaping templates.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Mapping

import networkx as nx
from markupsafe import Markup

from lineage_utils.lineage.orphans import Protection
from lineage_utils.publish.explorer import Focused, node_details, statuses_of, why_orphan
from lineage_utils.publish.graph_view import KIND_COLOURS, STATE_COLOURS, human, node_colour, tooltip
from lineage_utils.publish.templating import render, visible

__all__ = ["explorer_page", "node_panel", "vis_network_js"]

NODE_SHAPES = {"bi_report": "box", "exposure": "diamond", "metric": "triangle", "saved_query": "triangle",
               "semantic_model": "hexagon", "source": "database"}


class ExplorerUnavailable(ImportError):
    """The explorer's libraries (the ``lab`` extra) are not installed."""


@functools.lru_cache(maxsize=1)
def vis_network_js() -> Markup:
    """The vis-network bundle pyvis ships, to inline (read once)."""
    try:
        import pyvis
    except ImportError as error:
        raise ExplorerUnavailable("the explorer needs pyvis and ipywidgets, the `lab` extra: "
                                  "pip install -e '.[lab]' (or `make lab`)") from error
    bundles = sorted((Path(pyvis.__file__).parent / "templates" / "lib").glob("vis-*/vis-network.min.js"))
    if not bundles:
        raise ExplorerUnavailable(f"pyvis {getattr(pyvis, '__version__', '?')} ships no vis-network bundle "
                                  f"under {Path(pyvis.__file__).parent / 'templates' / 'lib'}")
    text = bundles[-1].read_text(encoding="utf-8")
    return Markup(text.replace("</script", "<\\/script"))


def node_panel(graph: nx.DiGraph, node: str, importance: Mapping[str, float] | None = None,
               protection: Protection | None = None) -> str:
    """The details pane of one node (escaped markup): its details, and for an orphan why, and what would keep it."""
    details = node_details(graph, node, importance)
    if "last run" in details:
        details["last run"] = human("last_run_at", details["last run"])
    why = why_orphan(graph, node, protection)
    for lost in (why or {}).get("lost consumers", ()):
        lost["last run"] = lost["last run"] and human("last_run_at", lost["last run"])
    return render("views/explorer_details.html.j2", details=details, why=why)


def _network_data(view: Focused) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from pyvis.network import Network

    graph = view.graph
    net = Network(directed=True, cdn_resources="remote")  # data only: the page below is ours, nothing is fetched
    for node, attrs in graph.nodes(data=True):
        label = visible(str(attrs.get("name") or node))
        net.add_node(str(node), label=label, title=tooltip(node, attrs), color=node_colour(attrs, node),
                     shape=NODE_SHAPES.get(str(attrs.get("kind")), "dot"), borderWidth=4 if node in view.focus else 1, size=14 if node in view.focus else 9)
    for u, v, data in graph.edges(data=True):
        net.add_edge(str(u), str(v), dashes=data.get("status") in {"ambiguous", "unparsed"}
                     or bool(data.get("conditional")))
    source = view.source
    if source is not None:  # a node not drawn between two drawn ones (a filtered-out query, say)
        for u, w in {(u, w) for u in graph for hidden in source.successors(u) if hidden not in graph
                     for w in source.successors(hidden) if w in graph and w != u and not graph.has_edge(u, w)}:
            net.add_edge(str(u), str(w), dashes=[2, 4], color="#999", title="through a node not drawn")
    nodes, edges, *_ = net.get_network_data()
    return nodes, edges


def explorer_page(view: Focused, importance: Mapping[str, float] | None = None,
                  protection: Protection | None = None, height: int = 560) -> str:
    """The focused view as a standalone page: the graph, a legend, the note of what was left out, a details pane."""
    nodes, edges = _network_data(view)
    graph = view.graph
    full = view.graph if view.source is None else view.source
    details = {str(n): node_panel(full, n, importance, protection) for n in graph}
    kinds = {graph.nodes[n].get("kind") for n in graph}
    statuses = set().union(*(statuses_of(graph.nodes[n]) for n in graph)) if graph else set()
    legend = [*((k.replace("_", " "), c) for k, c in KIND_COLOURS.items() if k in kinds),
              *((k, c) for k, c in STATE_COLOURS.items() if k in statuses or (k == "dataset" and any(
                  graph.nodes[n].get("report_type") == "DatasetReport" for n in graph)))]
    return render("views/explorer.html.j2", vis_js=vis_network_js(), nodes=nodes, edges=edges, details=details,
                  legend=legend, note=view.note, height=height, focus=[str(f) for f in view.focus])

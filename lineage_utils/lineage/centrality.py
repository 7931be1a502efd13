"""Which nodes matter most: six centrality measures per node, with runtime beside them.

Degree, in- and out-degree are counts; closeness, betweenness and pagerank are the
normalised measures. Closeness and betweenness are computed with rustworkx (a
compiled backend) on big graphs and networkx on small ones; the two agree.
"""

from __future__ import annotations

import logging
from typing import Literal

import networkx as nx
import pandas as pd

logger = logging.getLogger(__name__)

Backend = Literal["auto", "networkx", "rustworkx"]
AUTO_RUSTWORKX_FROM = 2000
MEASURES = ("degree", "in_degree", "out_degree", "closeness", "betweenness", "pagerank")


def _rustworkx_measures(graph: nx.DiGraph) -> tuple[dict, dict]:
    import rustworkx as rx

    order = list(graph.nodes)
    index = {n: i for i, n in enumerate(order)}
    rgraph = rx.PyDiGraph()
    rgraph.add_nodes_from(order)
    rgraph.add_edges_from_no_data([(index[u], index[v]) for u, v in graph.edges])
    # Both libraries measure closeness on incoming distances (Wasserman-Faust corrected).
    closeness = rx.digraph_closeness_centrality(rgraph, wf_improved=True)
    betweenness = rx.digraph_betweenness_centrality(rgraph, normalized=True)
    return ({order[i]: v for i, v in closeness.items()}, {order[i]: v for i, v in betweenness.items()})


def compute_centrality(graph: nx.DiGraph, backend: Backend = "auto") -> pd.DataFrame:
    """One row per node: kind, name, the six measures; sorted by pagerank."""
    columns = ["node_id", "kind", "name", *MEASURES]
    if graph.number_of_nodes() == 0:
        return pd.DataFrame(columns=columns)
    use_rx = backend == "rustworkx" or (backend == "auto" and graph.number_of_nodes() >= AUTO_RUSTWORKX_FROM)
    if use_rx:
        closeness, betweenness = _rustworkx_measures(graph)
    else:
        closeness = nx.closeness_centrality(graph)
        betweenness = nx.betweenness_centrality(graph, normalized=True)
    pagerank = nx.pagerank(graph) if graph.number_of_edges() else {n: 1 / len(graph) for n in graph}
    logger.info("centrality of %d nodes with %s", len(graph), "rustworkx" if use_rx else "networkx")
    rows = [
        (node, attrs.get("kind"), attrs.get("name"), graph.degree(node), graph.in_degree(node),
         graph.out_degree(node), closeness[node], betweenness[node], pagerank[node])
        for node, attrs in graph.nodes(data=True)
    ]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["pagerank", "node_id"], ascending=[False, True], ignore_index=True)


def importance_vs_runtime(centrality: pd.DataFrame, graph: nx.DiGraph) -> pd.DataFrame:
    """Models with runtime and reach. ``priority`` = reach / mean reach x runtime / mean runtime.

    Pagerank on lineage edges flows downstream and so ranks sinks highly; what makes a slow
    model worth optimising is how much depends on it, so priority uses downstream reach
    (every node, BI reports included, that reads it directly or indirectly).
    """
    models = centrality[centrality["kind"] == "model"].copy()
    models["execution_time"] = [graph.nodes[n].get("execution_time") for n in models["node_id"]]
    models["materialized"] = [graph.nodes[n].get("materialized") for n in models["node_id"]]
    models["downstream"] = [len(nx.descendants(graph, n)) for n in models["node_id"]]
    models["downstream_reports"] = [
        sum(graph.nodes[d].get("kind") == "bi_report" for d in nx.descendants(graph, n)) for n in models["node_id"]
    ]
    runtime = models["execution_time"].fillna(0.0)
    reach = models["downstream"]
    models["priority"] = (reach / (reach.mean() or 1)) * (runtime / (runtime.mean() or 1))
    return models.sort_values(["priority", "node_id"], ascending=[False, True], ignore_index=True)

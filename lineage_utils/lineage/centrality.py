"""Which nodes matter by graph shape: six centrality measures per node of the lineage graph.

igraph (a C core) does the heavy work; networkx is the reference, and the two agree to
1e-9 (tests/lineage/test_centrality_props.py). The normalisation of each measure is
``NORMALISATION``; it is networkx's, so a value reads the same whichever backend made it.
``betweenness_samples`` > 0 estimates betweenness from that many sampled source nodes
(the very sources networkx's ``betweenness_centrality(k=..., seed=...)`` picks, rescaled
the same way); ``betweenness_error_bound`` states how far the estimate can be off.

The composite importance (``lineage.importance``) is what ranks nodes; ``rank_nodes``
measures and ranks in one call. ``importance_vs_runtime`` is
re-exported here for the callers of the old API.
"""

from __future__ import annotations

import logging
import math
import random
from typing import Literal, Mapping

import networkx as nx
import pandas as pd

from lineage_utils.errors import ParamsError
from lineage_utils.lineage.igraph_view import to_igraph
from lineage_utils.lineage.importance import add_importance, importance_vs_runtime

__all__ = ["MEASURES", "NORMALISATION", "Backend", "betweenness_error_bound", "compute_centrality",
           "importance_vs_runtime", "rank_nodes", "sample_sources"]

logger = logging.getLogger(__name__)

Backend = Literal["auto", "igraph", "networkx"]
MEASURES = ("degree", "in_degree", "out_degree", "closeness", "betweenness", "pagerank")
NORMALISATION = {
    "degree": "edges in plus edges out, a count (not divided by n - 1)",
    "in_degree": "edges in (direct parents), a count",
    "out_degree": "edges out (direct readers), a count",
    "closeness": "incoming distances, Wasserman-Faust corrected: (r - 1) / sum of distances from the r - 1 nodes "
                 "that reach it, times (r - 1) / (n - 1); 0 when nothing reaches it",
    "betweenness": "share of ordered (s, t) pairs' shortest paths through it, s != t != v, divided by "
                   "(n - 1)(n - 2); endpoints not counted",
    "pagerank": "damping 0.85, uniform teleport, sinks jump uniformly; sums to 1 over the graph",
}
"""How each measure is normalised (networkx's defaults; n: nodes of the graph)."""
PAGERANK_DAMPING = 0.85
PAGERANK_TOL = 1e-12
"""networkx stops at an L1 change below n x tol; its default 1e-6 is too loose to compare at 1e-9."""


def sample_sources(graph: nx.DiGraph, samples: int, seed: int) -> list | None:
    """The source nodes sampled betweenness uses: None for exact (0, or at least every node).

    The same draw networkx makes (``random.Random(seed).sample(list(G), k)``), so both
    backends estimate from the same sources; ``lineage.json`` loads with sorted nodes, so
    the draw is repeatable across runs.
    """
    if samples < 0:
        raise ParamsError(f"centrality.betweenness_samples: {samples} is negative")
    if samples == 0 or samples >= graph.number_of_nodes():
        return None
    if samples == 1:
        raise ParamsError("centrality.betweenness_samples: 1 cannot estimate a sampled node's own betweenness; "
                          "use 0 (exact) or at least 2")
    return random.Random(seed).sample(list(graph.nodes), samples)


def betweenness_error_bound(nodes: int, samples: int, confidence: float = 0.95) -> float:
    """With probability >= ``confidence``, no node's sampled betweenness is further than this from the exact one.

    Each node's estimate is the mean of ``samples`` (``samples - 1`` when it is itself a
    source) dependencies drawn without replacement from the other nodes, each divided by
    n - 2 so it lies in [0, 1], and that mean is unbiased. Hoeffding's bound (which holds
    for sampling without replacement) with a union bound over the n nodes gives, for
    k samples and delta = 1 - confidence::

        |estimate - exact| <= sqrt(ln(2 n / delta) / (2 (k - 1)))

    on the normalised scale of ``NORMALISATION``. Example: n = 80,000, k = 1,000, 95 %:
    0.087. Exact betweenness (0 samples) has bound 0.
    """
    if samples == 0 or samples >= nodes:
        return 0.0
    if samples < 2:
        return math.inf
    delta = 1.0 - confidence
    return math.sqrt(math.log(2 * nodes / delta) / (2 * (samples - 1)))


def _rescale_sampled(raw: list[float], nodes: list, sources: list | None) -> list[float]:
    """Raw (unnormalised) betweenness -> networkx's normalised value, exact or estimated."""
    n = len(nodes)
    if n <= 2:
        return [0.0] * n
    if sources is None:
        scale = 1 / ((n - 1) * (n - 2))
        return [b * scale for b in raw]
    k, chosen = len(sources), set(sources)
    return [b / ((k - 1 if v in chosen else k) * (n - 2)) for v, b in zip(nodes, raw)]


def _igraph_measures(graph: nx.DiGraph, sources: list | None) -> dict[str, list]:
    view = to_igraph(graph)
    igraph, n = view.igraph, len(view.nodes)
    closeness = igraph.closeness(mode="in", normalized=True)  # (r - 1) / sum of distances, NaN when r = 1
    reached_by = igraph.neighborhood_size(order=n, mode="in")  # r: itself and every node reaching it
    raw = igraph.betweenness(directed=True, sources=None if sources is None else [view.index[s] for s in sources])
    return {
        "degree": igraph.degree(mode="all"), "in_degree": igraph.degree(mode="in"),
        "out_degree": igraph.degree(mode="out"),
        "closeness": [0.0 if r <= 1 or math.isnan(c) else c * (r - 1) / (n - 1) for c, r in zip(closeness, reached_by)],
        "betweenness": _rescale_sampled(raw, view.nodes, sources),
        "pagerank": igraph.pagerank(directed=True, damping=PAGERANK_DAMPING, implementation="prpack"),
    }


def _networkx_measures(graph: nx.DiGraph, sources: list | None) -> dict[str, list]:
    nodes = list(graph.nodes)
    if sources is None:
        betweenness = nx.betweenness_centrality(graph, normalized=True)
    else:
        raw = nx.betweenness_centrality_subset(graph, sources, nodes, normalized=False)
        betweenness = dict(zip(nodes, _rescale_sampled([raw[v] for v in nodes], nodes, sources)))
    measures = {
        "degree": dict(graph.degree), "in_degree": dict(graph.in_degree), "out_degree": dict(graph.out_degree),
        "closeness": nx.closeness_centrality(graph, wf_improved=True), "betweenness": betweenness,
        "pagerank": nx.pagerank(graph, alpha=PAGERANK_DAMPING, tol=PAGERANK_TOL, max_iter=10_000),
    }
    return {name: [values[v] for v in nodes] for name, values in measures.items()}


def compute_centrality(graph: nx.DiGraph, backend: Backend = "auto", *, betweenness_samples: int = 0,
                       seed: int = 0) -> pd.DataFrame:
    """One row per node: node_id, kind, name and the six measures, sorted by node_id.

    ``backend`` auto is igraph. The ranking is ``rank_nodes``'s (a table sorted by
    pagerank put sinks, orphans among them, at the top).
    """
    columns = ["node_id", "kind", "name", *MEASURES]
    if graph.number_of_nodes() == 0:
        return pd.DataFrame(columns=columns)
    if backend not in ("auto", "igraph", "networkx"):
        raise ParamsError(f"centrality.backend: {backend!r} is none of auto, igraph, networkx")
    sources = sample_sources(graph, betweenness_samples, seed)
    use = "networkx" if backend == "networkx" else "igraph"
    measures = _networkx_measures(graph, sources) if use == "networkx" else _igraph_measures(graph, sources)
    logger.info("centrality of %d nodes with %s (betweenness %s)", len(graph), use,
                "exact" if sources is None else f"from {len(sources)} sampled sources")
    frame = pd.DataFrame({
        "node_id": list(graph.nodes), "kind": [k for _, k in graph.nodes(data="kind")],
        "name": [name for _, name in graph.nodes(data="name")],
        **{m: pd.array(measures[m], dtype="int64" if m.endswith("degree") else "float64") for m in MEASURES},
    })
    return frame.sort_values("node_id", ignore_index=True)


def rank_nodes(graph: nx.DiGraph, backend: Backend = "auto", *, weights: Mapping[str, float] | None = None,
               betweenness_samples: int = 0, seed: int = 0, reach: pd.DataFrame | None = None) -> pd.DataFrame:
    """``compute_centrality`` with the composite importance (``importance.add_importance``), most important first.

    ``reach``: ``reach.downstream_reach`` of ``graph`` when the caller has it (made when not).
    """
    table = compute_centrality(graph, backend, betweenness_samples=betweenness_samples, seed=seed)
    return add_importance(table, graph, weights, reach)

"""The lineage graph as an igraph graph (C core): vertex i is node ``nodes[i]``, in the graph's node order."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import igraph as ig
import networkx as nx


@dataclass(frozen=True)
class IndexedGraph:
    igraph: ig.Graph
    nodes: list[Any]
    """Vertex index -> node id (``list(graph.nodes)``)."""
    index: dict[Any, int]
    """Node id -> vertex index."""


_MADE: "weakref.WeakKeyDictionary[nx.DiGraph, tuple[tuple[int, int], IndexedGraph]]" = weakref.WeakKeyDictionary()
"""Each graph's igraph view, made once while its node and edge counts stay the same (03_rank asks three times)."""


def to_igraph(graph: nx.DiGraph) -> IndexedGraph:
    """Structure only (no attributes): a directed igraph graph with one vertex per node, one edge per edge.

    Made once per graph object and reused while its size is unchanged; callers treat it
    as read-only (``reach`` copies before it contracts a cycle).
    """
    stamp = (len(graph), sum(map(len, graph._succ.values())))  # number_of_edges() sums degrees: 5x slower
    made = _MADE.get(graph)
    if made is not None and made[0] == stamp:
        return made[1]
    nodes = list(graph.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    edges = [(index[u], index[v]) for u, v in graph.edges]
    view = IndexedGraph(ig.Graph(n=len(nodes), edges=edges, directed=True), nodes, index)
    _MADE[graph] = (stamp, view)
    return view

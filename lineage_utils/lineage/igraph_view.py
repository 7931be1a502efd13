"""The lineage graph as an igraph graph (C core): vertex i is node ``nodes[i]``, in the graph's node order."""

from __future__ import annotations

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


def to_igraph(graph: nx.DiGraph) -> IndexedGraph:
    """Structure only (no attributes): a directed igraph graph with one vertex per node, one edge per edge."""
    nodes = list(graph.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    edges = [(index[u], index[v]) for u, v in graph.edges]
    return IndexedGraph(ig.Graph(n=len(nodes), edges=edges, directed=True), nodes, index)

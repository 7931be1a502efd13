"""What lies downstream of every node, computed once for the whole graph.

``downstream`` (distinct descendants) is igraph's reach count, in C. The rest comes
from one pass in reverse topological order: each node's set of downstream *targets*
(BI reports, consumers, nodes with a runtime) is its children's sets joined, kept as a
bitset (a Python int, joined in C) and dropped once every parent has read it. From the
sets come, per node, the BI reports and consumers downstream and the summed runtime of
the distinct downstream nodes that ran. Nothing walks the graph once per node. A graph
with a cycle is condensed first (igraph, in C); the members of a cycle share one set.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import networkx as nx
import numpy as np
import pandas as pd

from lineage_utils.lineage.igraph_view import to_igraph

REACH_COLUMNS = ("downstream", "downstream_reports", "consumers_served", "downstream_runtime")


def _mask(positions: Iterable[int], size: int) -> int:
    """A bitset with the given bits set, built in one go (OR-ing bit by bit would be quadratic)."""
    bits = np.zeros(max(size, 1), dtype=bool)
    bits[list(positions)] = True
    return int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")


_BYTE_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little").astype(np.float64)


def _byte_sums(weights: np.ndarray) -> np.ndarray:
    """Row j, column b: the summed weights of the bits set in byte value b at byte j of a bitset."""
    padded = np.zeros(-(-len(weights) // 8) * 8)
    padded[: len(weights)] = weights
    return padded.reshape(-1, 8) @ _BYTE_BITS.T


def _weighted_sum(bits: int, byte_sums: np.ndarray) -> float:
    """The summed weights of the bits set: one table look-up per byte."""
    raw = np.frombuffer(bits.to_bytes((bits.bit_length() + 7) // 8, "little"), dtype=np.uint8)
    return float(byte_sums[np.arange(len(raw)), raw].sum())


def downstream_reach(graph: nx.DiGraph, consumers: Iterable[str] = (),
                     runtimes: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Per node (index: node id, sorted): ``REACH_COLUMNS``.

    ``downstream``: distinct nodes downstream of it (itself not counted);
    ``downstream_reports``: how many of those are BI reports; ``consumers_served``: the
    ``consumers`` among them, itself included when it is one; ``downstream_runtime``:
    summed ``runtimes`` of the distinct downstream nodes (itself not counted).
    """
    if graph.number_of_nodes() == 0:
        return pd.DataFrame(columns=list(REACH_COLUMNS))
    view = to_igraph(graph)
    n = len(view.nodes)
    downstream = [size - 1 for size in view.igraph.neighborhood_size(order=n, mode="out")]
    runtimes, consumers = runtimes or {}, set(consumers)
    dag, membership = view.igraph, list(range(n))
    if not dag.is_dag():
        membership = dag.connected_components(mode="strong").membership
        dag = dag.copy()
        dag.contract_vertices(membership, combine_attrs=None)
        dag.simplify(loops=True, multiple=True)
    members: list[list[int]] = [[] for _ in range(dag.vcount())]
    for vertex, group in enumerate(membership):
        members[group].append(vertex)
    order = list(reversed(dag.topological_sorting(mode="out")))  # every node after all its descendants
    is_report = [kind == "bi_report" for _, kind in graph.nodes(data="kind")]
    is_consumer = [node in consumers for node in view.nodes]
    seconds = [float(runtimes.get(node, 0.0)) if node in runtimes else None for node in view.nodes]
    position: dict[int, int] = {}  # vertex -> bit, targets only: those that ran first (the runtime sums stay short)
    for wanted_ran in (True, False):
        for group in order:
            for vertex in members[group]:
                if (seconds[vertex] is not None) == wanted_ran and (
                        wanted_ran or is_report[vertex] or is_consumer[vertex]):
                    position[vertex] = len(position)
    size = len(position)
    reports = _mask((p for v, p in position.items() if is_report[v]), size)
    served = _mask((p for v, p in position.items() if is_consumer[v]), size)
    weights = np.array([seconds[v] for v in position if seconds[v] is not None], dtype=float)
    ran = (1 << len(weights)) - 1
    byte_sums = _byte_sums(weights)
    children = dag.get_adjlist(mode="out")
    remaining = dag.degree(mode="in")
    bits: dict[int, int] = {}
    rows = [(0, 0, 0, 0.0)] * n
    for group in order:
        mine = 0
        for vertex in members[group]:
            if vertex in position:
                mine |= 1 << position[vertex]
        for child in children[group]:
            mine |= bits[child]
            remaining[child] -= 1
            if not remaining[child]:
                del bits[child]
        below_ran = mine & ran
        total_runtime = _weighted_sum(below_ran, byte_sums) if below_ran else 0.0
        reports_here, served_here = (mine & reports).bit_count(), (mine & served).bit_count()
        for vertex in members[group]:
            rows[vertex] = (downstream[vertex], reports_here - is_report[vertex], served_here,
                            total_runtime - (seconds[vertex] or 0.0))
        if remaining[group]:
            bits[group] = mine
    frame = pd.DataFrame(rows, index=view.nodes, columns=list(REACH_COLUMNS))
    return frame.sort_index()

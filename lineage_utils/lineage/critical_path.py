"""The critical path of a dbt invocation: the chain of dependencies that took longest.

Over the DAG of the dbt nodes that ran (those with a runtime), the critical path is the
path whose summed execution time is largest: however many threads dbt had, the run took
at least that long. A dependency through a node that did not run (a source, an ephemeral
or unselected model) still orders the nodes around it, as dbt's own subset graph keeps
it, so such nodes count as 0 s and are left out of the path shown. One topological pass
(the order from igraph, in C).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import networkx as nx
import pandas as pd

from lineage_utils.lineage.igraph_view import to_igraph
from lineage_utils.lineage.runtimes import RuntimeSource, execution_times
from lineage_utils.lineage.schema import DBT_KINDS

STEP_COLUMNS = ("step", "node_id", "name", "kind", "execution_time", "starts_at", "ends_at")


@dataclass(frozen=True)
class CriticalPath:
    """The longest chain by summed runtime, or no nodes and the reason."""

    nodes: tuple[str, ...]
    seconds: float
    """Summed execution time along the path: a lower bound of the invocation's wall time."""
    total_seconds: float
    """Summed execution time of every node that ran (the wall time with a single thread)."""
    runtime_source: RuntimeSource
    steps: pd.DataFrame
    """One row per node of the path (``STEP_COLUMNS``), offsets from the start of the path."""
    reason: str | None = None

    @property
    def share(self) -> float:
        """The path's share of the total runtime (0 when nothing ran)."""
        return self.seconds / self.total_seconds if self.total_seconds else 0.0


def critical_path(graph: nx.DiGraph, runtimes: Mapping[str, float] | None = None) -> CriticalPath:
    """The critical path through the dbt nodes of ``graph``.

    ``runtimes``: median seconds by unique_id (the run history); default: run_results.
    """
    found = execution_times(graph, runtimes)
    empty = pd.DataFrame(columns=list(STEP_COLUMNS))
    if not found.seconds:
        return CriticalPath((), 0.0, 0.0, found.source, empty, found.reason)
    seconds = found.seconds
    view = to_igraph(graph)
    kinds = dict(graph.nodes(data="kind"))
    vertices = [i for i, node in enumerate(view.nodes) if kinds[node] in DBT_KINDS]
    dbt = view.igraph.induced_subgraph(vertices)  # vertex j here is vertices[j] (ids keep their order)
    if not dbt.is_dag():
        subgraph = graph.subgraph(view.nodes[i] for i in vertices)
        cycle = " -> ".join(str(u) for u, _ in nx.find_cycle(subgraph))
        return CriticalPath((), 0.0, sum(seconds.values()), found.source, empty,
                            f"the dbt graph has a cycle ({cycle}), so no longest path")
    names = [view.nodes[i] for i in vertices]
    parents = dbt.get_adjlist(mode="in")
    finish = [0.0] * len(names)
    before: list[int | None] = [None] * len(names)
    for j in dbt.topological_sorting(mode="out"):  # in C; then one pass over the dbt nodes
        best = min(parents[j], key=lambda p: (-finish[p], str(names[p])), default=None)  # ties: smaller id
        before[j] = best
        finish[j] = (finish[best] if best is not None else 0.0) + seconds.get(names[j], 0.0)
    order = range(len(names))
    end: int | None = min(order, key=lambda j: (-finish[j], str(names[j])))
    chain = []
    while end is not None:
        chain.append(names[end])
        end = before[end]
    path = tuple(n for n in reversed(chain) if n in seconds)
    rows, clock = [], 0.0
    for step, node in enumerate(path, start=1):
        rows.append((step, node, graph.nodes[node].get("name"), graph.nodes[node].get("kind"), seconds[node],
                     clock, clock + seconds[node]))
        clock += seconds[node]
    steps = pd.DataFrame(rows, columns=list(STEP_COLUMNS))
    return CriticalPath(path, clock, sum(seconds.values()), found.source, steps)


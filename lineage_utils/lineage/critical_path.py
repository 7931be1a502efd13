"""The critical path of a dbt invocation: the chain of dependencies that took longest.

Over the DAG of the dbt nodes that ran (those with a runtime), the critical path is the
path whose summed execution time is largest: however many threads dbt had, the run took
at least that long. A dependency through a node that did not run (a source, an ephemeral
or unselected model) still orders the nodes around it, as dbt's own subset graph keeps
it, so such nodes count as 0 s and are left out of the path shown. One topological pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import networkx as nx
import pandas as pd

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
    dbt = graph.subgraph(n for n, kind in graph.nodes(data="kind") if kind in DBT_KINDS)
    try:
        order = list(nx.topological_sort(dbt))
    except nx.NetworkXUnfeasible:
        cycle = " -> ".join(str(u) for u, _ in nx.find_cycle(dbt))
        return CriticalPath((), 0.0, sum(seconds.values()), found.source, empty,
                            f"the dbt graph has a cycle ({cycle}), so no longest path")
    finish: dict = {}
    before: dict = {}
    for node in order:
        parents = list(dbt.predecessors(node))
        best = min(parents, key=lambda p: (-finish[p], str(p)), default=None)  # ties: smaller id
        before[node] = best
        finish[node] = (finish[best] if best is not None else 0.0) + seconds.get(node, 0.0)
    end = min(order, key=lambda n: (-finish[n], str(n)))
    chain = []
    while end is not None:
        chain.append(end)
        end = before[end]
    path = tuple(n for n in reversed(chain) if n in seconds)
    rows, clock = [], 0.0
    for step, node in enumerate(path, start=1):
        rows.append((step, node, graph.nodes[node].get("name"), graph.nodes[node].get("kind"), seconds[node],
                     clock, clock + seconds[node]))
        clock += seconds[node]
    steps = pd.DataFrame(rows, columns=list(STEP_COLUMNS))
    return CriticalPath(path, clock, sum(seconds.values()), found.source, steps)


"""Per-node execution time: from the run's run_results, or from a mapping of medians.

The graph carries each dbt node's ``execution_time`` from run_results.json (None: it did
not run, or the run has no run_results). The run-history store supplies
``{unique_id: median_seconds}`` instead; when given, that mapping is the only source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Mapping

import networkx as nx

from lineage_utils.lineage.schema import DBT_KINDS

RuntimeSource = Literal["run_results", "history_medians"]
NO_RUN_RESULTS = ("no execution times: the dbt target has no run_results.json (or no node ran in it), "
                  "and no runtime history was given")


@dataclass(frozen=True)
class Runtimes:
    """Seconds per dbt node that ran, where they came from, and why there are none (if so)."""

    seconds: Mapping[str, float]
    source: RuntimeSource
    reason: str | None = None


def _seconds(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def execution_times(graph: nx.DiGraph, medians: Mapping[str, float] | None = None) -> Runtimes:
    """Runtimes of the dbt nodes of ``graph``: ``medians`` when given, else their ``execution_time``.

    Nodes outside the graph, non-dbt nodes and missing, negative or non-finite values are
    left out. No value at all gives an empty mapping with the reason.
    """
    source: RuntimeSource = "history_medians" if medians is not None else "run_results"
    seconds: dict[str, float] = {}
    for node, attrs in graph.nodes(data=True):  # one pass: 80k nodes, most of them BI
        if attrs.get("kind") not in DBT_KINDS:
            continue
        value = attrs.get("execution_time") if medians is None else medians.get(node)
        if (number := _seconds(value)) is not None:
            seconds[node] = number
    if seconds:
        return Runtimes(dict(sorted(seconds.items())), source)
    reason = ("no execution times: the runtime history has no median for any node of this graph"
              if medians is not None else NO_RUN_RESULTS)
    return Runtimes({}, source, reason)

"""The critical path of an invocation: the longest chain by summed runtime, checked by hand."""

from __future__ import annotations

import networkx as nx
import pytest

from lineage_utils.lineage.critical_path import STEP_COLUMNS, critical_path


def invocation() -> nx.DiGraph:
    """
    source -> stg_a (2) -> int_x (5) -> fct_1 (1)        chains: stg_a int_x fct_1      = 8
              stg_b (4) -> int_y (1) -> fct_1            stg_b int_y fct_1              = 6
                           int_y     -> fct_2 (6)        stg_b int_y fct_2              = 11  <- critical
              stg_a     -> eph (did not run) -> fct_2    stg_a eph fct_2                = 8
    fct_2 -> a BI query (not dbt: ignored)
    """
    graph = nx.DiGraph([("source.p.raw", "stg_a"), ("source.p.raw", "stg_b"), ("stg_a", "int_x"),
                        ("int_x", "fct_1"), ("stg_b", "int_y"), ("int_y", "fct_1"), ("int_y", "fct_2"),
                        ("stg_a", "eph"), ("eph", "fct_2"), ("fct_2", "bi_query:q")])
    times = {"stg_a": 2.0, "stg_b": 4.0, "int_x": 5.0, "int_y": 1.0, "fct_1": 1.0, "fct_2": 6.0}
    for node in graph:
        kind = "source" if node.startswith("source") else "bi_query" if node.startswith("bi_") else "model"
        graph.nodes[node].update(kind=kind, name=node, execution_time=times.get(node))
    graph.nodes["bi_query:q"]["execution_time"] = 1000.0  # not a dbt node: never on the path
    return graph


def test_longest_chain_by_summed_runtime():
    path = critical_path(invocation())
    assert path.nodes == ("stg_b", "int_y", "fct_2") and path.seconds == 11.0
    assert path.total_seconds == 19.0 and path.share == pytest.approx(11 / 19) and path.reason is None
    assert list(path.steps.columns) == list(STEP_COLUMNS)
    assert list(path.steps["starts_at"]) == [0.0, 4.0, 5.0] and path.steps["ends_at"].iloc[-1] == 11.0


def test_a_node_that_did_not_run_still_orders_its_neighbours():
    graph = invocation()
    graph.nodes["eph"]["execution_time"] = None
    graph.nodes["stg_a"]["execution_time"] = 20.0  # stg_a -> eph -> fct_2 = 26, stg_a -> int_x -> fct_1 = 21.5
    graph.nodes["int_x"]["execution_time"] = 0.5
    assert critical_path(graph).nodes == ("stg_a", "fct_2")
    assert critical_path(graph).seconds == 26.0


def test_medians_replace_run_results():
    path = critical_path(invocation(), runtimes={"stg_a": 3.0, "int_x": 9.0, "fct_1": 0.5})
    assert path.nodes == ("stg_a", "int_x", "fct_1") and path.seconds == 12.5
    assert path.runtime_source == "history_medians"


def test_ties_are_broken_by_node_id():
    graph = nx.DiGraph([("b", "c"), ("a", "c")])
    nx.set_node_attributes(graph, "model", "kind")
    nx.set_node_attributes(graph, 1.0, "execution_time")
    assert critical_path(graph).nodes == ("a", "c")


def test_no_execution_times_gives_no_path_and_the_reason():
    graph = invocation()
    nx.set_node_attributes(graph, None, "execution_time")
    path = critical_path(graph)
    assert path.nodes == () and path.steps.empty and "run_results" in path.reason


def test_a_cycle_is_named():
    graph = nx.DiGraph([("a", "b"), ("b", "a")])
    nx.set_node_attributes(graph, "model", "kind")
    nx.set_node_attributes(graph, 1.0, "execution_time")
    assert "cycle" in critical_path(graph).reason

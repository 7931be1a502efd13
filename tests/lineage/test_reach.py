"""Downstream reach in one pass equals a walk from every node."""

from __future__ import annotations

import math

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_utils.lineage.importance import consumer_nodes
from lineage_utils.lineage.reach import downstream_reach
from lineage_utils.lineage.runtimes import execution_times
from tests.lineage.lineage_strategies import lineage_graphs


def walked(graph: nx.DiGraph, consumers: set, runtimes: dict) -> dict:
    rows = {}
    for node in graph:
        below = nx.descendants(graph, node) - {node}
        rows[node] = (len(below), sum(graph.nodes[d].get("kind") == "bi_report" for d in below),
                      len((below | {node}) & consumers), sum(runtimes.get(d, 0.0) for d in below))
    return rows


def assert_same(frame, expected: dict) -> None:
    assert sorted(frame.index) == sorted(expected)
    for node, (down, reports, served, runtime) in expected.items():
        row = frame.loc[node]
        assert (row["downstream"], row["downstream_reports"], row["consumers_served"]) == (down, reports, served), node
        assert math.isclose(row["downstream_runtime"], runtime, rel_tol=1e-9, abs_tol=1e-9), node


@settings(max_examples=60, deadline=None)
@given(lineage_graphs())
def test_one_pass_equals_a_walk_per_node(graph):
    consumers, runtimes = consumer_nodes(graph), dict(execution_times(graph).seconds)
    assert_same(downstream_reach(graph, consumers, runtimes), walked(graph, consumers, runtimes))


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=14), st.data())
def test_cycles_are_condensed(n, data):
    pairs = [(u, v) for u in range(n) for v in range(n) if u != v]
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(data.draw(st.lists(st.sampled_from(pairs), unique=True, max_size=2 * n)) if pairs else [])
    kinds = data.draw(st.lists(st.sampled_from(["model", "bi_report"]), min_size=n, max_size=n))
    nx.set_node_attributes(graph, dict(enumerate(kinds)), "kind")
    consumers = set(data.draw(st.lists(st.sampled_from(range(n)), unique=True)))
    runtimes = {v: float(v) for v in data.draw(st.lists(st.sampled_from(range(n)), unique=True))}
    assert_same(downstream_reach(graph, consumers, runtimes), walked(graph, consumers, runtimes))


def test_empty_graph():
    assert downstream_reach(nx.DiGraph()).empty

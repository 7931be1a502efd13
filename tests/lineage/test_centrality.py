"""Centrality: six measures, and the compiled backend agrees with networkx."""

from __future__ import annotations

import networkx as nx
import pytest

from lineage_utils.lineage.centrality import compute_centrality


def sample_graph() -> nx.DiGraph:
    graph = nx.gnp_random_graph(60, 0.06, seed=7, directed=True)
    dag = nx.DiGraph((u, v) for u, v in graph.edges if u < v)
    dag.add_nodes_from(range(60))
    nx.set_node_attributes(dag, "model", "kind")
    nx.set_node_attributes(dag, {n: f"m{n}" for n in dag}, "name")
    return nx.relabel_nodes(dag, {n: f"model.p.m{n}" for n in dag})


def test_rustworkx_matches_networkx():
    graph = sample_graph()
    nx_table = compute_centrality(graph, "networkx").set_index("node_id").sort_index()
    rx_table = compute_centrality(graph, "rustworkx").set_index("node_id").sort_index()
    for measure in ("closeness", "betweenness", "pagerank", "degree"):
        assert nx_table[measure].values == pytest.approx(rx_table[measure].values, abs=1e-9), measure


def test_degree_counts():
    graph = nx.DiGraph([("a", "b"), ("b", "c"), ("a", "c"), ("b", "d")])
    nx.set_node_attributes(graph, "model", "kind")
    table = compute_centrality(graph).set_index("node_id")
    assert (table.loc["a", "out_degree"], table.loc["c", "in_degree"], table.loc["b", "degree"]) == (2, 2, 3)
    # only a -> d has a shortest path through an inner node (b); normalised by (n - 1)(n - 2) = 6
    assert table["betweenness"].to_dict() == pytest.approx({"a": 0.0, "b": 1 / 6, "c": 0.0, "d": 0.0})


def test_empty_graph():
    assert compute_centrality(nx.DiGraph()).empty


def test_priority_ranks_slow_models_with_much_downstream_first():
    from lineage_utils.lineage.centrality import importance_vs_runtime

    graph = nx.DiGraph([("m.hub", "m.a"), ("m.hub", "m.b"), ("m.a", "m.c"), ("m.leaf_slow", "m.d")])
    nx.set_node_attributes(graph, "model", "kind")
    nx.set_node_attributes(graph, {"m.hub": 10.0, "m.leaf_slow": 10.0, "m.a": 1.0, "m.b": 1.0, "m.c": 1.0,
                                   "m.d": 1.0}, "execution_time")
    table = importance_vs_runtime(compute_centrality(graph), graph)
    assert table["node_id"].iloc[0] == "m.hub"
    assert table.set_index("node_id").loc["m.hub", "downstream"] == 3

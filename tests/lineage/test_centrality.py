"""Centrality: six measures, igraph agrees with networkx, the normalisation is networkx's."""

from __future__ import annotations

import networkx as nx
import pytest

from lineage_utils.errors import ParamsError
from lineage_utils.lineage.centrality import MEASURES, NORMALISATION, compute_centrality, rank_nodes


def sample_graph() -> nx.DiGraph:
    graph = nx.gnp_random_graph(60, 0.06, seed=7, directed=True)
    dag = nx.DiGraph((u, v) for u, v in graph.edges if u < v)
    dag.add_nodes_from(range(60))
    nx.set_node_attributes(dag, "model", "kind")
    nx.set_node_attributes(dag, {n: f"m{n}" for n in dag}, "name")
    return nx.relabel_nodes(dag, {n: f"model.p.m{n}" for n in dag})


def test_igraph_matches_networkx():
    graph = sample_graph()
    nx_table = compute_centrality(graph, "networkx").set_index("node_id")
    ig_table = compute_centrality(graph, "igraph").set_index("node_id")
    for measure in MEASURES:
        assert nx_table[measure].values == pytest.approx(ig_table[measure].values, abs=1e-9), measure


def test_every_measure_documents_its_normalisation():
    assert set(NORMALISATION) == set(MEASURES)


def test_degree_counts():
    graph = nx.DiGraph([("a", "b"), ("b", "c"), ("a", "c"), ("b", "d")])
    nx.set_node_attributes(graph, "model", "kind")
    table = compute_centrality(graph).set_index("node_id")
    assert (table.loc["a", "out_degree"], table.loc["c", "in_degree"], table.loc["b", "degree"]) == (2, 2, 3)
    # only a -> d has a shortest path through an inner node (b); normalised by (n - 1)(n - 2) = 6
    assert table["betweenness"].to_dict() == pytest.approx({"a": 0.0, "b": 1 / 6, "c": 0.0, "d": 0.0})


def test_table_is_sorted_by_node_id_and_has_one_row_per_node():
    graph = sample_graph()
    table = compute_centrality(graph)
    assert list(table["node_id"]) == sorted(graph.nodes)


def test_empty_graph():
    assert compute_centrality(nx.DiGraph()).empty


def test_unknown_backend_names_the_key():
    with pytest.raises(ParamsError, match="centrality.backend"):
        compute_centrality(sample_graph(), "rustworkx")  # type: ignore[arg-type]


def test_rank_nodes_puts_the_most_important_first():
    graph = nx.DiGraph([("m.a", "m.b"), ("m.b", "q.1"), ("q.1", "r.1"), ("m.a", "m.dead")])
    kinds = {"m.a": "model", "m.b": "model", "m.dead": "model", "q.1": "bi_query", "r.1": "bi_report"}
    nx.set_node_attributes(graph, kinds, "kind")
    graph.nodes["r.1"]["active"] = True
    models = rank_nodes(graph).query("kind == 'model'")
    assert list(models["node_id"])[-1] == "m.dead"  # a sink, pagerank's favourite, but it serves no one

"""Property tests: on random DAGs igraph's six measures equal networkx's within 1e-9."""

from __future__ import annotations

import math

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_utils.errors import ParamsError
from lineage_utils.lineage.centrality import MEASURES, betweenness_error_bound, compute_centrality, sample_sources

TOLERANCE = 1e-9


@st.composite
def random_dags(draw, max_nodes: int = 24) -> nx.DiGraph:
    """A DAG: edges only from a lower to a higher index, nodes in a shuffled insertion order."""
    n = draw(st.integers(min_value=1, max_value=max_nodes))
    order = draw(st.permutations(range(n)))
    pairs = [(u, v) for u in range(n) for v in range(u + 1, n)]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=3 * n)) if pairs else []
    graph = nx.DiGraph()
    graph.add_nodes_from(f"model.p.m{i:02d}" for i in order)
    graph.add_edges_from((f"model.p.m{u:02d}", f"model.p.m{v:02d}") for u, v in edges)
    nx.set_node_attributes(graph, "model", "kind")
    return graph


def reference(graph: nx.DiGraph, k: int | None = None, seed: int = 0) -> dict[str, dict]:
    """networkx, called directly with its defaults (pagerank converged tightly enough to compare at 1e-9)."""
    return {
        "degree": dict(graph.degree), "in_degree": dict(graph.in_degree), "out_degree": dict(graph.out_degree),
        "closeness": nx.closeness_centrality(graph),
        "betweenness": nx.betweenness_centrality(graph, k=k, seed=seed),
        "pagerank": nx.pagerank(graph, tol=1e-13, max_iter=100_000),
    }


def assert_matches(table, expected: dict[str, dict]) -> None:
    rows = table.set_index("node_id")
    for measure in MEASURES:
        for node, value in expected[measure].items():
            assert math.isclose(rows.loc[node, measure], value, rel_tol=0, abs_tol=TOLERANCE), (measure, node)


@settings(max_examples=60, deadline=None)
@given(random_dags())
def test_igraph_equals_networkx_on_random_dags(graph):
    assert_matches(compute_centrality(graph, "igraph"), reference(graph))


@settings(max_examples=30, deadline=None)
@given(random_dags())
def test_networkx_backend_equals_networkx(graph):
    assert_matches(compute_centrality(graph, "networkx"), reference(graph))


@settings(max_examples=60, deadline=None)
@given(random_dags(max_nodes=30), st.integers(min_value=2, max_value=12), st.integers(min_value=0, max_value=99))
def test_sampled_betweenness_equals_networkx_with_the_same_k_and_seed(graph, k, seed):
    expected = nx.betweenness_centrality(graph, k=k, seed=seed) if k < len(graph) else nx.betweenness_centrality(graph)
    for backend in ("igraph", "networkx"):
        rows = compute_centrality(graph, backend, betweenness_samples=k, seed=seed).set_index("node_id")
        for node, value in expected.items():
            assert math.isclose(rows.loc[node, "betweenness"], value, abs_tol=TOLERANCE), (backend, node)


@settings(max_examples=40, deadline=None)
@given(random_dags(max_nodes=30), st.integers(min_value=0, max_value=99))
def test_sampled_betweenness_is_within_its_bound(graph, seed):
    # the bound holds with probability >= 95 % per draw; at 99.99 % a failure would be a bug, not bad luck
    k = max(2, len(graph) // 2)
    exact = compute_centrality(graph).set_index("node_id")["betweenness"]
    sampled = compute_centrality(graph, betweenness_samples=k, seed=seed).set_index("node_id")["betweenness"]
    assert (sampled - exact).abs().max() <= betweenness_error_bound(len(graph), k, confidence=0.9999)


def test_sampling_is_repeatable_and_seeded():
    graph = nx.gnp_random_graph(40, 0.1, seed=1, directed=True)
    graph = nx.DiGraph((u, v) for u, v in graph.edges if u < v)
    assert sample_sources(graph, 5, 3) == sample_sources(graph, 5, 3)
    assert sample_sources(graph, 5, 3) != sample_sources(graph, 5, 4)
    assert sample_sources(graph, 0, 3) is None and sample_sources(graph, len(graph), 3) is None


def test_one_sample_is_refused_naming_the_key():
    with pytest.raises(ParamsError, match="centrality.betweenness_samples"):
        sample_sources(nx.path_graph(5, create_using=nx.DiGraph), 1, 0)


def test_error_bound():
    assert betweenness_error_bound(80_000, 0) == 0.0
    assert betweenness_error_bound(80_000, 1000) == pytest.approx(math.sqrt(math.log(2 * 80_000 / 0.05) / 1998))
    assert betweenness_error_bound(80_000, 4000) < betweenness_error_bound(80_000, 1000)

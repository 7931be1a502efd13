"""lineage.json: the graph round-trips, and a file of another schema is refused by name."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_utils.errors import ArtifactError
from lineage_utils.lineage.graph import from_node_link, to_node_link
from lineage_utils.lineage.schema import LINEAGE_SCHEMA_VERSION, NODE_ATTRS

names = st.text(min_size=1, max_size=12)


def query_graph(edges: list[tuple[str, str]], label: str) -> nx.DiGraph:
    graph = nx.DiGraph(lineage_schema=LINEAGE_SCHEMA_VERSION)
    for node in {n for edge in edges for n in edge}:
        graph.add_node(node, kind="bi_query", name=label + node, token=node, report_token="r", data_source_id=None)
    graph.add_edges_from(edges, provenance="bi")
    return graph


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(names, names), max_size=25), names)
def test_node_link_round_trip(edges, label):
    graph = query_graph(edges, label)
    back = from_node_link(to_node_link(graph))
    assert sorted(back.edges) == sorted(graph.edges)
    assert all(back.nodes[n] == graph.nodes[n] for n in graph)
    assert to_node_link(back) == to_node_link(graph)


def test_every_kind_declares_its_attributes():
    assert set(NODE_ATTRS) == {"model", "source", "seed", "snapshot", "exposure", "semantic_model", "metric",
                               "saved_query", "bi_report", "bi_query"}
    assert {"orphan", "consumer", "kept_alive_by", "execution_time"} <= NODE_ATTRS["model"]
    assert {"stale", "stale_rules", "stale_evidence", "active"} <= NODE_ATTRS["bi_report"]


def test_an_unknown_attribute_is_refused_naming_the_node():
    data = to_node_link(query_graph([("a", "b")], "q"))
    data["nodes"][0]["colour"] = "red"
    with pytest.raises(ArtifactError, match=r"lineage.json: node 'a' has unknown attribute 'colour'"):
        from_node_link(data)


def test_a_missing_attribute_is_refused_naming_the_node():
    data = to_node_link(query_graph([("a", "b")], "q"))
    del data["nodes"][1]["token"]
    with pytest.raises(ArtifactError, match=r"node 'b' lacks attribute 'token'"):
        from_node_link(data)


def test_an_edge_of_unknown_provenance_is_refused():
    data = to_node_link(query_graph([("a", "b")], "q"))
    data["edges"][0]["provenance"] = "magic"
    with pytest.raises(ArtifactError, match=r"edge 'a' -> 'b' has unknown provenance 'magic'"):
        from_node_link(data)


def test_another_schema_version_is_refused():
    data = to_node_link(query_graph([("a", "b")], "q"))
    data["graph"]["lineage_schema"] = 1
    with pytest.raises(ArtifactError, match=r"lineage schema 1, expected .*re-run 02_merge"):
        from_node_link(data)


@pytest.mark.parametrize("key, value, message", [
    ("nodes", None, r"lineage.json: 'nodes' is NoneType, not a list"),
    ("edges", {"a": 1}, r"lineage.json: 'edges' is dict, not a list"),
    ("nodes", ["a"], r"lineage.json: 'nodes' holds an entry that is not an object"),
])
def test_a_malformed_node_or_edge_list_is_refused_naming_the_key(key, value, message):
    data = to_node_link(query_graph([("a", "b")], "q"))
    data[key] = value
    with pytest.raises(ArtifactError, match=message):
        from_node_link(data)


def test_an_edge_missing_an_attribute_of_its_provenance_is_refused():
    data = to_node_link(query_graph([("a", "b")], "q"))
    data["edges"][0].update(provenance="sql", refs=["a"], status="resolved")  # no 'conditional'
    with pytest.raises(ArtifactError, match=r"edge 'a' -> 'b' lacks attribute 'conditional'"):
        from_node_link(data)

"""Lineage graph serialisation and what the notebooks display."""

from __future__ import annotations

from html.parser import HTMLParser

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage_utils import stages
from lineage_utils.publish import views
from lineage_utils.lineage.graph import from_node_link, to_node_link

names = st.text(min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(names, names), max_size=25), st.dictionaries(names, st.integers() | names, max_size=3))
def test_node_link_round_trip(edges, attrs):
    graph = nx.DiGraph()
    graph.add_edges_from(edges, provenance="dbt")
    for node in graph:
        graph.nodes[node].update(attrs)
    back = from_node_link(to_node_link(graph))
    assert sorted(back.edges) == sorted(graph.edges)
    assert all(back.nodes[n] == graph.nodes[n] for n in graph)
    assert to_node_link(back) == to_node_link(graph)


class _Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"


def test_lineage_graph_escapes_outside_text():
    graph = nx.DiGraph()
    graph.add_node("model.p.a", kind="model", name="a")
    graph.add_node("mode.report.x", kind="bi_report", name="<script>alert(1)</script>", active=True)
    graph.add_edge("model.p.a", "mode.report.x", provenance="sql")
    markup = views.lineage_graph(graph, {"model.p.a"})._repr_html_()
    assert "<script>alert(1)" not in markup and "&lt;script&gt;alert(1)" in markup
    parser = _Scripts()
    parser.feed(markup)
    assert parser.scripts == 1  # only the graph's own inline script


def test_lineage_graph_of_demo_marks_orphans(demo_run):
    graph = stages.load_graph(demo_run)
    orphans = stages.orphan_ids(demo_run, graph)
    markup = views.lineage_graph(graph, orphans)._repr_html_()
    assert markup.count(views.STATE_COLOURS["orphan"]) >= len(orphans)
    assert "bi_query" not in {graph.nodes[n]["kind"] for n in orphans}


def test_lineage_graph_cuts_big_graphs_down():
    graph = nx.DiGraph()
    for i in range(900):
        graph.add_node(f"model.p.m{i}", kind="model", name=f"m{i}")
        if i:
            graph.add_edge(f"model.p.m{i - 1}", f"model.p.m{i}")
    markup = views.lineage_graph(graph, {"model.p.m5"}, max_nodes=100)._repr_html_()
    assert markup.count('class="n"') <= 100


def test_common_causes_group_by_schema(demo_run):
    causes = views.common_causes(demo_run.read_frame("query_refs"))
    assert causes["references"].is_monotonic_decreasing
    assert any("information_schema" in c for c in causes["cause"])

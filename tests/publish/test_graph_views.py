"""What the notebooks display of the lineage graph and its references."""

from __future__ import annotations

from html.parser import HTMLParser

import html
import re

import networkx as nx
import pytest

from lineage_utils import stages
from lineage_utils.lineage.orphans import orphan_ids
from lineage_utils.publish import views


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


NODE = re.compile(r'data-id="([^"]+)".*?</title><circle r="6" fill="(#[0-9a-f]+)"/>', re.S)


def drawn_colours(markup: str) -> dict[str, str]:
    """Drawn node id -> its fill colour."""
    return {html.unescape(node): colour for node, colour in NODE.findall(markup)}


@pytest.mark.slow
def test_lineage_graph_of_demo_colours_every_stored_orphan(demo_run, demo_expected):
    graph = stages.load_graph(demo_run)
    orphans = orphan_ids(graph)
    assert orphans == set(demo_expected["orphan_models"])
    drawn = drawn_colours(views.lineage_graph(graph)._repr_html_())
    assert {node: drawn.get(node) for node in orphans} == {node: views.STATE_COLOURS["orphan"] for node in orphans}
    assert {node for node, colour in drawn.items() if colour == views.STATE_COLOURS["orphan"]} == orphans


def chain(length: int) -> nx.DiGraph:
    graph = nx.DiGraph()
    for i in range(length):
        graph.add_node(f"model.p.m{i}", kind="model", name=f"m{i}")
        if i:
            graph.add_edge(f"model.p.m{i - 1}", f"model.p.m{i}")
    return graph


def test_lineage_graph_cuts_big_graphs_down_to_the_orphans_neighbourhood():
    markup = views.lineage_graph(chain(900), {"model.p.m5"}, max_nodes=100)._repr_html_()
    assert markup.count('class="n"') == 3
    colours = drawn_colours(markup)
    assert sorted(colours) == ["model.p.m4", "model.p.m5", "model.p.m6"]
    assert {node for node, colour in colours.items() if colour == views.STATE_COLOURS["orphan"]} == {"model.p.m5"}


def test_lineage_graph_cut_keeps_at_most_max_nodes():
    graph = nx.DiGraph()
    for i in range(300):
        graph.add_node(f"model.p.o{i}", kind="model", name=f"o{i}")
    markup = views.lineage_graph(graph, set(graph), max_nodes=100)._repr_html_()
    assert markup.count('class="n"') == 100
    assert len(drawn_colours(markup)) == 100


@pytest.mark.slow
def test_common_causes_group_by_schema(demo_run):
    refs = demo_run.read_frame("query_refs")
    problems = refs[refs["status"].isin(("ambiguous", "external", "unparsed"))]
    causes = views.common_causes(refs, top=len(problems))
    assert causes["references"].is_monotonic_decreasing
    assert int(causes["references"].sum()) == len(problems)
    external = problems[(problems["status"] == "external") & problems["db"].notna() & (problems["db"] != "")]
    by_schema = {schema: int(n) for schema, n in external["db"].str.lower().value_counts().items()}
    shown = {re.fullmatch(r"schema '(.+)' holds no dbt relation", row.cause).group(1): row.references
             for row in causes.itertuples() if row.status == "external" and row.cause.startswith("schema ")}
    assert shown == by_schema
    assert "information_schema" in shown  # the demo's queries of the catalogue are grouped under their schema


def test_reran_note_names_each_stage_and_why(tmp_path):
    from lineage_utils.params import build_params
    from lineage_utils.run_folder import Run

    run = Run(run_dir=tmp_path, params=build_params({}, tmp_path),
              reran=(("02_merge", "lineage.json was made under other params (x: '<b>' -> 1)"),))
    markup = views.reran(run)._repr_html_()
    assert "02_merge" in markup and "&lt;b&gt;" in markup and "<b>'" not in markup
    assert views.reran(Run(run_dir=tmp_path, params=run.params)) is None  # nothing shown


def test_at_80000_nodes_the_cut_draws_models_with_their_reports_and_says_what_it_left_out():
    """The cut is by relevance to orphans and stale reports, never alphabetical ("mode.report." < "model.")."""
    from benchmarks.generate_lineage_graph import generate_lineage

    graph = generate_lineage(models=11_000, queries=50_000)
    assert graph.number_of_nodes() > 80_000
    orphans = {n for n, o in graph.nodes(data="orphan") if o}
    markup = views.lineage_graph(graph, orphans, max_nodes=600)._repr_html_()
    drawn = drawn_colours(markup)
    assert 0 < len(drawn) <= 600
    kinds = {graph.nodes[n]["kind"] for n in drawn}
    assert {"model", "bi_report"} <= kinds
    assert sum(graph.nodes[n]["kind"] == "model" for n in drawn) >= 100
    assert [n for n in drawn if n in orphans] and all(drawn[n] == views.STATE_COLOURS["orphan"]
                                                      for n in drawn if n in orphans)
    shown = re.search(r"Showing ([\d,]+) of ([\d,]+) nodes", markup)
    assert shown and int(shown.group(1).replace(",", "")) == len(drawn)
    assert "Left out:" in markup and " models" in markup
    focused = drawn_colours(views.orphan_view(graph)._repr_html_())  # the published orphan view, same graph
    assert 0 < len(focused) <= 300 and sum(graph.nodes[n]["kind"] == "model" for n in focused) >= 40
    assert {graph.nodes[n]["kind"] for n in focused} >= {"model", "bi_report"}


def test_a_cut_seed_comes_with_its_direct_neighbours_most_connected_first():
    graph = nx.DiGraph()
    graph.add_edges_from([("s1", "a"), ("s2", "a"), ("s3", "a"), ("b", "a"), ("s1", "x"), ("s2", "x"), ("z", "y")])
    assert views.focus_cut(graph, ["a", "y"], 4) == ["a", "s1", "s2", "b"]  # s1, s2 feed two nodes
    assert views.focus_cut(graph, ["a", "y"], 10) == ["a", "s1", "s2", "b", "s3", "y", "z"]


def test_a_long_name_is_drawn_whole_and_its_column_is_as_wide_as_it():
    graph = chain(3)
    long_name = "fct_" + "very_long_model_name_" * 4
    graph.nodes["model.p.m1"]["name"] = long_name
    markup = views.lineage_graph(graph, set())._repr_html_()
    assert f">{long_name}</text>" in markup
    xs = sorted({float(x) for x in re.findall(r'data-x="([\d.]+)"', markup)})
    assert xs[2] - xs[1] >= len(long_name) * views.CHAR_WIDTH  # the next column starts after the label

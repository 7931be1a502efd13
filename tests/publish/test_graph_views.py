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


NODE = re.compile(r'<title>([^\n<]+)\n.*?</title><circle r="6" fill="(#[0-9a-f]+)"/>', re.S)


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

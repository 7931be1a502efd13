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


@pytest.mark.slow
def test_lineage_graph_of_demo_colours_every_stored_orphan(demo_run, demo_expected):
    graph = stages.load_graph(demo_run)
    orphans = orphan_ids(graph)
    assert orphans == set(demo_expected["orphan_models"])
    markup = views.lineage_graph(graph)._repr_html_()
    drawn = dict(re.findall(r'<title>([^\n<]+)\n.*?</title><circle r="6" fill="(#[0-9a-f]+)"/>', markup, re.S))
    coloured = {html.unescape(n) for n, colour in drawn.items() if colour == views.STATE_COLOURS["orphan"]}
    assert coloured == orphans


def test_lineage_graph_cuts_big_graphs_down():
    graph = nx.DiGraph()
    for i in range(900):
        graph.add_node(f"model.p.m{i}", kind="model", name=f"m{i}")
        if i:
            graph.add_edge(f"model.p.m{i - 1}", f"model.p.m{i}")
    markup = views.lineage_graph(graph, {"model.p.m5"}, max_nodes=100)._repr_html_()
    assert markup.count('class="n"') <= 100


@pytest.mark.slow
def test_common_causes_group_by_schema(demo_run):
    causes = views.common_causes(demo_run.read_frame("query_refs"))
    assert causes["references"].is_monotonic_decreasing
    assert any("information_schema" in c for c in causes["cause"])


def test_reran_note_names_each_stage_and_why(tmp_path):
    from lineage_utils.params import build_params
    from lineage_utils.run_folder import Run

    run = Run(run_dir=tmp_path, params=build_params({}, tmp_path),
              reran=(("02_merge", "lineage.json was made under other params (x: '<b>' -> 1)"),))
    markup = views.reran(run)._repr_html_()
    assert "02_merge" in markup and "&lt;b&gt;" in markup and "<b>'" not in markup
    assert views.reran(Run(run_dir=tmp_path, params=run.params)) is None  # nothing shown

"""The focused views' edge cases, tooltips in human figures, and the page helpers that keep pages short."""

from __future__ import annotations

import networkx as nx
import pandas as pd

from lineage_utils.publish import views
from lineage_utils.publish.graph_view import human, tooltip


def test_tooltips_show_rounded_human_figures():
    assert human("execution_time", 0.21277856826782227) == "0.21 s"
    assert human("execution_time", 150.0) == "2.5 min"
    assert human("view_count", 12345) == "12,345"
    assert human("importance", 0.413373860182) == "0.413"
    assert human("last_run_at", "2026-10-29T06:00:12.5+00:00") == "2026-10-29 06:00 UTC"
    assert human("archived", True) == "yes"
    text = tooltip("model.p.a", {"name": "a", "kind": "model", "execution_time": 1.23456, "stale_rules": []})
    assert text.splitlines() == ["name: a", "kind: model", "id: model.p.a", "runtime: 1.23 s"]


def test_each_focused_view_says_why_it_has_nothing_to_draw():
    graph = nx.DiGraph()
    graph.add_node("model.p.a", kind="model", name="a")
    assert views.orphan_view(graph) == "No orphan models: every model feeds a consumer."
    assert views.priority_view(graph, pd.DataFrame()).startswith("No priorities: no model has a runtime")
    assert views.priority_view(graph, pd.DataFrame({"node_id": ["model.p.gone"]})).startswith(
        "No priorities: the ranked models are not in the lineage graph")
    refs = pd.DataFrame(columns=["query_node_id", "data_source_id", "status", "name"])
    queries = pd.DataFrame(columns=["data_source_id", "data_source_name"])
    assert views.sources_view(graph, refs, queries) == "No BI query reads a table: nothing to resolve."


def test_tables_show_the_name_before_a_full_id():
    frame = pd.DataFrame({"unique_id": ["model.p.a"], "name": ["a"], "reason": ["x"]})
    markup = views.table(frame).markup
    assert markup.index(">name<") < markup.index(">reason<") < markup.index(">unique_id<")
    chosen = views.table(frame, ["unique_id", "name"]).markup  # columns named by the caller keep their order
    assert chosen.index(">unique_id<") < chosen.index(">name<")


def test_a_long_text_shows_its_start_and_links_its_file():
    text = "\n".join(f"line {i}" for i in range(500))
    markup = views.capped_text(text, "data/pr_body.md", "the whole body").markup
    assert "line 119" in markup and "line 120" not in markup
    assert 'href="data/pr_body.md"' in markup and "the first 120 of 500 lines" in markup
    assert views.capped_text("short\ntext", "data/x.md", "all").markup == views.yaml_block("short\ntext").markup

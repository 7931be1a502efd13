"""publish.explorer: finding, focusing, filtering and explaining, on hand-made graphs and the demo."""

from __future__ import annotations

import networkx as nx
import pytest

from lineage_utils import stages
from lineage_utils.publish import explorer


def small() -> nx.DiGraph:
    g = nx.DiGraph()
    nodes = {"source.p.raw.orders": ("source", "orders"), "model.p.stg_orders": ("model", "stg_orders"),
             "model.p.orders": ("model", "orders"), "model.p.fct_orders": ("model", "fct_orders"),
             "q1": ("bi_query", "q1"), "mode.report.r1": ("bi_report", "Orders board"),
             "model.p.old": ("model", "old_orders")}
    for node, (kind, name) in nodes.items():
        g.add_node(node, kind=kind, name=name, package="p" if kind != "bi_report" else None, tags=[])
    g.add_edges_from([("source.p.raw.orders", "model.p.stg_orders"), ("model.p.stg_orders", "model.p.orders"),
                      ("model.p.orders", "model.p.fct_orders"), ("model.p.fct_orders", "q1"),
                      ("q1", "mode.report.r1"), ("model.p.stg_orders", "model.p.old")])
    g.nodes["model.p.old"].update(orphan=True, tags=["legacy"])
    g.nodes["model.p.fct_orders"]["consumer"] = "tag:keep"
    return g


def test_find_ranks_exact_names_then_prefixes_then_the_rest_dbt_first():
    assert explorer.find_nodes(small(), "ORDERS") == [
        "model.p.orders", "source.p.raw.orders",  # named "orders" exactly (same length: by id)
        "mode.report.r1",  # "Orders board": a prefix
        "model.p.fct_orders", "model.p.old", "model.p.stg_orders"]  # the rest
    assert explorer.find_nodes(small(), "orders", limit=2) == ["model.p.orders", "source.p.raw.orders"]
    assert explorer.find_nodes(small(), "   ") == []


def test_focus_walks_the_depth_each_way_and_filters_without_cutting_the_walk():
    view = explorer.focused(small(), ["model.p.orders"], up=1, down=3)
    assert set(view.graph) == {"model.p.stg_orders", "model.p.orders", "model.p.fct_orders", "q1", "mode.report.r1"}
    assert view.distance["mode.report.r1"] == 3 and view.distance["model.p.orders"] == 0
    reports = explorer.focused(small(), ["model.p.orders"], up=1, down=3, kinds=["bi_report"])
    assert set(reports.graph) == {"model.p.orders", "mode.report.r1"}  # walked through the query it hides
    tagged = explorer.focused(small(), ["model.p.stg_orders"], up=0, down=1, tags=["legacy"])
    assert set(tagged.graph) == {"model.p.stg_orders", "model.p.old"}
    protected = explorer.focused(small(), ["model.p.orders"], down=1, statuses=["protected"])
    assert set(protected.graph) == {"model.p.orders", "model.p.fct_orders"}


def test_a_full_view_keeps_the_nearest_and_says_what_it_left_out():
    g = nx.DiGraph()
    g.add_node("hub", kind="model", name="hub")
    for i in range(50):
        g.add_node(f"near{i}", kind="model", name=f"near{i}")
        g.add_node(f"far{i}", kind="bi_report", name=f"far{i}")
        g.add_edge("hub", f"near{i}")
        g.add_edge(f"near{i}", f"far{i}")
    view = explorer.focused(g, ["hub"], down=2, max_nodes=31)
    assert view.graph.number_of_nodes() == 31
    assert {n for n in view.graph if n.startswith("far")} == set()  # the nearest first, never by name
    assert view.left_out == {"model": 20, "bi_report": 50}
    assert "left out for room" in view.note and "50 bi_report" in view.note


@pytest.mark.slow
def test_why_an_orphan_of_the_demo_is_one_and_what_would_keep_it(demo_run, demo_expected):
    graph = stages.load_graph(demo_run)
    for node in demo_expected["orphan_models"]:
        why = explorer.why_orphan(graph, node)
        assert why is not None and why["reason"] == demo_expected["orphan_models"][node]
        assert why["evidence"].startswith("no path to a consumer")
        assert any("keep" in hint for hint in why["would keep it"])
        if why["reason"] == "only_inactive_reports":
            assert why["lost consumers"] and all(c["state"] in {"stale", "archived", "inactive"}
                                                 for c in why["lost consumers"])
    assert explorer.why_orphan(graph, "model.metapipeline_demo.dim_customers") is None
    details = explorer.node_details(graph, "model.metapipeline_demo.dim_customers", {
        "model.metapipeline_demo.dim_customers": 0.88412})
    assert details["kind"] == "model" and details["importance"] == 0.884 and details["downstream"] > 0


def test_at_80000_nodes_a_focused_view_has_models_and_stays_within_its_budget():
    from benchmarks.generate_lineage_graph import generate_lineage

    graph = generate_lineage(models=11_000, queries=50_000)
    (hub,) = explorer.find_nodes(graph, "stg_0", limit=1)
    view = explorer.focused(graph, [hub], up=2, down=3, max_nodes=50)
    kinds = {graph.nodes[n]["kind"] for n in view.graph}
    assert view.graph.number_of_nodes() == 50 and "model" in kinds and sum(view.left_out.values()) > 0


def test_the_hints_to_keep_a_model_follow_the_params_in_force():
    from lineage_utils.lineage.orphans import Protection

    hints = explorer.keep_hints(Protection(tags=("pinned",), meta_keys=("retain",), access_public=False))
    assert hints[:2] == ["add the tag `pinned` (protection.tags)", "set `meta: {retain: true}` (protection.meta_keys)"]
    assert not any("access" in hint for hint in hints) and hints[-1].startswith("list it in protection.selectors")

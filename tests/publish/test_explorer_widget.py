"""The explorer's widgets (lu.explore): real ipywidgets driven as a user would, and the page they draw."""

from __future__ import annotations

import html
import re

import networkx as nx
import pytest

from lineage_utils.params import build_params
from lineage_utils.publish import explorer_page
from lineage_utils.publish.explorer_widget import Explorer, explore
from lineage_utils.publish.html import find_external_resources
from lineage_utils.run_folder import Run
from tests.publish.test_explorer import small

pytest.importorskip("ipywidgets", reason="the explorer needs the lab extra (make test installs it)")
pytest.importorskip("pyvis", reason="the explorer needs the lab extra (make test installs it)")


def _page(explorer: Explorer) -> str:
    srcdoc = re.search(r'srcdoc="([^"]*)"', explorer.view.value)
    assert srcdoc, "the view is an iframe holding the page"
    return html.unescape(srcdoc.group(1))


def _drawn(page: str) -> set[str]:
    import json

    nodes = re.search(r"nodes=new vis.DataSet\((\[.*?\])\),edges", page, re.S)
    return {node["id"] for node in json.loads(nodes.group(1))}


def test_it_opens_on_the_most_connected_orphan_and_draws_offline():
    explorer = Explorer(small())
    assert explorer.current.focus == ("model.p.old",)
    page = _page(explorer)
    assert _drawn(page) == set(explorer.current.graph) and "model.p.old" in _drawn(page)
    assert find_external_resources(page) == []  # vis-network inlined, nothing fetched
    assert "Why it is an orphan" in page and "What would keep it" in page  # the focus's details, shown first


def test_searching_focuses_the_best_match_and_the_depths_and_filters_redraw():
    explorer = Explorer(small())
    explorer.search.value = "fct_ord"
    assert explorer.matches.value == "model.p.fct_orders"
    assert explorer.current.focus == ("model.p.fct_orders",)
    explorer.up.value, explorer.down.value = 0, 2
    assert set(explorer.current.graph) == {"model.p.fct_orders", "q1", "mode.report.r1"}
    explorer.kinds.value = ("bi_report",)
    assert set(explorer.current.graph) == {"model.p.fct_orders", "mode.report.r1"}
    assert _drawn(_page(explorer)) == {"model.p.fct_orders", "mode.report.r1"}
    explorer.kinds.value = ()
    explorer.statuses.value = ("protected",)
    explorer.up.value = 3
    assert set(explorer.current.graph) == {"model.p.fct_orders"}  # only the focus is protected
    explorer.search.value = "no such thing"
    assert explorer.matches.options == () and "Nothing is named like" in explorer.note.value


def test_the_filters_offer_what_the_graph_has():
    explorer = Explorer(small())
    assert set(explorer.kinds.options) == {"source", "model", "bi_query", "bi_report"}
    assert explorer.packages.options == ("p",) and explorer.tags.options == ("legacy",)


def test_it_never_draws_more_than_max_nodes_and_says_what_it_left_out():
    g = nx.DiGraph()
    g.add_node("hub", kind="model", name="hub", orphan=True)
    for i in range(300):
        g.add_node(f"r{i}", kind="bi_report", name=f"r{i}", token=f"t{i}", stale=True)
        g.add_edge("hub", f"r{i}")
    explorer = Explorer(g, max_nodes=40)
    assert explorer.current.graph.number_of_nodes() == 40
    page = _page(explorer)
    assert "left out for room" in page and "261 bi_report" in page and explorer.note.value == ""
    assert len(_drawn(_page(explorer))) == 40


def test_hostile_names_reach_the_page_only_as_escaped_data():
    g = small()
    payload = '<img src=x onerror=alert(1)></script><script>alert(2)</script>'
    g.nodes["mode.report.r1"]["name"] = payload
    g.nodes["model.p.old"]["owner"] = payload
    explorer = Explorer(g)
    explorer.search.value = "old"
    explorer.down.value = 4
    page = _page(explorer)
    assert payload not in page and "<img src=x" not in page and "<script>alert" not in page
    assert '"</script' not in page.replace("<\\/script", "")
    panel = explorer_page.node_panel(g, "model.p.old")
    assert "&lt;img src=x onerror=alert(1)&gt;" in panel and "<img" not in panel


def test_explore_refuses_a_run_without_a_lineage_graph(tmp_path):
    run = Run(run_dir=tmp_path, params=build_params({}, tmp_path))
    with pytest.raises(FileNotFoundError, match="lineage.json.*run 02_merge first"):
        explore(run)


@pytest.mark.slow
def test_explore_on_the_demo_shows_an_orphans_lost_consumers_and_importance(demo_run):
    explorer = explore(demo_run)
    assert explorer.max_nodes == demo_run.params["explore.max_nodes"]
    explorer.search.value = "fct_partner_sales"
    page = _page(explorer)
    assert "Partner sales" in page and "archived" in page  # the report it lost, and how
    explorer.search.value = "fct_orders"
    assert explorer.current.focus == ("model.metapipeline_demo.fct_orders",)
    assert "importance" in explorer_page.node_panel(explorer.graph, "model.metapipeline_demo.fct_orders",
                                                    explorer.importance)


def test_a_node_the_filters_hide_between_two_drawn_ones_becomes_a_dotted_edge():
    explorer = Explorer(small())
    explorer.search.value = "fct_orders"
    explorer.up.value, explorer.down.value = 0, 2
    explorer.kinds.value = ("bi_report",)  # hides the query between the model and its report
    page = _page(explorer)
    edges = re.search(r"edges=new vis.DataSet\((\[.*?\])\);", page, re.S)
    import json

    drawn = [(e["from"], e["to"], e.get("dashes")) for e in json.loads(edges.group(1))]
    assert drawn == [("model.p.fct_orders", "mode.report.r1", [2, 4])]

"""On the demo: the orphans the run proposes to delete never rank among the most important models."""

from __future__ import annotations

import math

import pytest

from lineage_utils import stages
from lineage_utils.lineage.centrality import MEASURES, compute_centrality, rank_nodes
from lineage_utils.lineage.critical_path import critical_path
from lineage_utils.lineage.importance import prioritise
from lineage_utils.lineage.orphans import orphan_ids


@pytest.mark.slow
def test_no_orphan_in_the_top_decile_of_importance(demo_run, demo_expected):
    graph = stages.load_graph(demo_run)
    models = rank_nodes(graph).query("kind == 'model'").reset_index(drop=True)
    orphans = orphan_ids(graph)
    assert orphans == set(demo_expected["orphan_models"])
    top = set(models["node_id"][: math.ceil(len(models) / 10)])
    assert not top & orphans
    assert (models.loc[models["node_id"].isin(orphans), "importance"] == 0).all()
    for name in ("fct_product_returns", "fct_legacy_coupons"):  # 2nd and 3rd by pagerank
        assert models.index[models["name"] == name].min() > models.index[models["consumers_served"] > 0].max()


@pytest.mark.slow
def test_igraph_and_networkx_agree_on_the_demo(demo_run):
    graph = stages.load_graph(demo_run)
    ours = compute_centrality(graph, "igraph").set_index("node_id")
    reference = compute_centrality(graph, "networkx").set_index("node_id")
    for measure in MEASURES:
        assert (ours[measure] - reference[measure]).abs().max() <= 1e-9, measure


@pytest.mark.slow
def test_priorities_and_critical_path_from_the_demo_run_results(demo_run):
    graph = stages.load_graph(demo_run)
    result = prioritise(rank_nodes(graph), graph)
    assert result.reason is None and not result.table.empty and result.runtime_source == "run_results"
    path = critical_path(graph)
    assert path.reason is None and path.nodes and 0 < path.seconds <= path.total_seconds
    assert all(graph.nodes[n]["execution_time"] is not None for n in path.nodes)

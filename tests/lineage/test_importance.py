"""Composite importance: rank based, weighted, and an orphan never tops it; priority and its formula."""

from __future__ import annotations

import math

import networkx as nx
import pandas as pd
import pytest
from hypothesis import assume, given, settings

from lineage_utils.errors import ParamsError
from lineage_utils.lineage.centrality import MEASURES, compute_centrality, rank_nodes
from lineage_utils.lineage.importance import (
    COLUMN_HELP,
    COMPOSITE_INPUTS,
    PRIORITY_COLUMNS,
    PRIORITY_FORMULA,
    consumer_nodes,
    importance_vs_runtime,
    percentiles,
    prioritise,
    resolve_weights,
)
from lineage_utils.lineage.orphans import orphan_ids
from tests.lineage.lineage_strategies import lineage_graphs


def lineage() -> nx.DiGraph:
    """hub feeds a, b; a feeds c; c and b are read by an active report; leaf_slow feeds d, read by nothing."""
    graph = nx.DiGraph([("m.hub", "m.a"), ("m.hub", "m.b"), ("m.a", "m.c"), ("m.leaf_slow", "m.d"),
                        ("m.c", "q.1"), ("m.b", "q.2"), ("q.1", "r.live"), ("q.2", "r.live"), ("m.d", "q.3"),
                        ("q.3", "r.stale")])
    for node in graph:
        kind = {"m": "model", "q": "bi_query", "r": "bi_report"}[node[0]]
        graph.nodes[node].update(kind=kind, name=node[2:])
    graph.nodes["r.live"]["active"], graph.nodes["r.stale"]["active"] = True, False
    nx.set_node_attributes(graph, {"m.hub": 10.0, "m.leaf_slow": 10.0, "m.a": 1.0, "m.b": 1.0, "m.c": 1.0,
                                   "m.d": 1.0}, "execution_time")
    return graph


def test_inputs_are_the_six_measures_and_consumers():
    assert COMPOSITE_INPUTS == (*MEASURES, "consumers")


def test_every_output_column_is_explained_in_one_line():
    for column in (*MEASURES, "consumers_served", "importance", *PRIORITY_COLUMNS[4:]):
        assert column in COLUMN_HELP and "\n" not in COLUMN_HELP[column], column


def test_consumers_are_active_reports_exposures_and_semantic_consumers():
    graph = nx.DiGraph()
    graph.add_node("r.on", kind="bi_report", active=True)
    graph.add_node("r.off", kind="bi_report", active=False)
    graph.add_node("e.hand", kind="exposure", consumer="exposure")
    graph.add_node("e.gen", kind="exposure", consumer=None, generated=True)
    graph.add_node("metric.x", kind="metric", consumer="semantic_layer:metric")
    graph.add_node("m.kept", kind="model", consumer="config:tag:keep")
    graph.add_node("m.undecided_exposure", kind="exposure")
    assert consumer_nodes(graph) == {"r.on", "e.hand", "metric.x", "m.undecided_exposure"}


def test_percentiles_count_strictly_lower_values_within_a_kind():
    values = pd.Series([0.0, 0.0, 2.0, 5.0, 7.0])
    kinds = pd.Series(["model", "model", "model", "model", "bi_report"])
    assert list(percentiles(values, kinds)) == [0.0, 0.0, 2 / 3, 1.0, 1.0]


def test_weights_default_to_one_and_are_validated():
    assert resolve_weights({"pagerank": 0}) == {**{m: 1.0 for m in COMPOSITE_INPUTS}, "pagerank": 0.0}
    for bad in ({"eigenvector": 1}, {"degree": -1}, {"degree": "high"}, {m: 0 for m in COMPOSITE_INPUTS}):
        with pytest.raises(ParamsError, match="centrality.weights"):
            resolve_weights(bad)


def test_importance_is_the_weighted_mean_of_percentiles():
    graph = lineage()
    only_pagerank = {m: 0 for m in COMPOSITE_INPUTS} | {"pagerank": 1}
    table = rank_nodes(graph, weights=only_pagerank).set_index("node_id")
    served = table["consumers_served"] > 0
    assert (table.loc[served, "importance"] == table.loc[served, "pagerank_pct"]).all()
    assert (table.loc[~served, "importance"] == 0).all()


def test_a_node_serving_no_consumer_scores_zero_and_ranks_below_all_that_serve_one():
    table = rank_nodes(lineage())
    models = table[table["kind"] == "model"]
    assert set(models[models["importance"] == 0]["node_id"]) == {"m.leaf_slow", "m.d"}
    assert list(models["node_id"])[-2:] == ["m.d", "m.leaf_slow"]


@settings(max_examples=80, deadline=None)
@given(lineage_graphs())
def test_an_orphan_never_ranks_in_the_top_decile(graph):
    models = rank_nodes(graph).query("kind == 'model'").reset_index(drop=True)
    orphans, decile = orphan_ids(graph), math.ceil(len(models) / 10)
    serving = models[models["consumers_served"] > 0]
    assume(len(serving) >= decile)
    assert not set(models["node_id"][:decile]) & orphans
    assert (models.loc[models["node_id"].isin(orphans), "consumers_served"] == 0).all()
    if orphans and len(serving):  # and every orphan ranks below every model that serves someone
        assert models.index[models["node_id"].isin(orphans)].min() > serving.index.max()


def test_priority_weighs_importance_runtime_and_the_runtime_waiting():
    graph = lineage()
    result = prioritise(rank_nodes(graph), graph)
    rows = result.table.set_index("node_id")
    assert result.table["node_id"].iloc[0] == "m.hub" and result.reason is None
    hub = rows.loc["m.hub"]
    assert (hub["downstream"], hub["downstream_runtime"], hub["waiting_runtime"]) == (6, 3.0, 13.0)
    assert hub["priority"] == pytest.approx(hub["importance"] * 10.0 * 13.0)
    assert rows.loc["m.leaf_slow", "priority"] == 0.0  # slow, but it serves no one
    assert list(result.table.columns) == list(PRIORITY_COLUMNS)
    assert PRIORITY_FORMULA.count("\n") == 0 and PRIORITY_FORMULA.startswith("priority = importance")


def test_medians_replace_run_results():
    graph = lineage()
    result = prioritise(rank_nodes(graph), graph, runtimes={"m.a": 100.0, "m.c": 1.0})
    assert result.runtime_source == "history_medians"
    assert set(result.table["node_id"]) == {"m.a", "m.c"} and result.without_runtime == 4
    assert result.table["node_id"].iloc[0] == "m.a"


def test_no_run_results_gives_an_empty_table_and_the_reason():
    graph = lineage()
    nx.set_node_attributes(graph, None, "execution_time")
    result = prioritise(rank_nodes(graph), graph)
    assert result.table.empty and list(result.table.columns) == list(PRIORITY_COLUMNS)
    assert "run_results" in result.reason
    assert prioritise(rank_nodes(graph), graph, runtimes={}).reason.startswith("no execution times")


def test_old_api_still_ranks_from_a_plain_centrality_table():
    graph = lineage()
    table = importance_vs_runtime(compute_centrality(graph), graph)
    assert table["node_id"].iloc[0] == "m.hub" and table.attrs["formula"] == PRIORITY_FORMULA
    assert {"execution_time", "downstream", "downstream_reports", "name"} <= set(table.columns)

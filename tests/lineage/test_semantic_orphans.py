"""The semantic layer as consumers: what metrics, saved queries and the time spine keep alive."""

from __future__ import annotations

import pandas as pd
import pytest

from lineage_utils.dbt.artifacts import parse_manifest
from lineage_utils.dbt.frames import dbt_edges_frame, dbt_nodes_frame
from lineage_utils.errors import ArtifactError
from lineage_utils.lineage.graph import build_lineage, from_node_link, to_node_link
from lineage_utils.lineage.orphans import Protection, decide, keepers_in, orphan_ids, orphans_in
from tests.dbt.test_semantic import HERE, P, _model, manifest, v12_shop

ON, OFF = Protection(), Protection(semantic_layer=False)


def lineage(data: dict, read_by_report: tuple[str, ...] = ()):
    """The graph of a hand-made manifest, with one active report reading ``read_by_report``."""
    project = parse_manifest(data, HERE)
    graph = build_lineage(dbt_nodes_frame(project), dbt_edges_frame(project), [], [], [], pd.DataFrame())
    graph.add_node("mode.report.r1", kind="bi_report", name="r1", token="r1", active=True)
    for uid in read_by_report:
        graph.add_edge(uid, "mode.report.r1", provenance="sql", status="resolved", conditional=False, refs=[uid])
    return graph


def decided(data: dict, protection: Protection, read_by_report: tuple[str, ...] = ()):
    graph = lineage(data, read_by_report)
    decide(graph, protection)
    return graph


def test_a_model_read_only_by_a_metric_is_kept_alive_naming_the_metric():
    graph = decided(v12_shop(), ON)
    assert f"model.{P}.fct_margins" not in orphan_ids(graph)
    assert keepers_in(graph)[f"model.{P}.fct_margins"] == (
        "metric:margin", "metric:revenue_per_margin", "saved_query:weekly")


def test_without_semantic_layer_protection_it_is_an_orphan_naming_its_readers():
    graph = decided(v12_shop(), OFF)
    orphans = {o.unique_id: o for o in orphans_in(graph)}
    assert {f"model.{P}.fct_margins", f"model.{P}.fct_orders", f"model.{P}.metricflow_time_spine"} == set(orphans)
    margins = orphans[f"model.{P}.fct_margins"]
    assert margins.reason == "no_downstream_consumer"
    assert "semantic-layer nodes" in margins.evidence and "metric:margin" in margins.evidence


def test_metrics_and_saved_queries_are_consumers_semantic_models_are_not():
    graph = decided(v12_shop(), ON)
    consumers = {n: a["consumer"] for n, a in graph.nodes(data=True) if a.get("consumer")}
    assert consumers[f"metric.{P}.revenue"] == "semantic_layer:metric"
    assert consumers[f"saved_query.{P}.weekly"] == "semantic_layer:saved_query"
    assert f"semantic_model.{P}.orders" not in consumers
    assert not any(graph.nodes[n].get("orphan") for n in graph if not n.startswith("model."))


def test_the_time_spine_is_kept_alive_whenever_there_is_a_semantic_layer():
    graph = decided(v12_shop(), ON)
    assert graph.nodes[f"model.{P}.metricflow_time_spine"]["consumer"] == "semantic_layer:time_spine"
    assert keepers_in(graph)[f"model.{P}.metricflow_time_spine"] == ("time_spine",)


def test_without_a_semantic_layer_a_time_spine_is_an_ordinary_model():
    graph = decided(manifest(12, nodes=[_model("metricflow_time_spine")]), ON)
    assert orphan_ids(graph) == {f"model.{P}.metricflow_time_spine"}


def test_a_model_a_report_also_reads_has_no_semantic_keeper():
    graph = decided(v12_shop(), ON, read_by_report=(f"model.{P}.fct_orders",))
    assert f"model.{P}.fct_orders" not in keepers_in(graph)
    assert f"model.{P}.fct_orders" not in orphan_ids(graph)


def test_upstream_of_a_metric_only_model_is_kept_by_the_same_metric():
    data = v12_shop()
    staging = _model("stg_margins")
    data["nodes"][staging["unique_id"]] = staging
    data["nodes"][f"model.{P}.fct_margins"]["depends_on"]["nodes"] = [staging["unique_id"]]
    graph = decided(data, ON, read_by_report=(f"model.{P}.fct_orders",))
    assert "metric:margin" in keepers_in(graph)[staging["unique_id"]]
    assert "metric:revenue" not in keepers_in(graph)[staging["unique_id"]]


def test_lineage_json_with_semantic_nodes_round_trips_and_stays_strict():
    graph = decided(v12_shop(), ON)
    graph.remove_node("mode.report.r1")  # hand-made, without the attributes of a crawled report
    data = to_node_link(graph)
    back = from_node_link(data)
    assert back.nodes[f"metric.{P}.revenue"]["metric_type"] == "simple"
    assert back.edges[f"semantic_model.{P}.orders", f"metric.{P}.revenue"] == {"provenance": "semantic"}
    metric = next(n for n in data["nodes"] if n["id"] == f"metric.{P}.revenue")
    metric["measures"] = ["order_amount"]
    with pytest.raises(ArtifactError, match=r"node 'metric.shop.revenue' has unknown attribute 'measures'"):
        from_node_link(data)


def test_protection_reads_the_semantic_layer_param():
    from lineage_utils.params import load_params
    from tests.conftest import DEMO_PARAMS

    assert Protection.from_params(load_params(DEMO_PARAMS)).semantic_layer is True
    assert Protection.from_params(load_params(DEMO_PARAMS, ["protection.semantic_layer=false"])).semantic_layer is False


@pytest.mark.slow
def test_demo_semantic_layer_counts_and_keepers(demo_run, demo_expected):
    from lineage_utils import stages

    summary = demo_run.read_json("summary")
    for key in ("semantic_models", "metrics", "saved_queries"):
        assert summary[key] == demo_expected["counts"][key], key
    keepers = keepers_in(stages.load_graph(demo_run))
    for model, why in demo_expected["protected_models"].items():
        if why.startswith(("metric:", "saved_query:", "semantic_model:")) or why == "time_spine":
            assert keepers.get(model) == (why,), model


def test_a_semantic_model_without_metrics_keeps_nothing_alive():
    data = manifest(12, nodes=[_model("fct_orders")], metrics=[])
    data["semantic_models"] = {k: v for k, v in v12_shop()["semantic_models"].items() if k.endswith(".orders")}
    graph = decided(data, ON)
    (orphan,) = orphans_in(graph)
    assert orphan.unique_id == f"model.{P}.fct_orders" and "semantic_model:orders" in orphan.evidence


def test_without_semantic_protection_a_surviving_semantic_model_keeps_the_time_spine():
    graph = decided(v12_shop(), OFF, read_by_report=(f"model.{P}.fct_orders",))  # 'orders' survives the cleanup
    assert graph.nodes[f"model.{P}.metricflow_time_spine"]["consumer"] == "semantic_layer:time_spine"
    assert orphan_ids(graph) == {f"model.{P}.fct_margins"}

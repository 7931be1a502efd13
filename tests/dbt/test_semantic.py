"""The dbt semantic layer read from hand-made manifests of each version's shape (and the real ones)."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from lineage_utils.dbt.artifacts import load_manifest, parse_manifest
from lineage_utils.dbt.frames import dbt_edges_frame, dbt_nodes_frame, read_semantic_nodes
from lineage_utils.errors import ArtifactError

P = "shop"
HERE = Path("target/manifest.json")


def _model(name: str, **extra) -> dict:
    return {"unique_id": f"model.{P}.{name}", "resource_type": "model", "name": name, "package_name": P,
            "original_file_path": f"models/{name}.sql", "database": "db", "schema": "marts", "alias": name,
            "relation_name": f'"db"."marts"."{name}"', "config": {"materialized": "table", "enabled": True},
            "depends_on": {"nodes": []}, "fqn": [P, name], **extra}


def _semantic_model(name: str, model: str, depends=True, **extra) -> dict:
    return {"unique_id": f"semantic_model.{P}.{name}", "resource_type": "semantic_model", "name": name,
            "package_name": P, "original_file_path": "models/semantic.yml", "model": f"ref('{model}')",
            "node_relation": {"alias": model, "schema_name": "marts", "database": "db",
                              "relation_name": f'"db"."marts"."{model}"'},
            "measures": [{"name": f"{name}_total", "agg": "sum"}],
            "depends_on": {"macros": [], "nodes": [f"model.{P}.{model}"] if depends else []},
            "config": {"enabled": True, "group": None, "meta": {}}, "fqn": [P, name], **extra}


def _metric(name: str, needs: list[str], type_="simple", **extra) -> dict:
    return {"unique_id": f"metric.{P}.{name}", "resource_type": "metric", "name": name, "package_name": P,
            "original_file_path": "models/semantic.yml", "label": name.title(), "type": type_,
            "type_params": {"measure": None, "input_measures": [], "metrics": []},
            "depends_on": {"macros": [], "nodes": needs}, "config": {"enabled": True, "meta": {}},
            "fqn": [P, name], **extra}


def _saved_query(name: str, needs: list[str], **extra) -> dict:
    return {"unique_id": f"saved_query.{P}.{name}", "resource_type": "saved_query", "name": name,
            "package_name": P, "original_file_path": "models/semantic.yml", "label": None,
            "query_params": {"metrics": [n.rsplit(".", 1)[-1] for n in needs], "group_by": []},
            "depends_on": {"macros": [], "nodes": needs}, "config": {"enabled": True, "meta": {}},
            "fqn": [P, name], **extra}


def manifest(version: int, nodes=(), semantic_models=(), metrics=(), saved_queries=None) -> dict:
    data = {"metadata": {"dbt_schema_version": f"https://schemas.getdbt.com/dbt/manifest/v{version}.json",
                         "project_name": P},
            "nodes": {n["unique_id"]: n for n in nodes}, "sources": {}, "exposures": {}, "disabled": {},
            "metrics": {m["unique_id"]: m for m in metrics}}
    if version >= 10:
        data["semantic_models"] = {s["unique_id"]: s for s in semantic_models}
    if saved_queries is not None:
        data["saved_queries"] = {q["unique_id"]: q for q in saved_queries}
    return data


def v12_shop() -> dict:
    """As dbt 1.11 writes it: the demo's shape (semantic model, simple + derived metric, saved query)."""
    return manifest(
        12,
        nodes=[_model("fct_orders"), _model("fct_margins"),
               _model("metricflow_time_spine", time_spine={"standard_granularity_column": "date_day",
                                                           "custom_granularities": []})],
        semantic_models=[_semantic_model("orders", "fct_orders"), _semantic_model("margins", "fct_margins")],
        metrics=[_metric("revenue", [f"semantic_model.{P}.orders"]),
                 _metric("margin", [f"semantic_model.{P}.margins"]),
                 _metric("revenue_per_margin", [f"metric.{P}.revenue", f"metric.{P}.margin"], "derived")],
        saved_queries=[_saved_query("weekly", [f"metric.{P}.revenue_per_margin"])],
    )


def test_v12_semantic_nodes_and_their_dependencies():
    project = parse_manifest(v12_shop(), HERE)
    assert {uid: n.kind for uid, n in project.semantic.items()} == {
        f"metric.{P}.margin": "metric", f"metric.{P}.revenue": "metric", f"metric.{P}.revenue_per_margin": "metric",
        f"saved_query.{P}.weekly": "saved_query", f"semantic_model.{P}.margins": "semantic_model",
        f"semantic_model.{P}.orders": "semantic_model"}
    assert project.semantic[f"semantic_model.{P}.orders"].depends_on == (f"model.{P}.fct_orders",)
    assert project.semantic[f"metric.{P}.revenue_per_margin"].depends_on == (f"metric.{P}.margin", f"metric.{P}.revenue")
    assert project.semantic[f"metric.{P}.revenue_per_margin"].metric_type == "derived"
    assert project.semantic[f"saved_query.{P}.weekly"].depends_on == (f"metric.{P}.revenue_per_margin",)
    assert project.missing_dependencies == () and project.cycles == ()


def test_semantic_edges_point_downstream_with_their_own_provenance():
    edges = dbt_edges_frame(parse_manifest(v12_shop(), HERE))
    semantic = {(r.source, r.target) for r in edges.itertuples() if r.provenance == "semantic"}
    assert semantic == {
        (f"model.{P}.fct_orders", f"semantic_model.{P}.orders"), (f"model.{P}.fct_margins", f"semantic_model.{P}.margins"),
        (f"semantic_model.{P}.orders", f"metric.{P}.revenue"), (f"semantic_model.{P}.margins", f"metric.{P}.margin"),
        (f"metric.{P}.revenue", f"metric.{P}.revenue_per_margin"), (f"metric.{P}.margin", f"metric.{P}.revenue_per_margin"),
        (f"metric.{P}.revenue_per_margin", f"saved_query.{P}.weekly")}


def test_semantic_rows_have_no_relation_and_keep_label_and_type():
    nodes = dbt_nodes_frame(parse_manifest(v12_shop(), HERE)).set_index("unique_id")
    metric = nodes.loc[f"metric.{P}.revenue"]
    assert (metric["kind"], metric["label"], metric["metric_type"]) == ("metric", "Revenue", "simple")
    semantic = nodes[nodes["kind"].isin(["semantic_model", "metric", "saved_query"])]
    assert semantic["relation_name"].isna().all() and semantic["identifier"].isna().all()
    assert nodes["time_spine"].dtype == bool


def test_time_spine_by_config_and_by_the_legacy_name():
    data = v12_shop()
    legacy = _model("metricflow_time_spine")
    legacy["unique_id"] = f"model.{P}.legacy_spine_pkg"  # the name is what counts, not the id
    data["nodes"] = {**data["nodes"], f"model.{P}.legacy_spine_pkg": legacy}
    spines = {n.unique_id for n in parse_manifest(data, HERE).models() if n.time_spine}
    assert spines == {f"model.{P}.metricflow_time_spine", f"model.{P}.legacy_spine_pkg"}
    configured = _model("all_days", time_spine={"standard_granularity_column": "day"})
    data["nodes"] = {configured["unique_id"]: configured, **{k: v for k, v in data["nodes"].items()
                                                             if "spine" not in k}}
    assert [n.name for n in parse_manifest(data, HERE).models() if n.time_spine] == ["all_days"]


def test_a_model_named_time_spinner_is_a_time_spine_too():
    data = v12_shop()
    data["nodes"] = {**{k: v for k, v in data["nodes"].items() if "spine" not in k},
                     f"model.{P}.time_spinner": _model("time_spinner")}
    assert [n.name for n in parse_manifest(data, HERE).models() if n.time_spine] == ["time_spinner"]


def test_v10_shape_without_saved_queries():
    data = manifest(10, nodes=[_model("fct_orders")], semantic_models=[_semantic_model("orders", "fct_orders")],
                    metrics=[_metric("revenue", [f"semantic_model.{P}.orders"])])
    assert "saved_queries" not in data
    project = parse_manifest(data, HERE)
    assert sorted(project.semantic) == [f"metric.{P}.revenue", f"semantic_model.{P}.orders"]


def test_v11_saved_query_reads_metrics():
    data = manifest(11, nodes=[_model("fct_orders")], semantic_models=[_semantic_model("orders", "fct_orders")],
                    metrics=[_metric("revenue", [f"semantic_model.{P}.orders"])],
                    saved_queries=[_saved_query("daily", [f"metric.{P}.revenue"])])
    project = parse_manifest(data, HERE)
    assert project.semantic[f"saved_query.{P}.daily"].depends_on == (f"metric.{P}.revenue",)


def test_legacy_v9_metric_reads_its_model_directly():
    legacy = _metric("revenue", [f"model.{P}.fct_orders"], type_=None, model="ref('fct_orders')",
                     calculation_method="sum")
    del legacy["type"]
    project = parse_manifest(manifest(9, nodes=[_model("fct_orders")], metrics=[legacy]), HERE)
    metric = project.semantic[f"metric.{P}.revenue"]
    assert (metric.depends_on, metric.metric_type) == ((f"model.{P}.fct_orders",), "sum")
    assert ("model." + P + ".fct_orders", metric.unique_id, "semantic") in set(
        dbt_edges_frame(project).itertuples(index=False, name=None))


def test_empty_depends_on_is_resolved_from_names():
    revenue = _metric("revenue", [])
    revenue["type_params"]["measure"] = {"name": "orders_total"}
    derived = _metric("double_revenue", [], "derived")
    derived["type_params"]["metrics"] = [{"name": "revenue"}]
    data = manifest(12, nodes=[_model("fct_orders")],
                    semantic_models=[_semantic_model("orders", "fct_orders", depends=False)],
                    metrics=[revenue, derived], saved_queries=[_saved_query("weekly", [])])
    data["saved_queries"][f"saved_query.{P}.weekly"]["query_params"]["metrics"] = ["double_revenue"]
    semantic = parse_manifest(data, HERE).semantic
    assert semantic[f"semantic_model.{P}.orders"].depends_on == (f"model.{P}.fct_orders",)
    assert semantic[f"metric.{P}.revenue"].depends_on == (f"semantic_model.{P}.orders",)
    assert semantic[f"metric.{P}.double_revenue"].depends_on == (f"metric.{P}.revenue",)
    assert semantic[f"saved_query.{P}.weekly"].depends_on == (f"metric.{P}.double_revenue",)


def test_disabled_semantic_nodes_are_left_out():
    data = v12_shop()
    data["metrics"][f"metric.{P}.margin"]["config"]["enabled"] = False
    assert f"metric.{P}.margin" not in parse_manifest(data, HERE).semantic


def test_a_metric_needing_a_missing_semantic_model_is_a_missing_dependency():
    data = manifest(12, metrics=[_metric("revenue", [f"semantic_model.{P}.gone"])])
    assert parse_manifest(data, HERE).missing_dependencies == ((f"metric.{P}.revenue", f"semantic_model.{P}.gone"),)


def test_a_bad_depends_on_names_the_entry_and_key():
    data = v12_shop()
    data["metrics"][f"metric.{P}.revenue"]["depends_on"]["nodes"] = "semantic_model.shop.orders"
    with pytest.raises(ArtifactError, match=r'metrics\["metric.shop.revenue"\].depends_on: key \'nodes\' must be'):
        parse_manifest(data, HERE)


MANIFESTS = ("calitp-warehouse", "mattermost-analytics", "spellbook-daily", "tuva")


@pytest.mark.parametrize("name", MANIFESTS)
def test_real_manifests_read_their_whole_semantic_layer(shared_data, name):
    from lineage_utils.dbt.artifacts import read_artifact

    path = shared_data / "manifests" / name / "manifest.json.gz"
    raw = read_artifact(path)
    started = time.perf_counter()
    project = parse_manifest(raw, path)
    elapsed = time.perf_counter() - started
    enabled = {uid for section in ("semantic_models", "metrics", "saved_queries")
               for uid, item in (raw.get(section) or {}).items() if item.get("config", {}).get("enabled", True)}
    assert set(project.semantic) == enabled
    spines = {uid for uid, n in raw["nodes"].items() if n.get("resource_type") == "model"
              and n.get("config", {}).get("enabled", True) and (n.get("time_spine") or n["name"] == "metricflow_time_spine")}
    assert {n.unique_id for n in project.models() if n.time_spine} == spines
    assert elapsed < 30, f"{name}: parsing took {elapsed:.1f}s"


def test_load_manifest_of_the_demo_shape(tmp_path):
    import json

    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(v12_shop()))
    assert len(load_manifest(path).semantic_nodes("metric")) == 3


def test_an_exposure_on_a_metric_gets_an_edge_from_it():
    data = v12_shop()
    data["exposures"] = {"exposure.shop.board": {
        "unique_id": "exposure.shop.board", "name": "board", "type": "dashboard", "owner": {"name": "x"},
        "depends_on": {"nodes": [f"metric.{P}.revenue"]}, "original_file_path": "models/exposures.yml"}}
    edges = set(dbt_edges_frame(parse_manifest(data, HERE)).itertuples(index=False, name=None))
    assert (f"metric.{P}.revenue", "exposure.shop.board", "exposure") in edges


def test_semantic_nodes_round_trip_through_the_dbt_nodes_frame(tmp_path):
    project = parse_manifest(v12_shop(), HERE)
    dbt_nodes_frame(project).to_parquet(tmp_path / "nodes.parquet")
    back = read_semantic_nodes(pd.read_parquet(tmp_path / "nodes.parquet"))
    assert back == dict(project.semantic)
    assert back[f"metric.{P}.revenue"].path == "models/semantic.yml"

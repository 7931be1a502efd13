"""dbt artifacts: real manifests load into records and build a graph; bad files are named."""

from __future__ import annotations

import gzip
import json

import pytest

from lineage_utils.dbt import frames
from lineage_utils.dbt.artifacts import load_manifest, load_project
from lineage_utils.errors import ArtifactError
from lineage_utils.lineage.graph import add_dbt

REAL = ("mattermost-analytics", "calitp-warehouse", "tuva", "spellbook-daily")


@pytest.mark.parametrize("name", REAL)
def test_real_manifest_loads_and_builds_graph(shared_data, name):
    import networkx as nx

    project = load_manifest(shared_data / "manifests" / name / "manifest.json.gz")
    assert project.schema_version == 12
    assert project.models()
    nodes = frames.dbt_nodes_frame(project)
    edges = frames.dbt_edges_frame(project)
    graph = nx.DiGraph()
    add_dbt(graph, nodes, edges)
    assert graph.number_of_nodes() == len(project.nodes) + len(project.exposures)
    assert nx.is_directed_acyclic_graph(graph)
    kinds = {k for _, k in graph.nodes(data="kind")}
    assert kinds <= {"model", "source", "seed", "snapshot", "exposure"}
    assert all(n.tests is not None for n in project.nodes.values())


def test_real_manifest_tests_are_attributes_not_nodes(shared_data):
    project = load_manifest(shared_data / "manifests" / "tuva" / "manifest.json.gz")
    assert not any(uid.startswith("test.") for uid in project.nodes)
    assert sum(len(n.tests) for n in project.nodes.values()) > 0


def test_real_manifest_exposures_keep_their_owner(shared_data):
    project = load_manifest(shared_data / "manifests" / "mattermost-analytics" / "manifest.json.gz")
    assert len(project.exposures) == 12
    assert all(e.depends_on for e in project.exposures.values())


def test_real_manifest_ephemeral_models_have_no_relation(shared_data):
    project = load_manifest(shared_data / "manifests" / "tuva" / "manifest.json.gz")
    ephemeral = [n for n in project.models() if n.materialized == "ephemeral"]
    assert ephemeral and all(n.relation_name is None and n.identifier is None for n in ephemeral)


def _manifest(version: int, **extra) -> dict:
    return {
        "metadata": {"dbt_schema_version": f"https://schemas.getdbt.com/dbt/manifest/v{version}.json",
                     "project_name": "p"},
        "nodes": {
            "model.p.a": {"unique_id": "model.p.a", "resource_type": "model", "name": "a", "package_name": "p",
                          "database": "db", "schema": "s", "alias": "a", "config": {"materialized": "table"},
                          "depends_on": {"nodes": ["source.p.raw.t"]}, "relation_name": '"db"."s"."a"'},
            "analysis.p.adhoc": {"unique_id": "analysis.p.adhoc", "resource_type": "analysis", "name": "adhoc",
                                 "package_name": "p", "depends_on": {"nodes": ["model.p.a"]}},
            "model.p.off": {"unique_id": "model.p.off", "resource_type": "model", "name": "off",
                            "package_name": "p", "config": {"enabled": False}},
        },
        "sources": {"source.p.raw.t": {"unique_id": "source.p.raw.t", "resource_type": "source", "name": "t",
                                       "source_name": "raw", "package_name": "p", "database": "db",
                                       "schema": "raw", "identifier": "t"}},
        "disabled": {"model.p.gone": [{}]},
        **extra,
    }


@pytest.mark.parametrize("version", [7, 8, 9, 10, 11, 12])
def test_supported_versions(tmp_path, version):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(_manifest(version)))
    project = load_manifest(path)
    assert set(project.nodes) == {"model.p.a", "source.p.raw.t"}
    assert project.disabled == ("model.p.gone",)
    assert project.nodes["model.p.a"].analyses == ("analysis.p.adhoc",)  # an attribute, not a node


def test_gzip_manifest(tmp_path):
    path = tmp_path / "manifest.json.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(json.dumps(_manifest(12)))
    assert load_manifest(path).schema_version == 12


@pytest.mark.parametrize("version", [4, 13])
def test_unsupported_version_gives_found_and_range(tmp_path, version):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(_manifest(version)))
    with pytest.raises(ArtifactError, match=rf"v{version} is not supported \(supported: v7 to v12\)"):
        load_manifest(path)


def test_malformed_json_gives_file_and_position(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text('{"metadata": {"dbt_schema_version": \n  oops}')
    with pytest.raises(ArtifactError, match=rf"{path}: malformed JSON at line 2, column 3"):
        load_manifest(path)


def test_missing_target_names_param_and_path(tmp_path):
    with pytest.raises(ArtifactError, match=rf"'dbt.target_dir'.*{tmp_path / 'nope'}"):
        load_project(tmp_path / "nope")


def test_run_results_attach_runtimes(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(_manifest(12)))
    (tmp_path / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": "model.p.a", "status": "success", "execution_time": 1.5,
         "timing": [{"name": "execute", "completed_at": "2026-01-01T00:00:00Z"}]}]}))
    project = load_project(tmp_path)
    assert project.run_results["model.p.a"].execution_time == 1.5
    frame = frames.dbt_nodes_frame(project)
    assert frame.set_index("unique_id").loc["model.p.a", "execution_time"] == 1.5

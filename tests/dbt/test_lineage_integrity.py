"""A depends_on naming a missing node, or a dependency cycle, is found and reported by the crawl."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from lineage_utils.dbt.artifacts import parse_manifest

REPO = Path(__file__).resolve().parents[2]
PATH = Path("target/manifest.json")


def model(name: str, *deps: str, enabled: bool = True) -> dict:
    return {"unique_id": f"model.p.{name}", "resource_type": "model", "name": name, "package_name": "p",
            "original_file_path": f"models/{name}.sql", "config": {"materialized": "view", "enabled": enabled},
            "depends_on": {"nodes": list(deps)}}


def manifest(*models: dict, **sections) -> dict:
    return {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                         "project_name": "p"},
            "nodes": {m["unique_id"]: m for m in models}, **sections}


CASES = {
    "missing_model": (manifest(model("a", "model.p.ghost")), [("model.p.a", "model.p.ghost")], []),
    "missing_source": (manifest(model("a", "source.p.raw.gone")), [("model.p.a", "source.p.raw.gone")], []),
    "disabled_dependency": (manifest(model("a", "model.p.off"), disabled={"model.p.off": [model("off")]}),
                            [("model.p.a", "model.p.off")], []),
    "exposure_on_missing": (manifest(model("a"), exposures={"exposure.p.e": {
        "unique_id": "exposure.p.e", "name": "e", "depends_on": {"nodes": ["model.p.a", "model.p.ghost"]}}}),
        [("exposure.p.e", "model.p.ghost")], []),
    "two_node_cycle": (manifest(model("a", "model.p.b"), model("b", "model.p.a"), model("c", "model.p.a")),
                       [], [("model.p.a", "model.p.b")]),
    "self_dependency": (manifest(model("a", "model.p.a")), [], [("model.p.a",)]),
    "three_node_cycle": (manifest(model("a", "model.p.c"), model("b", "model.p.a"), model("c", "model.p.b")),
                         [], [("model.p.a", "model.p.b", "model.p.c")]),
    "metric_is_known": (manifest(model("a"), exposures={"exposure.p.e": {
        "unique_id": "exposure.p.e", "name": "e", "depends_on": {"nodes": ["metric.p.m"]}}},
        metrics={"metric.p.m": {"unique_id": "metric.p.m"}}), [], []),
    "clean_chain": (manifest(model("a"), model("b", "model.p.a")), [], []),
}


@pytest.mark.parametrize("case", list(CASES))
def test_missing_dependencies_and_cycles_are_named(case):
    doc, missing, cycles = CASES[case]
    project = parse_manifest(doc, PATH)
    assert list(project.missing_dependencies) == missing
    assert list(project.cycles) == cycles


# -- the crawl stage reports them in crawl_status.json ----------------------------------------
def crawl_with(doc: dict, tmp_path: Path):
    from lineage_utils import stages
    from lineage_utils.params import load_params
    from lineage_utils.run_folder import Run

    target = tmp_path / "target"
    target.mkdir()
    (target / "manifest.json").write_text(json.dumps(doc))
    params = load_params(REPO / "params" / "default.yaml",
                         [f"dbt.target_dir={target}", "dbt.build=false", f"run.runs_dir={tmp_path / 'runs'}"])
    run = Run(run_dir=tmp_path / "runs" / "r", params=params)
    run.data_dir.mkdir(parents=True)
    stages.crawl(run)
    return run, run.read_json("crawl_status")


def test_a_missing_dependency_makes_the_crawl_incomplete_naming_both(tmp_path):
    run, status = crawl_with(manifest(model("a", "model.p.ghost"), model("b", "model.p.a")), tmp_path)
    assert status["complete"] is False and run.read_json("summary")["crawl_complete"] is False
    (entry,) = [m for m in status["missing"] if m["target"] == "model.p.a"]
    assert "model.p.ghost" in entry["reason"] and "manifest.json" in entry["reason"]


def test_a_cycle_is_a_warning_naming_its_nodes(tmp_path):
    _, status = crawl_with(manifest(model("a", "model.p.b"), model("b", "model.p.a")), tmp_path)
    (entry,) = [w for w in status["warnings"] if "cycle" in w["reason"]]
    assert "model.p.a" in entry["reason"] and "model.p.b" in entry["reason"]
    assert not [m for m in status["missing"] if m["target"].startswith("model.p.")]


def test_a_clean_manifest_adds_nothing_to_the_crawl_status(tmp_path):
    _, status = crawl_with(manifest(model("a"), model("b", "model.p.a")), tmp_path)
    assert status["complete"] is True  # the demo snapshot is complete: the incomplete case above is the manifest's
    assert not [e for e in status["missing"] + status["warnings"] if e["target"].startswith("model.p.")]


def test_deletions_are_withheld_after_a_missing_dependency(tmp_path):
    from lineage_utils import stages

    doc = manifest(model("a", "model.p.ghost"), model("unused"))
    run, _ = crawl_with(copy.deepcopy(doc), tmp_path)
    stages.merge(run)
    stages.rank(run)
    result = stages.cleanup(run)
    assert "model.p.unused" in set(result.orphans["unique_id"])  # an orphan, but not proposed for deletion
    deletions = {a.target: (a.result, a.reason) for a in result.actions if a.action == "delete_model"}
    assert result.withheld and deletions["model.p.unused"] == ("refused", "crawl_incomplete")
    assert set(deletions.values()) == {("refused", "crawl_incomplete")}  # recorded, none planned
    assert run.read_text("cleanup_patch") == ""

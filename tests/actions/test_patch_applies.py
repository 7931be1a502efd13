"""The cleanup patch, made by the product's own chain on a real dbt project, applies and still parses.

tests/fixtures/dbt_semantic_project is a small dbt-duckdb project with a semantic layer
(a semantic model with metrics, one without metrics over an orphan model, a saved
query, a time spine), seeds also declared as a source, an exposure and tests that span
two models. With no BI reports, every model that neither the exposure nor the semantic
layer needs is an orphan. The chain (real ``dbt parse``, crawl, merge, rank, cleanup)
writes cleanup.patch; real ``git apply`` puts it on a git copy of the project and real
``dbt parse`` must pass. It runs twice: with the default ``protection.semantic_layer``
(metrics and saved queries are consumers) and with it off (``chain_off``: the models
the metrics need are orphans, and the semantic layer goes with them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from lineage_utils import stages
from lineage_utils.dbt import build as dbt_build
from lineage_utils.dbt.artifacts import load_manifest
from lineage_utils.params import load_params
from lineage_utils.run_folder import Run

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "dbt_semantic_project"
PKG = "semantic_shop"
ORPHANS = {"customer_segments": "models/marts/customer_segments.sql",
           "int_customer_rollup": "models/marts/int_customer_rollup.sql",
           "legacy_customer_ids": "models/legacy/legacy_customer_ids.sql",
           "legacy_orders": "models/legacy/legacy_orders.sql",
           "legacy_order_totals": "models/legacy/legacy_order_totals.sql",
           "legacy_order_report": "models/legacy/legacy_order_report.sql"}
SEMANTIC_NEEDS = {"fct_orders", "stg_orders", "stg_payments", "metricflow_time_spine"}
"""What the semantic model 'orders' (and so its metrics and saved query) and the time spine need."""
ORDERS_LAYER = {"semantic_model": {"orders"}, "metric": {"revenue", "orders_placed", "revenue_per_order"},
                "saved_query": {"weekly_revenue"}}
"""The semantic layer over fct_orders: gone when fct_orders goes."""
EXPOSURE_NEEDS = {"dim_customers", "stg_customers", "stg_orders"}
OLD = "2026-01-01T00:00:00+00:00"
"""The fixture's commit date: older than protection.min_age_days at staleness.now."""


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_AUTHOR_DATE": OLD, "GIT_COMMITTER_DATE": OLD, "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_CONFIG_NOSYSTEM": "1"}
    result = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd,
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result


def empty_mode_snapshot(folder: Path) -> Path:
    """A Mode workspace snapshot with no reports: no BI consumer at all."""
    folder.mkdir()
    (folder / "workspace.json").write_text(json.dumps({"workspace": "semantic-shop", "captured_at": OLD,
                                                       "format": "metapipeline.mode_snapshot", "format_version": 1}))
    for name in ("spaces", "data_sources", "definitions"):
        (folder / f"{name}.json").write_text(json.dumps({"_embedded": {name: []}}))
    return folder


def parse(project: Path, target: Path) -> subprocess.CompletedProcess:
    result = dbt_build.run_dbt(project, target, "parse", "--no-partial-parse")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return result


def run_chain(root: Path, *overrides: str) -> dict:
    """The project in git, parsed by dbt, and the whole chain run on it (params ``overrides``)."""
    project = root / "project"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb", ".user.yml"))
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "the fixture project")
    target = root / "target"
    parse(project, target)
    params_file = root / "params.yaml"
    params_file.write_text(
        "run: {runs_dir: runs}\n"
        "dbt: {project_dir: project, target_dir: target, build: false}\n"
        f"bi: {{source: snapshot, snapshot_dir: {empty_mode_snapshot(root / 'mode').name}, workspace: semantic-shop}}\n"
        "staleness: {now: '2026-11-01T00:00:00Z'}\n"
        "cleanup: {max_removal_share: 1.0}\n")  # most of this small project is orphan on purpose: no fail-safe
    run = Run(run_dir=root / "runs" / "r1", params=load_params(params_file, list(overrides)))
    run.data_dir.mkdir(parents=True)
    for stage in stages.STAGES:
        stages.RUNNERS[stage](run)
    return {"root": root, "project": project, "run": run, "patch": run.read_text("cleanup_patch")}


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> dict:
    """The chain with the default params: run, project, patch."""
    return run_chain(tmp_path_factory.mktemp("semantic"))


@pytest.fixture(scope="module")
def chain_off(tmp_path_factory) -> dict:
    """The chain with ``protection.semantic_layer`` off: metrics and saved queries are no consumers."""
    return run_chain(tmp_path_factory.mktemp("semantic_off"), "protection.semantic_layer=false")


def deleted_files(patch: str) -> set[str]:
    return set(re.findall(r"^diff --git a/(\S+) b/\S+\ndeleted file mode", patch, re.M))


def applied(chain: dict, name: str) -> Path:
    """A clone of the project's repo with cleanup.patch applied by real ``git apply``."""
    clone = chain["root"] / name
    git(chain["root"], "clone", "-q", str(chain["project"]), str(clone))
    (chain["root"] / f"{name}.patch").write_text(chain["patch"])
    git(clone, "apply", "--check", str(chain["root"] / f"{name}.patch"))
    git(clone, "apply", str(chain["root"] / f"{name}.patch"))
    return clone


def test_the_patched_project_still_parses(chain):
    clone = applied(chain, "parses")
    parse(clone, chain["root"] / "parses_target")
    manifest = load_manifest(chain["root"] / "parses_target" / "manifest.json")
    models = {n.name for n in manifest.models()}
    assert models.isdisjoint(ORPHANS)
    assert SEMANTIC_NEEDS | EXPOSURE_NEEDS <= models
    assert {n.name for n in manifest.semantic.values()} == set().union(*ORDERS_LAYER.values())
    dangling = {t.unique_id for t in manifest.tests.values() if set(t.touches) - set(manifest.nodes)}
    assert not dangling


def test_the_patch_deletes_exactly_the_orphan_models(chain):
    orphans = set(chain["run"].read_frame("orphan_models")["name"])
    assert orphans == set(ORPHANS)
    sql = {p for p in deleted_files(chain["patch"]) if p.startswith("models/") and p.endswith(".sql")}
    assert sql == set(ORPHANS.values())


def test_nothing_the_semantic_layer_or_the_exposure_needs_is_deleted(chain):
    deleted = deleted_files(chain["patch"])
    for name in SEMANTIC_NEEDS | EXPOSURE_NEEDS:
        assert not any(Path(p).stem == name for p in deleted), name
    graph = stages.load_graph(chain["run"])
    for name in SEMANTIC_NEEDS:
        assert not graph.nodes[f"model.{PKG}.{name}"]["orphan"], name
    for name in SEMANTIC_NEEDS - EXPOSURE_NEEDS:  # nothing else keeps these
        kept_by = graph.nodes[f"model.{PKG}.{name}"]["kept_alive_by"]
        assert kept_by and "exposure" not in kept_by, f"{name}: kept alive by {kept_by}, not the semantic layer"
    assert "time_spine" in graph.nodes[f"model.{PKG}.metricflow_time_spine"]["kept_alive_by"]


def test_tests_naming_a_deleted_model_are_removed_where_they_are_declared(chain):
    clone = applied(chain, "tests")
    staging = (clone / "models/staging/_staging.yml").read_text()
    assert "ref('legacy_customer_ids')" not in staging  # the relationships test on a surviving model
    assert "ref('stg_customers')" in staging and "ref('stg_orders')" in staging  # the others stay
    assert "ref('legacy_customer_ids')" not in (clone / "models/staging/sources.yml").read_text()
    marts = (clone / "models/marts/_marts.yml").read_text()
    assert "row_count_matches" not in marts and "customer_segments" not in marts
    assert "# Marts. Order of entries and these comments must survive the cleanup patch." in marts
    assert "# kept: fct_orders needs it" in staging
    assert not (clone / "tests/assert_legacy_totals_match_orders.sql").exists()  # a singular test over two models
    assert not (clone / "models/legacy/legacy_customer_ids.yml").exists()  # its docs file held only it
    assert not (clone / "models/legacy/_legacy.yml").exists()


def test_a_deletion_action_names_the_tests_removed_with_it(chain):
    actions = {a["name"]: a for a in chain["run"].read_jsonl("actions") if a["action"] == "delete_model"}
    tests = actions["legacy_customer_ids"]["tests"]
    assert any(t.startswith(f"test.{PKG}.relationships_stg_orders_customer_id") for t in tests)
    assert any(t.startswith(f"test.{PKG}.source_relationships_raw_raw_orders") for t in tests)
    assert any(t.startswith(f"test.{PKG}.row_count_matches_dim_customers")
               for t in actions["int_customer_rollup"]["tests"])


def semantic_names(manifest) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for node in manifest.semantic.values():
        out.setdefault(node.kind, set()).add(node.name)
    return out


def test_a_semantic_model_without_metrics_goes_with_its_orphan_model(chain):
    clone = applied(chain, "segments")
    assert not (clone / "models/marts/customer_segments.sql").exists()
    semantic_yaml = (clone / "models/semantic/orders_semantic.yml").read_text()
    assert "name: segments" not in semantic_yaml and "ref('customer_segments')" not in semantic_yaml
    assert "# A semantic model without metrics" not in semantic_yaml  # its own comment goes with it
    assert "name: orders" in semantic_yaml and "name: weekly_revenue" in semantic_yaml
    parse(clone, chain["root"] / "segments_target")
    manifest = load_manifest(chain["root"] / "segments_target" / "manifest.json")
    assert semantic_names(manifest) == ORDERS_LAYER
    action = next(a for a in chain["run"].read_jsonl("actions") if a["name"] == "customer_segments")
    assert action["semantic"] == [f"semantic_model.{PKG}.segments"]


def test_without_semantic_protection_the_layer_goes_with_the_models_it_reads_and_dbt_parses(chain_off):
    orphans = set(chain_off["run"].read_frame("orphan_models")["name"])
    assert orphans == set(ORPHANS) | {"fct_orders", "stg_payments", "metricflow_time_spine"}
    deleted = deleted_files(chain_off["patch"])
    assert "models/semantic/orders_semantic.yml" in deleted  # every entry of it goes: left with only version:
    clone = applied(chain_off, "off")
    parse(clone, chain_off["root"] / "off_target")
    manifest = load_manifest(chain_off["root"] / "off_target" / "manifest.json")
    assert not manifest.semantic
    assert {n.name for n in manifest.models()} == EXPOSURE_NEEDS
    actions = {a["name"]: a for a in chain_off["run"].read_jsonl("actions") if a["action"] == "delete_model"}
    assert set(actions["fct_orders"]["semantic"]) == {
        f"{kind}.{PKG}.{name}" for kind, names in ORDERS_LAYER.items() for name in names}
    assert actions["stg_payments"]["semantic"] == []  # only through fct_orders, whose deletion names them
    assert actions["customer_segments"]["semantic"] == [f"semantic_model.{PKG}.segments"]
    assert actions["metricflow_time_spine"]["semantic"] == []

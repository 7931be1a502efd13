"""The four stages on the demo reproduce demo/EXPECTED.md exactly."""

from __future__ import annotations

import json

import pytest

from lineage_utils import stages
from lineage_utils.bi.hal import report_node_id
from lineage_utils.lineage.orphans import Protection, essential_keepers, find_consumers, keepers_in
from lineage_utils.params import load_yaml
from tests.demo_findings import dbt_reference, found, wanted

pytestmark = pytest.mark.slow


def test_counts_match(demo_run, demo_expected):
    assert found(demo_run, demo_expected)["counts"] == wanted(demo_expected)["counts"]


def test_ephemeral_model_kept_without_a_relation(demo_run, demo_expected):
    nodes = demo_run.read_frame("dbt_nodes")
    ephemeral = nodes[nodes["materialized"] == "ephemeral"]
    assert sorted(ephemeral["unique_id"]) == sorted(demo_expected["ephemeral_models"])
    assert ephemeral["relation_name"].isna().all()
    graph = stages.load_graph(demo_run)
    assert {uid for uid in ephemeral["unique_id"] if uid in graph} == set(demo_expected["ephemeral_models"])


def test_disabled_model_is_nowhere(demo_run, demo_target, demo_expected):
    disabled = set(demo_expected["disabled_models"])
    manifest = json.loads((demo_target / "manifest.json").read_text())
    assert set(manifest["disabled"]) == disabled  # the demo does disable it, so absence below means something
    names = {uid.rsplit(".", 1)[-1] for uid in disabled}
    graph = stages.load_graph(demo_run)
    assert disabled & set(graph) == set()
    assert {n for n, name in graph.nodes(data="name") if name in names} == set()
    nodes = demo_run.read_frame("dbt_nodes")
    assert disabled & set(nodes["unique_id"]) == set()
    assert set(nodes["name"]) & names == set()
    assert disabled & {uid for deps in nodes["depends_on"] for uid in deps} == set()  # the hand-written exposure
    assert disabled & set(demo_run.read_frame("orphan_models")["unique_id"]) == set()
    refs = demo_run.read_frame("query_refs")
    assert disabled & {uid for candidates in refs["candidates"] for uid in candidates} == set()
    generated = {ref for deps in found(demo_run, demo_expected)["generated_exposures"].values() for ref in deps}
    assert generated & {dbt_reference(uid) for uid in disabled} == set()
    assert names & {line.split(" b/")[-1].rsplit("/", 1)[-1].removesuffix(".sql")
                    for line in demo_run.read_text("cleanup_patch").splitlines()
                    if line.startswith("diff --git")} == set()


def test_stale_reports_and_rules(demo_run, demo_expected):
    stale = demo_run.read_frame("stale_reports")
    found = {row.token: sorted(row.rules) for row in stale.itertuples()}
    assert found == {token: sorted(rules) for token, rules in demo_expected["stale_reports"].items()}
    assert stale["evidence"].str.len().min() > 20


def test_orphans_and_reasons(demo_run, demo_expected):
    orphans = demo_run.read_frame("orphan_models")
    assert dict(zip(orphans["unique_id"], orphans["reason"])) == demo_expected["orphan_models"]


def test_orphans_read_only_by_inactive_reports_name_their_last_consumer(demo_run):
    orphans = demo_run.read_frame("orphan_models")
    inactive = orphans[orphans["reason"] == "only_inactive_reports"]
    assert inactive["last_consumer"].notna().all()
    dead = orphans[orphans["reason"] == "no_downstream_consumer"]
    assert dead["last_consumer"].isna().all()


def test_exactly_the_expected_models_are_kept_by_one_special_link(demo_run, demo_expected):
    assert found(demo_run, demo_expected)["protected_models"] == wanted(demo_expected)["protected_models"]


def test_stored_keepers_are_what_the_graph_gives(demo_run):
    graph = stages.load_graph(demo_run)
    decided = essential_keepers(graph, find_consumers(graph, Protection.from_params(demo_run.params)))
    assert keepers_in(graph) == {model: kinds for model, kinds in decided.items() if kinds}


def test_ambiguous_references_are_exactly_the_expected_ones(demo_run, demo_expected):
    assert found(demo_run, demo_expected)["ambiguous_references"] == wanted(demo_expected)["ambiguous_references"]
    summary = demo_run.read_json("summary")
    refs = demo_run.read_frame("query_refs")
    assert summary["ambiguous_references"] == int((refs["status"] == "ambiguous").sum())


def test_unparsed_query_recorded_and_chain_goes_on(demo_run, demo_expected):
    refs = demo_run.read_frame("query_refs")
    unparsed = refs[refs["status"] == "unparsed"]
    assert sorted(unparsed["report_token"] + "." + unparsed["query_token"]) == sorted(demo_expected["unparsed_queries"])
    assert unparsed["reason"].str.len().min() > 0


def test_generated_exposures_depend_on_exactly_the_expected_nodes(demo_run, demo_expected):
    assert found(demo_run, demo_expected)["generated_exposures"] == wanted(demo_expected)["generated_exposures"]


def test_generated_exposures_match_the_graphs_plain_reads(demo_run, demo_expected):
    graph = stages.load_graph(demo_run)

    def plain_reads(report: str) -> set[str]:
        queries = [q for q in graph.predecessors(report) if graph.nodes[q].get("kind") == "bi_query"]
        queries += [q for d in graph.predecessors(report) if graph.edges[d, report].get("provenance") == "dataset"
                    for q in graph.predecessors(d) if graph.nodes[q].get("kind") == "bi_query"]
        return {table for q in queries for table in graph.predecessors(q)
                if graph.edges[table, q].get("status") == "resolved" and not graph.edges[table, q].get("conditional")}

    for token, expected in demo_expected["generated_exposures"].items():
        assert plain_reads(report_node_id(token)) == set(expected), token
    doc = load_yaml(demo_run.read_text("exposures"), "exposures.yml")
    host, workspace = demo_run.params.get("bi.base_url"), demo_run.read_json("summary")["workspace"]
    for exposure in doc["exposures"]:
        token = exposure["meta"]["metapipeline"]["mode_report_token"]
        assert exposure["url"] == f"{host}/{workspace}/reports/{token}"


def test_centrality_has_one_row_per_node_and_six_measures(demo_run):
    table = demo_run.read_frame("centrality")
    graph = stages.load_graph(demo_run)
    assert len(table) == graph.number_of_nodes()
    for column in ("kind", "name", "degree", "in_degree", "out_degree", "closeness", "betweenness", "pagerank"):
        assert column in table.columns
    assert abs(table["pagerank"].sum() - 1.0) < 1e-6


def test_actions_are_dry_run_plans(demo_run, demo_expected):
    actions = demo_run.read_jsonl("actions")
    assert {a["mode"] for a in actions} == {"dry_run"}
    archive = {a["target"] for a in actions if a["action"] == "archive_report"}
    delete = {a["target"] for a in actions if a["action"] == "delete_model"}
    assert archive == {report_node_id(t) for t in demo_expected["stale_reports"]}
    assert delete == set(demo_expected["orphan_models"])


def test_cleanup_patch_deletes_exactly_the_orphans(demo_run, demo_expected):
    patch = demo_run.read_text("cleanup_patch")
    deleted = [line.split(" b/")[-1] for line in patch.splitlines() if line.startswith("diff --git")]
    names = {d.rsplit("/", 1)[-1].removesuffix(".sql") for d in deleted}
    assert names == {uid.rsplit(".", 1)[-1] for uid in demo_expected["orphan_models"]}


def test_two_runs_write_identical_files(demo_run, demo_target, tmp_path):
    from lineage_utils.params import load_params
    from lineage_utils.run_folder import Run
    from tests.conftest import DEMO_PARAMS, demo_overrides

    params = load_params(DEMO_PARAMS, demo_overrides(demo_target, tmp_path))
    again = Run(run_dir=tmp_path / demo_run.run_id, params=params)
    again.data_dir.mkdir(parents=True)
    for stage in stages.STAGES:
        stages.RUNNERS[stage](again)
    for name in ("exposures", "cleanup_patch", "lineage", "crawl_status"):
        assert again.path(name).read_bytes() == demo_run.path(name).read_bytes(), name
    for name in ("orphan_models", "stale_reports", "query_refs", "centrality"):
        assert again.read_frame(name).equals(demo_run.read_frame(name)), name

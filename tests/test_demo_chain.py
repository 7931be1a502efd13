"""The four stages on the demo reproduce demo/EXPECTED.md exactly."""

from __future__ import annotations

import networkx as nx
import pytest

from lineage_utils import stages
from lineage_utils.bi.hal import report_node_id
from lineage_utils.lineage.orphans import Protection, essential_keepers, find_consumers

pytestmark = pytest.mark.slow


def test_counts_match(demo_run, demo_expected):
    summary = demo_run.read_json("summary")
    expected = demo_expected["counts"]
    for key in ("models", "sources", "seeds", "snapshots", "exposures", "spaces", "reports", "queries"):
        assert summary[key] == expected[key], key
    reports = demo_run.read_frame("reports")
    assert int(reports["archived"].sum()) == expected["archived_reports"]
    assert int((reports["type"] == "DatasetReport").sum()) == expected["datasets"]


def test_disabled_model_left_out_and_ephemeral_kept(demo_run):
    nodes = demo_run.read_frame("dbt_nodes")
    ephemeral = nodes[nodes["materialized"] == "ephemeral"]
    assert len(ephemeral) == 1
    assert ephemeral["relation_name"].isna().all()
    graph = stages.load_graph(demo_run)
    assert ephemeral["unique_id"].iloc[0] in graph


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


def test_protected_models_are_kept_by_the_expected_link(demo_run, demo_expected):
    graph = stages.load_graph(demo_run)
    consumers = find_consumers(graph, Protection.from_params(demo_run.params))
    keepers = essential_keepers(graph, consumers)
    for model, why in demo_expected["protected_models"].items():
        assert model in keepers, f"{model} is not alive"
        assert why in keepers[model], f"{model}: kept by {keepers[model]}, expected {why}"


def test_ambiguous_reference_links_every_candidate(demo_run, demo_expected):
    refs = demo_run.read_frame("query_refs")
    ambiguous = refs[refs["status"] == "ambiguous"]
    for name, candidates in demo_expected["ambiguous_references"].items():
        rows = ambiguous[ambiguous["name"].str.lower() == name]
        assert len(rows) >= 1, name
        for row in rows.itertuples():
            assert sorted(row.candidates) == sorted(candidates)


def test_unparsed_query_recorded_and_chain_goes_on(demo_run, demo_expected):
    refs = demo_run.read_frame("query_refs")
    unparsed = refs[refs["status"] == "unparsed"]
    assert sorted(unparsed["report_token"] + "." + unparsed["query_token"]) == sorted(demo_expected["unparsed_queries"])
    assert unparsed["reason"].str.len().min() > 0


def test_generated_exposures(demo_run, demo_expected):
    from lineage_utils.params import load_yaml

    doc = load_yaml(demo_run.read_text("exposures"), "exposures.yml")
    graph = stages.load_graph(demo_run)
    by_token = {e["meta"]["metapipeline"]["mode_report_token"]: e for e in doc["exposures"]}
    assert sorted(by_token) == sorted(demo_expected["generated_exposures"])
    for token, expected in demo_expected["generated_exposures"].items():
        reads = {p for p in nx.ancestors(graph, report_node_id(token))}
        assert set(expected) <= reads
        refs = by_token[token]["depends_on"]
        assert len(refs) == len(expected), token
        assert by_token[token]["url"].endswith(token)


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

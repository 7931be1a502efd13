"""The generated exposures file: collisions skipped, a diff with reasons, real `dbt parse`, canonical output."""

from __future__ import annotations

from datetime import datetime, timezone

import networkx as nx
import pandas as pd
import pytest
import yaml

from lineage_utils.actions.exposures_file import (generated_path, hand_written_exposures, manifest_exposures,
                                                  plan_exposures_file, read_current_file, validate_exposures_file)
from lineage_utils.dbt.exposures import exposure_name, jinja_inert, plan_exposures
from lineage_utils.errors import UnsafeActionError
from lineage_utils.lineage.graph import from_node_link
from lineage_utils.testing import payloads

PATH = "models/metapipeline_exposures.yml"
NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
MODELS = ("fin_mrr", "fin_arr", "fct_daily_revenue")


def bi_graph(reports: dict[str, dict]) -> nx.DiGraph:
    """Active reports by token, each reading the models named in ``reads`` (default: fin_mrr)."""
    graph = nx.DiGraph()
    for model in MODELS:
        graph.add_node(f"model.demo.{model}", kind="model", name=model)
    for token, spec in reports.items():
        query, report = f"mode.query.{token}.q", f"mode.report.{token}"
        graph.add_node(query, kind="bi_query")
        graph.add_node(report, kind="bi_report", token=token, name=spec.get("name", f"Report {token}"),
                       active=spec.get("active", True), archived=spec.get("archived", False),
                       stale=spec.get("stale", False), stale_rules=spec.get("stale_rules", []),
                       creator="ana", view_count=spec.get("views", 500), runs_count=spec.get("runs", 100), schedules_count=0,
                       last_run_at="2026-10-30T00:00:00Z", report_type="Report")
        graph.add_edge(query, report, provenance="bi")
        for model in spec.get("reads", ["fin_mrr"]):
            graph.add_edge(f"model.demo.{model}", query, provenance="sql", status="resolved", conditional=False)
    return graph


USERS = {"ana": {"name": "Ana", "email": "ana@example.com"}}


def generate(graph: nx.DiGraph, current: str = "", hand_written: dict | None = None):
    planned = plan_exposures(graph, USERS, "ws", lambda t: f"https://app.mode.com/ws/reports/{t}", NOW)
    return plan_exposures_file(graph, planned, current, hand_written or {}, PATH)


# -- collisions with hand-written exposures -------------------------------------------------------
def test_a_generated_name_taken_by_a_hand_written_exposure_is_skipped_and_reported():
    graph = bi_graph({"aaaaaaaaaaaa": {}, "bbbbbbbbbbbb": {}})
    hand = hand_written_exposures([("mode_aaaaaaaaaaaa", "demo", "models/exposures.yml"),
                                   ("board_kpis_dashboard", "demo", "models/exposures.yml")], PATH, "demo")
    plan = generate(graph, hand_written=hand)
    assert [(c.name, c.report_token, c.hand_written_path) for c in plan.skipped] == [
        ("mode_aaaaaaaaaaaa", "aaaaaaaaaaaa", "models/exposures.yml")]
    names = [e["name"] for e in yaml.safe_load(plan.content)["exposures"]]
    assert names == ["mode_bbbbbbbbbbbb"] and [e.name for e in plan.exposures] == names


def test_exposures_in_the_generated_file_are_not_hand_written():
    found = hand_written_exposures([("mode_x", "demo", PATH), ("mine", "demo", "models/exposures.yml"),
                                    ("pkg_one", "other_pkg", PATH)], PATH, "demo")
    assert found == {"mine": "models/exposures.yml", "pkg_one": f"{PATH} (package other_pkg)"}


@pytest.mark.slow
def test_the_demo_manifest_has_one_hand_written_exposure(demo_run):
    found = hand_written_exposures(manifest_exposures(demo_run.read_frame("dbt_nodes")), PATH, "metapipeline_demo")
    assert found == {"board_kpis_dashboard": "models/exposures.yml"}


@pytest.mark.parametrize("path", ["/etc/exposures.yml", "../outside.yml", "models/../../x.yml", "models/x.sql", ""])
def test_the_generated_path_must_be_a_yaml_file_inside_the_project(path):
    with pytest.raises(UnsafeActionError, match="exposures.path"):
        generated_path(path)


# -- the diff against the current file --------------------------------------------------------
def test_the_diff_lists_added_removed_and_changed_exposures_with_reasons():
    before = bi_graph({"aaaaaaaaaaaa": {"name": "Revenue"}, "bbbbbbbbbbbb": {}, "cccccccccccc": {},
                       "dddddddddddd": {}, "eeeeeeeeeeee": {}})
    current = generate(before).content
    after = bi_graph({
        "aaaaaaaaaaaa": {"name": "Revenue & ARR", "reads": ["fin_mrr", "fin_arr"]},  # changed
        "bbbbbbbbbbbb": {"active": False, "stale": True, "stale_rules": ["last_run_too_old"]},  # went stale
        "dddddddddddd": {"active": False, "archived": True},  # archived
        "eeeeeeeeeeee": {"reads": []},  # stopped reading dbt
        "ffffffffffff": {"reads": ["fct_daily_revenue"]},  # new
    })  # cccccccccccc deleted
    plan = generate(after, current)
    changes = {c.name: (c.change, c.reasons) for c in plan.changes}
    assert changes == {
        "mode_aaaaaaaaaaaa": ("changed", ("label: 'Revenue' -> 'Revenue & ARR'",
                                          "description: \"Mode report 'Revenue' (aaaaaaaaaaaa), generated by "
                                          "metapipeline.\" -> \"Mode report 'Revenue & ARR' (aaaaaaaaaaaa), "
                                          "generated by metapipeline.\"",
                                          "depends_on: + ref('fin_arr')")),
        "mode_bbbbbbbbbbbb": ("removed", ("report went stale (last_run_too_old)",)),
        "mode_cccccccccccc": ("removed", ("report deleted (no longer in the BI workspace)",)),
        "mode_dddddddddddd": ("removed", ("report archived",)),
        "mode_eeeeeeeeeeee": ("removed", ("report stopped reading dbt nodes (no resolved, unconditional reference left)",)),
        "mode_ffffffffffff": ("added", ("new active report reading 1 dbt node(s)",)),
    }
    assert plan.diff.startswith(f"--- a/{PATH}\n+++ b/{PATH}\n")
    assert "+  - name: mode_ffffffffffff\n" in plan.diff and "-  - name: mode_cccccccccccc\n" in plan.diff
    assert "+      - ref('fin_arr')\n" in plan.diff


def test_changed_usage_owner_url_and_maturity_are_named():
    current = generate(bi_graph({"aaaaaaaaaaaa": {"views": 500}})).content
    graph = bi_graph({"aaaaaaaaaaaa": {"views": 20, "runs": 20}})
    graph.nodes["mode.report.aaaaaaaaaaaa"]["creator"] = "bo"
    (change,) = generate(graph, current).changes
    assert change.change == "changed"
    assert change.reasons == ("type: 'dashboard' -> 'analysis'", "maturity: 'high' -> 'medium'",
                              "owner: {'name': 'Ana', 'email': 'ana@example.com'} -> {'name': 'bo'}",
                              "usage: runs 100 -> 20, views 500 -> 20")


def test_an_exposure_under_its_old_name_is_replaced_by_the_token_name():
    graph = bi_graph({"aaaaaaaaaaaa": {"name": "Revenue"}})
    old = generate(graph).content.replace("mode_aaaaaaaaaaaa", "mode_revenue_aaaaaaaaaaaa")
    changes = {c.name: (c.change, c.reasons) for c in generate(graph, old).changes}
    assert changes == {
        "mode_aaaaaaaaaaaa": ("added", ("replaces mode_revenue_aaaaaaaaaaaa (same report)",)),
        "mode_revenue_aaaaaaaaaaaa": ("removed", ("replaced by mode_aaaaaaaaaaaa (same report; names now come "
                                                  "from the report token alone)",)),
    }


def test_an_unreadable_current_file_makes_every_exposure_new_and_says_why():
    (change,) = generate(bi_graph({"aaaaaaaaaaaa": {}}), "exposures: [unclosed\n").changes
    assert change.change == "added" and "could not be read" in change.reasons[1]


def test_no_change_no_diff_and_a_byte_identical_file():
    graph = bi_graph({"aaaaaaaaaaaa": {}, "bbbbbbbbbbbb": {"reads": list(MODELS)}})
    first = generate(graph)
    second = generate(graph, first.content)
    assert second.content == first.content and second.changes == () and second.diff == ""


# -- hostile text stays inert -------------------------------------------------------------------
def test_hostile_names_stay_inert_in_the_file_the_diff_and_the_reasons():
    tokens = [f"{i:012x}" for i in range(len(payloads.NAMES))]
    before = bi_graph({t: {"name": "plain"} for t in tokens})
    after = bi_graph({t: {"name": name} for t, name in zip(tokens, payloads.NAMES)})
    plan = generate(after, generate(before).content)
    labels = {e["name"]: e["label"] for e in yaml.safe_load(plan.content)["exposures"]}
    assert labels == {exposure_name(t): jinja_inert(name) for t, name in zip(tokens, payloads.NAMES)}
    assert {c.change for c in plan.changes} == {"changed"}
    for change, name in zip(plan.changes, payloads.NAMES):
        assert change.reasons[0] == f"label: 'plain' -> {jinja_inert(name)!r}"
    added = [line[1:] for line in plan.diff.splitlines(keepends=True) if line.startswith("+") and
             not line.startswith("+++")]
    assert set(added) <= set(plan.content.splitlines(keepends=True))


# -- real dbt parse, on the demo ---------------------------------------------------------------
def demo_plan(demo_run, current: str = "", hand_written: dict | None = None):
    graph = from_node_link(demo_run.read_json("lineage"))
    from lineage_utils.stages import load_snapshot

    snapshot = load_snapshot(demo_run)
    users = {u.username: {"name": u.name, "email": u.email} for u in snapshot.users.values()}
    planned = plan_exposures(graph, users, snapshot.workspace,
                             lambda t: f"https://app.mode.com/{snapshot.workspace}/reports/{t}", NOW)
    return plan_exposures_file(graph, planned, current, hand_written or {}, PATH)


@pytest.mark.slow
def test_the_demo_file_passes_real_dbt_parse_and_a_second_generation_is_byte_identical(
        demo_run, demo_project_copy, demo_expected, tmp_path):
    plan = demo_plan(demo_run)
    assert plan.content == demo_run.read_text("exposures")  # what 04_cleanup wrote
    assert len(plan.exposures) == len(demo_expected["generated_exposures"])
    check = validate_exposures_file(demo_project_copy, plan, tmp_path)
    assert check.ok, check.message
    assert not (demo_project_copy / PATH).exists()  # the project itself is never written to
    (demo_project_copy / PATH).write_text(plan.content, encoding="utf-8")  # as a merged PR leaves it
    again = demo_plan(demo_run, read_current_file(demo_project_copy, PATH))
    assert again.content.encode() == plan.content.encode() and again.changes == () and again.diff == ""


@pytest.mark.slow
def test_a_collision_fails_real_dbt_parse_unless_skipped(demo_run, demo_project_copy, tmp_path):
    token = next(iter(sorted(e.report_token for e in demo_plan(demo_run).exposures)))
    hand = demo_project_copy / "models" / "exposures.yml"
    hand.write_text(hand.read_text() + f"""  - name: mode_{token}
    type: analysis
    owner: {{name: Someone}}
    depends_on: ["ref('fin_mrr')"]
""")
    naive = validate_exposures_file(demo_project_copy, demo_plan(demo_run), tmp_path)
    assert not naive.ok and f"mode_{token}" in naive.message  # dbt's own message names the duplicate
    frame = pd.DataFrame([{"kind": "exposure", "name": f"mode_{token}", "package": "metapipeline_demo",
                           "path": "models/exposures.yml"}])
    plan = demo_plan(demo_run, hand_written=hand_written_exposures(manifest_exposures(frame), PATH))
    assert [c.name for c in plan.skipped] == [f"mode_{token}"]
    check = validate_exposures_file(demo_project_copy, plan, tmp_path)
    assert check.ok, check.message

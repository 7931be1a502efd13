"""Safety gates: what they stop becomes a recorded refusal with its figures."""

from __future__ import annotations

from dataclasses import replace

from lineage_utils.actions.gates import (file_digest, recheck_model_files, removal_fail_safe, with_file_digests,
                                         withhold_if_incomplete)
from lineage_utils.actions.records import Action
from lineage_utils.bi.status import CrawlError, CrawlStatus

RUN = "20261101T000000Z"


def model(name: str, path: str | None = None) -> Action:
    return Action(action="delete_model", target=f"model.p.{name}", name=name, evidence="no path to a consumer",
                  mode="dry_run", result="planned", run_id=RUN, path=path or f"models/{name}.sql",
                  reason="no_downstream_consumer")


def report(kind: str, token: str) -> Action:
    return Action(action=kind, target=f"mode.report.{token}", name=token, evidence="stale", mode="dry_run",
                  result="planned", run_id=RUN)  # type: ignore[arg-type]


def status(complete: bool) -> CrawlStatus:
    missing = () if complete else (CrawlError(target="spaces/abc/reports.json", reason="file not found", status=None),)
    return CrawlStatus(complete=complete, source="mode_api", origin="http://127.0.0.1", workspace="demo",
                       captured_at=None, full=True, missing=missing)


# -- incomplete crawl -----------------------------------------------------------------------
def test_an_incomplete_crawl_refuses_every_deletion_and_keeps_archival():
    actions = [report("archive_report", "r1"), report("delete_report", "r2"), model("a")]
    gated = withhold_if_incomplete(actions, status(False), allow_incomplete=False)
    assert [(a.action, a.result, a.reason) for a in gated] == [
        ("archive_report", "planned", None), ("delete_report", "refused", "crawl_incomplete"),
        ("delete_model", "refused", "crawl_incomplete")]
    assert "1 missing" in gated[2].evidence and "spaces/abc/reports.json" in gated[2].evidence
    assert "cleanup.allow_incomplete is off" in gated[2].evidence
    assert gated[2].evidence.endswith("(planned on: no path to a consumer)")


def test_an_incomplete_crawl_passes_when_allowed_and_a_complete_one_always():
    actions = [report("delete_report", "r2"), model("a")]
    assert withhold_if_incomplete(actions, status(False), allow_incomplete=True) == actions
    assert withhold_if_incomplete(actions, status(True), allow_incomplete=False) == actions


# -- fail-safe ----------------------------------------------------------------------------------
def test_the_fail_safe_refuses_all_model_removals_over_the_share():
    actions = [report("archive_report", "r1")] + [model(f"m{i}") for i in range(11)]
    gated = removal_fail_safe(actions, model_count=48, max_share=0.2)
    assert gated[0] == actions[0]
    assert {(a.result, a.reason) for a in gated[1:]} == {("refused", "fail_safe")}
    assert "11 of 48 models (22.9%)" in gated[1].evidence and "cleanup.max_removal_share 0.2 (9 models)" in gated[1].evidence


def test_the_fail_safe_passes_at_or_under_the_share():
    actions = [model(f"m{i}") for i in range(4)]
    assert removal_fail_safe(actions, model_count=20, max_share=0.2) == actions
    assert removal_fail_safe(actions[:1], model_count=48, max_share=0.2) == actions[:1]


def test_the_fail_safe_counts_only_planned_removals():
    actions = [model("a"), replace(model("b"), result="refused", reason="path_outside_project")]
    assert removal_fail_safe(actions, model_count=5, max_share=0.2) == actions


def test_a_project_without_models_refuses_any_removal():
    (gated,) = removal_fail_safe([model("a")], model_count=0, max_share=0.2)
    assert gated.result == "refused" and gated.reason == "fail_safe"


# -- model file re-check --------------------------------------------------------------------
def project(tmp_path):
    (tmp_path / "models").mkdir()
    for name in ("a", "b", "c"):
        (tmp_path / "models" / f"{name}.sql").write_text(f"select '{name}'\n")
    return tmp_path


def test_an_unchanged_file_passes_the_recheck(tmp_path):
    planned = with_file_digests(project(tmp_path), [model("a"), report("archive_report", "r1")])
    assert planned[0].digest == file_digest(tmp_path, "models/a.sql") and planned[0].digest.startswith("sha256:")
    assert planned[1].digest is None
    assert recheck_model_files(tmp_path, planned) == planned


def test_a_changed_gone_or_unhashed_file_is_skipped_with_the_reason(tmp_path):
    planned = with_file_digests(project(tmp_path), [model("a"), model("b")]) + [model("c")]
    (tmp_path / "models" / "a.sql").write_text("select 'edited'\n")
    (tmp_path / "models" / "b.sql").unlink()
    checked = recheck_model_files(tmp_path, planned)
    assert [(a.result, a.reason) for a in checked] == [
        ("skipped", "file_changed"), ("skipped", "file_gone"), ("skipped", "file_unverified")]
    assert "models/a.sql: content changed since the plan (sha256:" in checked[0].evidence


def test_a_path_outside_the_project_has_no_digest(tmp_path):
    assert file_digest(project(tmp_path), "../etc/passwd") is None
    assert file_digest(tmp_path, None) is None

"""The 04_cleanup dry run on the demo: gates journaled, a real git format-patch, a PR body of exactly the orphans."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from lineage_utils import stages
from lineage_utils.actions.journal import read_journal
from lineage_utils.params import load_params
from lineage_utils.run_folder import Run
from tests.conftest import DEMO_PARAMS, REPO, demo_overrides

pytestmark = pytest.mark.slow
UNESCAPE = re.compile(r"\\(.)")


def table_names(body: str) -> list[str]:
    """The first column of the PR body's model table, Markdown escapes undone."""
    lines = body.split("### Not proposed")[0].splitlines()
    return [UNESCAPE.sub(r"\1", re.split(r"(?<!\\)\|", line)[1].strip()) for line in lines
            if line.startswith("| ") and not line.startswith("| model |")]


def cleanup_again(demo_run, demo_target, tmp_path, *extra: str) -> tuple[Run, stages.CleanupResult]:
    """04_cleanup alone on a copy of the demo run's folder, under other 04 params."""
    params = load_params(DEMO_PARAMS, [*demo_overrides(demo_target, tmp_path), *extra])
    run = Run(run_dir=tmp_path / "again", params=params)
    shutil.copytree(demo_run.data_dir, run.data_dir)
    return run, stages.cleanup(run)


def no_cleanup_branch_or_worktree_left() -> None:
    branches = subprocess.run(["git", "for-each-ref", "--format=%(refname)", "refs/heads/metapipeline/"], cwd=REPO,
                              capture_output=True, text=True, check=True).stdout
    worktrees = subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=REPO, capture_output=True, text=True,
                               check=True).stdout
    assert branches == "" and "metapipeline-cleanup-" not in worktrees


def test_cleanup_patch_is_git_format_patch_of_the_branch_and_no_branch_is_left(demo_run):
    patch = demo_run.read_text("cleanup_patch")
    assert patch.startswith("From 0000000000000000000000000000000000000000 ")
    assert "\nSubject: [PATCH] metapipeline: remove 7 orphan dbt models\n" in patch
    assert "\nDate: Sun, 1 Nov 2026 00:00:00 +0000\n" in patch  # staleness.now, not the wall clock
    no_cleanup_branch_or_worktree_left()


def test_pr_body_names_exactly_the_expected_orphans(demo_run, demo_expected):
    body = demo_run.read_text("pr_body")
    assert sorted(table_names(body)) == sorted(uid.rsplit(".", 1)[-1] for uid in demo_expected["orphan_models"])
    assert str(demo_run.run_dir / "index.html").replace("_", "\\_") in body
    assert "Not proposed" not in body


def test_every_journaled_record_has_an_event_and_every_exemption_a_reason(demo_run, demo_expected):
    lines = read_journal(demo_run.path("actions"))
    assert {line["event"] for line in lines} <= {"planned", "checked"} and all(line["key"] for line in lines)
    assert all(line["reason"] for line in lines if line["result"] != "planned")
    deletions = [line for line in lines if line["action"] == "delete_model"]
    assert {line["target"] for line in deletions} == set(demo_expected["orphan_models"])
    assert all(line["digest"].startswith("sha256:") for line in deletions)


def test_the_fail_safe_refuses_every_removal_and_empties_the_patch(demo_run, demo_target, tmp_path):
    run, result = cleanup_again(demo_run, demo_target, tmp_path, "cleanup.max_removal_share=0.1")
    deletions = [a for a in result.actions if a.action == "delete_model"]
    assert len(deletions) == 7 and {(a.result, a.reason) for a in deletions} == {("refused", "fail_safe")}
    assert run.read_text("cleanup_patch") == ""
    body = run.read_text("pr_body")
    assert "No model deletion is proposed by this run." in body and body.count("| fail\\_safe |") == 7
    assert {line["reason"] for line in read_journal(run.path("actions")) if line["action"] == "delete_model"} \
        == {"fail_safe"}


def test_a_protected_space_is_recorded_as_an_exemption(demo_run, demo_target, tmp_path):
    stale = demo_run.read_frame("stale_reports")
    space = stale["space_token"].iloc[0]
    _, result = cleanup_again(demo_run, demo_target, tmp_path, f"cleanup.protected_spaces=[{space}]")
    exempt = [a for a in result.actions if a.reason == "protected_space"]
    assert {a.target.rsplit(".", 1)[-1] for a in exempt} == set(stale[stale["space_token"] == space]["token"])
    assert {a.result for a in exempt} == {"skipped"}


def test_a_re_run_in_the_same_folder_replaces_the_plan_and_outdates_nothing(demo_run, demo_target, tmp_path):
    run, first = cleanup_again(demo_run, demo_target, tmp_path)
    count = len(read_journal(run.path("actions")))
    again = stages.cleanup(run)
    assert len(read_journal(run.path("actions"))) == count == len(again.actions) == len(first.actions)
    assert run.outdated("04_cleanup") is None


def test_without_a_git_repository_the_patch_is_metapipelines_own_diff(demo_run, demo_target, demo_project_copy,
                                                                       tmp_path):
    run, result = cleanup_again(demo_run, demo_target, tmp_path, f"dbt.project_dir={demo_project_copy}")
    patch = run.read_text("cleanup_patch")
    assert patch.startswith("diff --git a/models/") and result.dry_run.patch_source == "render_patch"
    assert "not in a git repository" in result.dry_run.patch_note
    assert "not in a git repository" in run.read_text("pr_body")


def test_a_missing_base_branch_falls_back_to_head(demo_run, demo_target, tmp_path):
    run, result = cleanup_again(demo_run, demo_target, tmp_path, "git.base_branch=no-such-branch-here")
    assert result.dry_run.patch_source == "git format-patch"
    assert "'no-such-branch-here' is not a local branch: the patch is made against HEAD" in result.dry_run.patch_note
    assert run.read_text("cleanup_patch").startswith("From 0000000000000000000000000000000000000000 ")
    no_cleanup_branch_or_worktree_left()


DRY_RUN_OUTPUTS = ("cleanup_patch", "pr_body", "exposures", "exposures_diff")


def test_a_dry_run_is_byte_identical_across_two_runs_but_for_the_run_id(demo_target, tmp_path):
    """Two whole dry runs of the demo in new folders: the same patch, body, exposures and journal."""
    outputs = []
    for run_id in ("20261201T090000Z", "20261202T100000Z"):
        params = load_params(DEMO_PARAMS, demo_overrides(demo_target, tmp_path / "runs"))
        run = Run(run_dir=tmp_path / "runs" / run_id, params=params)
        run.data_dir.mkdir(parents=True)
        for stage in stages.STAGES:
            stages.RUNNERS[stage](run)
        texts = {name: run.read_text(name).replace(run_id, "<run>").replace(str(run.run_dir), "<dir>")
                 for name in DRY_RUN_OUTPUTS}
        journal = [{k: v for k, v in row.items() if k not in ("at", "run_id")} for row in read_journal(
            run.path("actions"))]
        frames = {name: run.read_frame(name).to_json() for name in ("stale_reports", "orphan_models")}
        outputs.append((texts, journal, frames))
    assert outputs[0][0]["cleanup_patch"].startswith("From 0000000000000000000000000000000000000000 ")
    assert outputs[0] == outputs[1]

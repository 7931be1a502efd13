"""The cleanup branch on real git: a worktree apart, a commit, real dbt parse, a push to a bare remote.

The repository holds tests/fixtures/dbt_semantic_project under ``dbt/`` (the dbt
project is not the repository's top) and has a local bare remote ``origin``. The
user's working tree is left dirty on purpose (an edited file, an untracked one) to
show the branch never touches it. Tests marked slow run real ``dbt parse``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from lineage_utils.actions.patch import Deletion, FileChange
from lineage_utils.actions.worktree import (BRANCH_PREFIX, build_cleanup_branch, cleanup_branch_name,
                                            commit_message, dbt_message, sanitise_name)
from lineage_utils.errors import UnsafeActionError
from tests.actions.gitrepo import git, user_repo

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "dbt_semantic_project"
NOW = datetime(2026, 11, 25, 11, 3, 56, tzinfo=timezone.utc)
RUN = "20261125T110356Z"
LEGACY_YML_AFTER = """version: 2

# A dead chain: legacy_orders -> legacy_order_totals -> legacy_order_report.
models:
  - name: legacy_orders
    columns:
      - name: order_id
        data_tests:
          - relationships:
              arguments:
                to: ref('fct_orders')
                field: order_id
  - name: legacy_order_totals
    columns:
      - name: customer_id
        data_tests:
          - unique
"""


@pytest.fixture
def repo(tmp_path) -> dict:
    """A repository on ``main`` with the dbt project in ``dbt/``, pushed to a bare ``origin``; a dirty tree."""
    made = user_repo(tmp_path, FIXTURE)
    (made["top"] / "README.md").write_text("the user's repository, being edited\n")
    (made["top"] / "notes.txt").write_text("untracked\n")
    return made


def user_state(top: Path) -> tuple[str, str, str, str]:
    return (git(top, "status", "--porcelain=v1", "--untracked-files=all", "--ignored"),
            git(top, "symbolic-ref", "HEAD"), git(top, "rev-parse", "HEAD"), git(top, "worktree", "list", "--porcelain"))


def change(project: Path, path: str, after: str | None) -> FileChange:
    return FileChange(path, (project / path).read_text(), after)


def good_deletion(project: Path) -> Deletion:
    """legacy_order_report goes, with its YAML entry and the test on legacy_order_totals that names it."""
    return Deletion(changes=(change(project, "models/legacy/legacy_order_report.sql", None),
                             change(project, "models/legacy/_legacy.yml", LEGACY_YML_AFTER)),
                    models=("model.semantic_shop.legacy_order_report",))


def build(repo: dict, deletion: Deletion, run_id: str = RUN, models=("legacy_order_report",), **kwargs):
    kwargs = {"parse": False, "workdir": repo["tmp"] / "work", "now": NOW, **kwargs}
    return build_cleanup_branch(None, repo["project"], "main", run_id, deletion, models, remote="origin", **kwargs)


def remote_branches(repo: dict) -> str:
    return git(repo["remote"], "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/")


# -- names and messages -------------------------------------------------------------------------
@pytest.mark.parametrize("run_id", ["", "../x", "a b", "-x", "x.lock", "a..b", "x\n", "x:y", "x" * 101, "@{-1}"])
def test_an_odd_run_id_names_no_branch(run_id, tmp_path):
    with pytest.raises(UnsafeActionError, match="cleanup branch|git refuses"):
        cleanup_branch_name(run_id, tmp_path)


def test_a_timestamp_run_id_names_the_branch(tmp_path):
    assert cleanup_branch_name("20261125T110356Z-2", tmp_path) == f"{BRANCH_PREFIX}20261125T110356Z-2"


def test_a_name_from_outside_is_one_short_line():
    assert sanitise_name("evil\n---\ndiff --git a/x b/x\r\x1b[31m\u2028end") == "evil --- diff --git a/x b/x [31m end"
    assert len(sanitise_name("x" * 1000)) == 200
    assert sanitise_name("\n\t") == "(unnamed)"
    message = commit_message(RUN, ["b", "a\nb", "a"])
    assert message.splitlines()[-3:] == ["- a", "- a b", "- b"]


def test_dbt_message_keeps_the_error_and_drops_the_log_around_it():
    output = ("\x1b[0m11:02:03  Running with dbt=1.11.0\n11:02:04  Encountered an error:\nCompilation Error\n"
              "  Model 'model.p.a' depends on a node named 'b' which was not found\n"
              "11:02:04  [WARNING][DeprecationsSummary]: Deprecated functionality\n- Something: 1 occurrence\n")
    assert dbt_message(output) == ("Encountered an error:\nCompilation Error\n"
                                   "  Model 'model.p.a' depends on a node named 'b' which was not found")
    assert dbt_message("") == "dbt parse failed without output"


# -- the branch, without dbt --------------------------------------------------------------------
def test_the_users_working_tree_and_head_are_untouched_and_the_worktree_goes(repo):
    before = user_state(repo["top"])
    result = build(repo, good_deletion(repo["project"]))
    assert result.ok and result.commit and result.parsed is None and not result.pushed
    assert user_state(repo["top"]) == before
    assert (repo["top"] / "dbt/models/legacy/legacy_order_report.sql").is_file()
    assert list((repo["tmp"] / "work").iterdir()) == []  # our folder went with the worktree
    assert git(repo["top"], "rev-parse", f"{result.branch}^") .strip() == result.base
    assert git(repo["top"], "log", "-1", "--format=%an <%ae>|%cn <%ce>|%aI|%cI", result.branch).strip() == (
        "metapipeline <metapipeline@invalid>|metapipeline <metapipeline@invalid>|"
        "2026-11-25T11:03:56+00:00|2026-11-25T11:03:56+00:00")
    assert result.files == ("dbt/models/legacy/_legacy.yml", "dbt/models/legacy/legacy_order_report.sql")


def test_the_patch_is_git_format_patch_that_git_am_applies_on_the_base(repo):
    result = build(repo, good_deletion(repo["project"]))
    assert result.patch.startswith("From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n")
    assert "\nFrom: metapipeline <metapipeline@invalid>\n" in result.patch
    assert "deleted file mode 100644" in result.patch
    clone = repo["tmp"] / "clone"
    git(repo["tmp"], "clone", "-q", "--branch", "main", str(repo["remote"]), str(clone))
    (repo["tmp"] / "cleanup.patch").write_text(result.patch)
    git(clone, "apply", "--check", str(repo["tmp"] / "cleanup.patch"))
    git(clone, "am", "-q", str(repo["tmp"] / "cleanup.patch"))
    assert git(clone, "rev-parse", "HEAD^{tree}") == git(repo["top"], "rev-parse", f"{result.branch}^{{tree}}")


def test_a_dry_run_patch_differs_only_by_the_run_id(repo):
    first = build(repo, good_deletion(repo["project"]), run_id="20261125T110356Z", keep_branch=False)
    second = build(repo, good_deletion(repo["project"]), run_id="20261125T110356Z-2", keep_branch=False)
    assert first.patch.replace("20261125T110356Z", "RUN") == second.patch.replace("20261125T110356Z-2", "RUN")
    assert git(repo["top"], "branch", "--list", f"{BRANCH_PREFIX}*") == ""  # a dry run leaves no branch


def test_a_hostile_model_name_stays_one_line_of_the_commit_message(repo):
    hostile = "legacy_order_report\n\n---\ndiff --git a/README.md b/README.md\nFrom evil\x07"
    result = build(repo, good_deletion(repo["project"]), models=[hostile])
    body = git(repo["top"], "log", "-1", "--format=%B", result.branch)
    listed = [line for line in body.splitlines() if line.startswith("- ")]
    assert listed == ["- legacy_order_report --- diff --git a/README.md b/README.md From evil"]
    clone = repo["tmp"] / "clone"
    git(repo["tmp"], "clone", "-q", "--branch", "main", str(repo["remote"]), str(clone))
    (repo["tmp"] / "p.patch").write_text(result.patch)
    git(clone, "am", "-q", str(repo["tmp"] / "p.patch"))  # the name does not end the message or start a diff
    assert git(clone, "log", "-1", "--format=%B") == body
    assert git(clone, "diff", "--name-only", "HEAD^", "HEAD").split() == list(result.files)


def test_a_rerun_reuses_the_branch_and_other_content_is_refused(repo):
    first = build(repo, good_deletion(repo["project"]))
    again = build(repo, good_deletion(repo["project"]))
    assert again.reused and not first.reused and again.commit == first.commit and again.patch == first.patch
    assert git(repo["top"], "rev-list", "--count", f"main..{first.branch}").strip() == "1"
    other = Deletion(changes=(change(repo["project"], "models/legacy/legacy_order_report.sql", None),),
                     models=("model.semantic_shop.legacy_order_report",))
    with pytest.raises(UnsafeActionError, match="already exists with other content"):
        build(repo, other)
    assert git(repo["top"], "rev-parse", first.branch).strip() == first.commit


def test_a_path_out_of_the_project_or_a_stale_plan_is_refused_and_makes_no_branch(repo):
    before = user_state(repo["top"])
    escape = Deletion(changes=(FileChange("../README.md", "the user's repository\n", None),), models=())
    with pytest.raises(UnsafeActionError, match="climbs out"):
        build(repo, escape)
    stale = Deletion(changes=(FileChange("models/legacy/_legacy.yml", "version: 2\n", "version: 2\n# x\n"),),
                     models=())
    with pytest.raises(UnsafeActionError, match="base differs"):
        build(repo, stale)
    assert git(repo["top"], "branch", "--list", f"{BRANCH_PREFIX}*") == ""
    assert user_state(repo["top"]) == before


def test_a_deletion_that_changes_nothing_makes_no_branch(repo):
    result = build(repo, Deletion(changes=(), models=()))
    assert not result.ok and result.commit is None and "changes no file" in result.message
    assert git(repo["top"], "branch", "--list", f"{BRANCH_PREFIX}*") == ""


def test_a_work_folder_inside_the_users_working_tree_is_refused(repo):
    with pytest.raises(UnsafeActionError, match="inside the working tree"):
        build(repo, good_deletion(repo["project"]), workdir=repo["top"] / "tmp")
    assert not (repo["top"] / "tmp").exists()


def test_push_refuses_a_remote_branch_it_would_not_fast_forward(repo):
    other = repo["tmp"] / "other"
    git(repo["tmp"], "clone", "-q", "--branch", "main", str(repo["remote"]), str(other))
    (other / "README.md").write_text("someone else's work\n")
    git(other, "commit", "-q", "-am", "someone else")
    git(other, "push", "-q", "origin", f"HEAD:refs/heads/{BRANCH_PREFIX}{RUN}")
    remote_before = remote_branches(repo)
    with pytest.raises(UnsafeActionError, match="does not contain: not pushed"):
        build(repo, good_deletion(repo["project"]), push=True, parse=True)  # refused before dbt runs
    assert remote_branches(repo) == remote_before


def test_push_needs_dbt_parse(repo):
    with pytest.raises(UnsafeActionError, match="only after it passes dbt parse"):
        build(repo, good_deletion(repo["project"]), push=True, parse=False)


# -- real dbt parse -----------------------------------------------------------------------------
@pytest.mark.slow
def test_a_branch_that_parses_is_pushed_with_the_deletions(repo):
    before = user_state(repo["top"])
    result = build(repo, good_deletion(repo["project"]), push=True, parse=True)
    assert result.ok and result.parsed and result.pushed, result.message
    assert result.pushed_sha == result.commit
    assert f"refs/heads/{result.branch} {result.commit}" in remote_branches(repo)
    tree = git(repo["remote"], "ls-tree", "-r", "--name-only", result.branch)
    assert "dbt/models/legacy/legacy_order_report.sql" not in tree and "dbt/models/legacy/legacy_orders.sql" in tree
    assert "name: legacy_order_report" not in git(repo["remote"], "show", f"{result.branch}:dbt/models/legacy/_legacy.yml")
    assert user_state(repo["top"]) == before
    again = build(repo, good_deletion(repo["project"]), push=True, parse=True)  # already there: no second push
    assert again.ok and again.reused and again.pushed_sha == result.commit


@pytest.mark.slow
def test_a_dangling_ref_fails_dbt_parse_and_nothing_is_pushed(repo):
    deletion = Deletion(changes=(change(repo["project"], "models/staging/stg_customers.sql", None),),
                        models=("model.semantic_shop.stg_customers",))
    result = build(repo, deletion, models=["stg_customers"], push=True, parse=True)
    assert not result.ok and result.parsed is False and not result.pushed
    assert "stg_customers" in result.message and "was not found" in result.message, result.message
    assert "dim_customers" in result.message
    assert BRANCH_PREFIX not in remote_branches(repo)


@pytest.mark.slow
def test_a_broken_semantic_model_fails_dbt_parse_and_nothing_is_pushed(repo):
    marts = (repo["project"] / "models/marts/_marts.yml").read_text()
    entry = marts[marts.index("  - name: customer_segments"):marts.index("  - name: int_customer_rollup")]
    deletion = Deletion(changes=(change(repo["project"], "models/marts/customer_segments.sql", None),
                                 change(repo["project"], "models/marts/_marts.yml", marts.replace(entry, ""))),
                        models=("model.semantic_shop.customer_segments",))
    result = build(repo, deletion, models=["customer_segments"], push=True, parse=True)
    assert not result.ok and result.parsed is False and not result.pushed
    assert "semantic_model.semantic_shop.segments" in result.message and "customer_segments" in result.message
    assert BRANCH_PREFIX not in remote_branches(repo)

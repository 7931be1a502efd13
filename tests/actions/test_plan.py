"""Planning: stored decisions become dry-run action records and a reviewable patch."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineage_utils.actions.plan import cleanup_patch, plan_actions, refused_path
from lineage_utils.actions.records import Action
from lineage_utils.lineage.orphans import Orphan
from lineage_utils.lineage.staleness import StaleReport


def stale(token: str) -> StaleReport:
    return StaleReport(token=token, name=f"Report {token}", space_token="s", rules=("low_usage",),
                       evidence="2 runs", last_run_at=None, created_at=None, runs_count=2, view_count=0,
                       schedules_count=0, web_url=None)


def orphan(name: str, path: str | None) -> Orphan:
    return Orphan(unique_id=f"model.p.{name}", name=name, path=path, reason="no_downstream_consumer",
                  evidence="no path to a consumer", downstream_models=(), inactive_reports=(), last_consumer=None,
                  last_consumer_name=None, last_consumer_last_run=None, materialized="view", execution_time=None,
                  test_count=0, owner=None)


def test_actions_are_dry_run_records_with_their_evidence():
    actions = plan_actions([stale("r1")], [orphan("old", "models/old.sql")], "20261101T000000Z")
    assert actions == [
        Action(action="archive_report", target="mode.report.r1", name="Report r1", evidence="2 runs",
               mode="dry_run", result="planned", run_id="20261101T000000Z", rules=("low_usage",)),
        Action(action="delete_model", target="model.p.old", name="old", evidence="no path to a consumer",
               mode="dry_run", result="planned", run_id="20261101T000000Z", path="models/old.sql",
               reason="no_downstream_consumer"),
    ]
    assert actions[0].to_dict()["rules"] == ["low_usage"]


def test_patch_deletes_exactly_the_orphan_files(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "old.sql").write_text("select 1\nfrom x\n")
    patch = cleanup_patch(tmp_path, [orphan("old", "models/old.sql"), orphan("gone", "models/gone.sql"),
                                     orphan("nofile", None)])
    assert patch == ("diff --git a/models/old.sql b/models/old.sql\ndeleted file mode 100644\n"
                     "--- a/models/old.sql\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-select 1\n-from x\n")
    assert cleanup_patch(None, [orphan("old", "models/old.sql")]) == ""


# -- a manifest path that leaves the project is refused, never read ---------------------------
SECRET = "outside-secret-4e1b77 select * from credentials"


def escaping_project(tmp_path, form: str) -> tuple[Path, str]:
    """A dbt project and an orphan path of ``form`` that leads to a file outside it."""
    project, outside = tmp_path / "project", tmp_path / "outside"
    (project / "models").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.sql").write_text(SECRET + "\n")
    (project / "models" / "kept.sql").write_text("select 1\n")
    if form == "dotdot":
        return project, "models/../../outside/secret.sql"
    if form == "absolute":
        return project, str(outside / "secret.sql")
    if form == "symlinked_file":
        (project / "models" / "link.sql").symlink_to(outside / "secret.sql")
        return project, "models/link.sql"
    (project / "models" / "shared").symlink_to(outside, target_is_directory=True)  # symlinked_dir
    return project, "models/shared/secret.sql"


FORMS = ("dotdot", "absolute", "symlinked_file", "symlinked_dir")


@pytest.mark.parametrize("form", FORMS)
def test_patch_never_reads_a_path_outside_the_project(tmp_path, form):
    project, path = escaping_project(tmp_path, form)
    patch = cleanup_patch(project, [orphan("evil", path), orphan("kept", "models/kept.sql")])
    assert SECRET not in patch and "secret" not in patch
    assert patch.startswith("diff --git a/models/kept.sql b/models/kept.sql\n")


@pytest.mark.parametrize("form", FORMS)
def test_a_path_outside_the_project_is_a_refused_action_naming_node_and_path(tmp_path, form):
    project, path = escaping_project(tmp_path, form)
    evil, kept = plan_actions([], [orphan("evil", path), orphan("kept", "models/kept.sql")], "r", project)
    assert (evil.action, evil.target, evil.path, evil.result) == ("delete_model", "model.p.evil", path, "refused")
    assert evil.reason == "path_outside_project" and repr(path) in evil.evidence
    assert SECRET not in evil.evidence
    assert (kept.result, kept.path) == ("planned", "models/kept.sql")


@pytest.mark.parametrize("path", ["models/a\nb.sql", "C:\\models\\x.sql", "models\\..\\..\\x.sql"])
def test_odd_paths_are_refused(tmp_path, path):
    assert refused_path(tmp_path, path)


def test_a_symlink_that_stays_inside_the_project_is_allowed(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "real.sql").write_text("select 2\n")
    (tmp_path / "models" / "alias.sql").symlink_to(tmp_path / "models" / "real.sql")
    assert refused_path(tmp_path, "models/alias.sql") is None
    assert "-select 2" in cleanup_patch(tmp_path, [orphan("alias", "models/alias.sql")])

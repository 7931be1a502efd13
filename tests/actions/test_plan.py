"""Planning: stored decisions become dry-run action records and a reviewable patch."""

from __future__ import annotations

from lineage_utils.actions.plan import cleanup_patch, plan_actions
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

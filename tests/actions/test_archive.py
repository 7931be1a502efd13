"""BI archival: planned from the demo's stale list, applied to the Mode stand-in over loopback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from lineage_utils.actions.archive import (ArchivalPolicy, ArchivedSince, ReportCall, apply_archival, archived_since,
                                           archived_since_from_history, plan_archival)
from lineage_utils.actions.journal import Journal, journal_path
from lineage_utils.actions.records import Action
from lineage_utils.bi.mode.adapter import ModeAdapter
from lineage_utils.bi.mode.client import ModeClient
from lineage_utils.bi.snapshot import load_snapshot_dir, parse_timestamp
from lineage_utils.lineage.staleness import StalenessRules, find_stale_reports
from tests.conftest import MODE_DEMO, MODE_SECRET, MODE_TOKEN, REPO, mode_client

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
RUN = "20261101T000000Z"
FINANCE, COMMERCE, PERSONAL = "f570a9d1bdeb", "524caa2b52fe", "2d1c99ec8d9c"
ARCHIVED_FINANCE, ARCHIVED_COMMERCE, ARCHIVED_PERSONAL = "ceb1a3741c30", "ececdd98aa14", "a9a4d826de0b"
ARCHIVE_PATCH = r"/reports/[^/]+/archive$"


@pytest.fixture(scope="module")
def demo():
    snapshot = load_snapshot_dir(MODE_DEMO)
    stale = find_stale_reports(snapshot.reports.values(), StalenessRules(now=NOW))
    return snapshot, stale


def plan(demo, policy=ArchivalPolicy(), stale=None, since=None):
    snapshot, demo_stale = demo
    return plan_archival(demo_stale if stale is None else stale, snapshot.reports, snapshot.spaces, policy, RUN, NOW,
                         since)


def adapter(standin, **options) -> ModeAdapter:
    return ModeAdapter(client=mode_client(standin, **options), state_dir=None)


def archived_tokens(standin) -> set[str]:
    return {t for t, r in standin.reports.items() if r.get("archived") in (True, "true")}


# -- planning -----------------------------------------------------------------------------------
def test_the_archive_calls_match_the_demo_stale_list(demo, demo_expected):
    archival = plan(demo)
    assert sorted(c.token for c in archival.calls) == sorted(demo_expected["stale_reports"])
    assert archival.exemptions == ()
    for call in archival.calls:
        assert call.action.action == "archive_report" and call.action.result == "planned"
        assert tuple(call.action.rules) == tuple(demo_expected["stale_reports"][call.token])
        assert call.action.evidence.startswith(f"stale by {', '.join(call.action.rules)}: ")
        assert f"runs_count {call.runs_count}, view_count {call.view_count}" in call.action.evidence


def test_protected_spaces_by_token_or_name_are_skipped_with_the_reason(demo):
    archival = plan(demo, ArchivalPolicy(protected_spaces=(FINANCE, "Commerce")))
    skipped = {a.target.rsplit(".", 1)[1]: a for a in archival.exemptions}
    assert set(skipped) == {"4418b4e11d87", "4d77a5e68c65", "792f4f66fe97", "79c163d4bbb5", "7a6ea0f4999e"}
    assert {(a.result, a.reason) for a in skipped.values()} == {("skipped", "protected_space")}
    assert "protected space 'Finance' (f570a9d1bdeb" in skipped["4418b4e11d87"].evidence
    assert sorted(c.token for c in archival.calls) == ["6129bb8536e2", "676add2f46db", "bb3e4b66e93a"]


def test_personal_space_reports_are_skipped_unless_included(demo):
    (base,) = [s for s in demo[1] if s.token == "bb3e4b66e93a"]
    personal = replace(base, token="p3rs0na1", space_token=PERSONAL)
    archival = plan(demo, stale=[personal])
    (skip,) = archival.exemptions
    assert (skip.reason, skip.target) == ("personal_space", "mode.report.p3rs0na1")
    assert "cleanup.include_personal_spaces is off" in skip.evidence and archival.calls == ()
    included = plan(demo, ArchivalPolicy(include_personal_spaces=True), stale=[personal])
    assert [c.token for c in included.calls] == ["p3rs0na1"]


def test_a_report_in_a_space_the_crawl_did_not_list_is_left_alone(demo):
    (base,) = [s for s in demo[1] if s.token == "bb3e4b66e93a"]
    (skip,) = plan(demo, stale=[replace(base, space_token="unlisted")]).exemptions
    assert skip.reason == "unknown_space"


def test_beyond_the_cap_reports_are_deferred_longest_idle_first(demo):
    archival = plan(demo, ArchivalPolicy(max_per_run=3))
    # never run (created 2025-...), then last run 2025-11-20, then 2026-01-05
    assert [c.token for c in archival.calls] == ["792f4f66fe97", "676add2f46db", "6129bb8536e2"]
    assert len(archival.exemptions) == 5
    assert {(a.result, a.reason) for a in archival.exemptions} == {("skipped", "cap_reached")}
    assert archival.exemptions[0].evidence.startswith("deferred: cap reached (cleanup.max_archive_per_run 3)")


def history(runs_dir, run_id: str, token: str, at: datetime) -> None:
    """An earlier run whose journal archived ``token`` at ``at``."""
    journal = Journal(journal_path(runs_dir / run_id), now=lambda: at)
    action = Action(action="archive_report", target=f"mode.report.{token}", name=token, evidence="stale",
                    mode="dry_run", result="planned", run_id=run_id)
    journal.started(action)
    journal.finished(action, "done", "archived")


def test_deletion_waits_for_the_grace_period_archived(demo, tmp_path):
    history(tmp_path, "20260901T000000Z", ARCHIVED_FINANCE, NOW - timedelta(days=61))
    history(tmp_path, "20260920T000000Z", ARCHIVED_FINANCE, NOW - timedelta(days=40))  # archived again: counts
    history(tmp_path, "20261020T000000Z", ARCHIVED_COMMERCE, NOW - timedelta(days=12))
    history(tmp_path, "20261021T000000Z", ARCHIVED_PERSONAL, NOW - timedelta(days=100))
    since = archived_since_from_history(tmp_path)
    assert since[ARCHIVED_FINANCE] == ArchivedSince(NOW - timedelta(days=40), "run 20260920T000000Z")
    archival = plan(demo, ArchivalPolicy(delete_archived=True), stale=[], since=since)
    assert [(c.action.action, c.token) for c in archival.calls] == [("delete_report", ARCHIVED_FINANCE)]
    assert "archived 2026-09-22 (run 20260920T000000Z), 40 days ago: at least the grace period of 30 days" \
        in archival.calls[0].action.evidence
    reasons = {a.target.rsplit(".", 1)[1]: a.reason for a in archival.exemptions}
    assert reasons == {ARCHIVED_COMMERCE: "grace_period", ARCHIVED_PERSONAL: "personal_space",
                       "f1e2565a38c3": "archived_since_unknown"}
    assert plan(demo, ArchivalPolicy(delete_archived=False), stale=[], since=since).actions == []


def test_mode_archived_at_comes_before_the_history(tmp_path):
    history(tmp_path, "20260901T000000Z", ARCHIVED_FINANCE, NOW - timedelta(days=61))
    bundle = {"reports": [{"token": ARCHIVED_FINANCE, "archived_at": "2026-10-30T00:00:00Z"},
                          {"token": "x", "archived_at": "not a time"}]}
    since = archived_since(bundle, tmp_path)
    assert since == {ARCHIVED_FINANCE: ArchivedSince(parse_timestamp("2026-10-30T00:00:00Z"), "Mode archived_at")}
    assert archived_since(None, tmp_path, exclude_run="20260901T000000Z") == {}


# -- applying against the stand-in ---------------------------------------------------------------
def test_applying_archives_exactly_the_stale_reports(demo, demo_expected, mode_standin, tmp_path):
    before = archived_tokens(mode_standin)
    journal = Journal.for_run(tmp_path)
    results = apply_archival(plan(demo), adapter(mode_standin), journal, kinds={"archive"})
    assert {r.result for r in results} == {"done"}
    assert archived_tokens(mode_standin) - before == set(demo_expected["stale_reports"])
    patched = sorted(r.path.split("/")[-2] for r in mode_standin.log if r.method == "PATCH")
    assert patched == sorted(demo_expected["stale_reports"])
    events = [(r["event"], r["result"]) for r in journal.entries()]
    assert events == [("started", "started"), ("finished", "done")] * 8


def test_applying_twice_calls_once(demo, mode_standin, tmp_path):
    apply_archival(plan(demo), adapter(mode_standin), Journal.for_run(tmp_path), kinds={"archive"})
    mode_standin.reset_log()
    again = apply_archival(plan(demo), adapter(mode_standin), Journal.for_run(tmp_path), kinds={"archive"})
    assert {r.result for r in again} == {"done"} and mode_standin.requests == 0


def test_a_crash_after_k_calls_resumes_with_the_rest(demo, demo_expected, mode_standin, tmp_path):
    def crash_after_three(call: ReportCall, result) -> None:
        if mode_standin.requests_to(ARCHIVE_PATCH, "PATCH") == 3:
            raise RuntimeError("the process dies")

    with pytest.raises(RuntimeError):
        apply_archival(plan(demo), adapter(mode_standin), Journal.for_run(tmp_path), kinds={"archive"},
                       hook=crash_after_three)
    resumed = apply_archival(plan(demo), adapter(mode_standin), Journal.for_run(tmp_path), kinds={"archive"})
    assert {r.result for r in resumed} == {"done"}
    patched = [r.path.split("/")[-2] for r in mode_standin.log if r.method == "PATCH"]
    assert sorted(patched) == sorted(demo_expected["stale_reports"])  # each once


def test_a_call_whose_outcome_is_unknown_is_settled_by_the_recheck(demo, mode_standin, tmp_path):
    class DiesAfterTheCall(ModeAdapter):
        def archive(self, report):
            super().archive(report)
            raise KeyboardInterrupt  # killed before `finished` is written

    with pytest.raises(KeyboardInterrupt):
        apply_archival(plan(demo), DiesAfterTheCall(client=mode_client(mode_standin), state_dir=None),
                       Journal.for_run(tmp_path), kinds={"archive"})
    first = plan(demo).calls[0]
    assert Journal.for_run(tmp_path).interrupted(first.key)
    results = apply_archival(plan(demo), adapter(mode_standin), Journal.for_run(tmp_path), kinds={"archive"})
    assert [r.result for r in results] == ["noop"] + ["done"] * 7
    assert mode_standin.requests_to(ARCHIVE_PATCH, "PATCH") == 8
    assert Journal.for_run(tmp_path).done(first.key)["detail"].startswith("already archived")


def test_a_report_run_meanwhile_is_skipped_with_the_change(demo, mode_standin, tmp_path):
    archival = plan(demo)
    mode_standin.run_report("4418b4e11d87", when=NOW - timedelta(days=1))
    results = {r.target: r for r in apply_archival(archival, adapter(mode_standin), Journal.for_run(tmp_path),
                                                   kinds={"archive"})}
    ran = results["mode.report.4418b4e11d87"]
    assert (ran.result, ran.reason) == ("skipped", "changed_target")
    assert "last_run_at 2026-05-01T14:53:48.727000+00:00 -> 2026-10-31T00:00:00+00:00" in ran.evidence
    assert "runs_count 120 -> 121" in ran.evidence
    assert "4418b4e11d87" not in archived_tokens(mode_standin)
    assert sum(r.result == "done" for r in results.values()) == 7


def test_a_report_gone_or_archived_meanwhile_is_not_called(demo, mode_standin, tmp_path):
    archival = plan(demo)
    del mode_standin.reports["4418b4e11d87"]
    mode_standin.reports["4d77a5e68c65"]["archived"] = True
    results = {r.target.rsplit(".", 1)[1]: r for r in
               apply_archival(archival, adapter(mode_standin), Journal.for_run(tmp_path), kinds={"archive"})}
    assert (results["4418b4e11d87"].result, results["4418b4e11d87"].reason) == ("skipped", "gone")
    assert results["4d77a5e68c65"].result == "noop"
    assert mode_standin.requests_to(ARCHIVE_PATCH, "PATCH") == 6


def test_a_kind_switched_off_is_not_applied(demo, mode_standin, tmp_path):
    results = apply_archival(plan(demo), adapter(mode_standin), Journal.for_run(tmp_path), kinds={"deletion_pr"})
    assert {(r.result, r.reason) for r in results} == {("skipped", "kind_off")}
    assert mode_standin.requests == 0
    assert {r["event"] for r in Journal.for_run(tmp_path).entries()} == {"checked"}


def test_deleting_after_the_grace_period_through_the_standin(demo, mode_standin, tmp_path):
    since = {ARCHIVED_FINANCE: ArchivedSince(NOW - timedelta(days=45), "run 20260917T000000Z")}
    archival = plan(demo, ArchivalPolicy(delete_archived=True), stale=[], since=since)
    assert [c.token for c in archival.calls] == [ARCHIVED_FINANCE]
    journal = Journal.for_run(tmp_path)
    assert [r.result for r in apply_archival(archival, adapter(mode_standin), journal, kinds={"archive"})] == ["skipped"]
    assert ARCHIVED_FINANCE in mode_standin.reports
    assert [r.result for r in apply_archival(archival, adapter(mode_standin), journal,
                                             kinds={"delete_archived"})] == ["done"]
    assert ARCHIVED_FINANCE not in mode_standin.reports
    assert mode_standin.requests_to(rf"/reports/{ARCHIVED_FINANCE}$", "DELETE") == 1


def test_an_unarchived_report_is_not_deleted(demo, mode_standin, tmp_path):
    since = {ARCHIVED_FINANCE: ArchivedSince(NOW - timedelta(days=45), "Mode archived_at")}
    archival = plan(demo, ArchivalPolicy(delete_archived=True), stale=[], since=since)
    mode_standin.reports[ARCHIVED_FINANCE]["archived"] = False
    (result,) = apply_archival(archival, adapter(mode_standin), Journal.for_run(tmp_path), kinds={"delete_archived"})
    assert (result.result, result.reason) == ("skipped", "unarchived")
    assert mode_standin.requests_to(r"/reports/", "DELETE") == 0


# -- the client's error handling under apply --------------------------------------------------------
def test_5xx_and_429_are_retried_during_apply(demo, mode_standin, tmp_path):
    mode_standin.fail(ARCHIVE_PATCH, 503, times=2)
    mode_standin.burst_429(1, retry_after="0", path_pattern=ARCHIVE_PATCH)
    results = apply_archival(plan(demo), adapter(mode_standin), Journal.for_run(tmp_path), kinds={"archive"})
    assert {r.result for r in results} == {"done"}
    assert mode_standin.requests_to(ARCHIVE_PATCH, "PATCH") == 8 + 3


def test_bad_credentials_fail_each_recheck_and_nothing_is_done(demo, mode_standin, tmp_path):
    client = ModeClient(mode_standin.base_url, mode_standin.workspace, MODE_TOKEN, "wrong", rate_limit=0,
                        timeout=5.0, max_retries=1, backoff=0.01, backoff_max=0.05)
    bad = ModeAdapter(client=client, state_dir=None)
    journal = Journal.for_run(tmp_path)
    results = apply_archival(plan(demo), bad, journal, kinds={"archive"})
    assert {(r.result, r.reason) for r in results} == {("skipped", "recheck_failed")}
    assert "401" in results[0].evidence and all(journal.done(c.key) is None for c in plan(demo).calls)
    assert mode_standin.requests_to(ARCHIVE_PATCH, "PATCH") == 0


def test_a_failed_call_is_retried_by_the_next_apply(demo, mode_standin, tmp_path):
    mode_standin.fail(r"/reports/4418b4e11d87/archive$", 500, times=2)  # both tries of the first apply
    first = {r.target: r.result for r in apply_archival(plan(demo), adapter(mode_standin, max_retries=1),
                                                         Journal.for_run(tmp_path), kinds={"archive"})}
    assert first["mode.report.4418b4e11d87"] == "failed"
    again = {r.target: r.result for r in apply_archival(plan(demo), adapter(mode_standin),
                                                         Journal.for_run(tmp_path), kinds={"archive"})}
    assert again["mode.report.4418b4e11d87"] == "done"


# -- a real crash: SIGKILL mid-batch, then a re-run ---------------------------------------------
KILLER = """
import os, signal, sys
from datetime import datetime, timezone
from lineage_utils.actions.archive import ArchivalPolicy, apply_archival, plan_archival
from lineage_utils.actions.journal import Journal
from lineage_utils.bi.mode.adapter import ModeAdapter
from lineage_utils.bi.mode.client import ModeClient
from lineage_utils.bi.snapshot import load_snapshot_dir
from lineage_utils.lineage.staleness import StalenessRules, find_stale_reports
base_url, workspace, token, secret, folder, run_dir = sys.argv[1:]
now = datetime(2026, 11, 1, tzinfo=timezone.utc)
snapshot = load_snapshot_dir(folder)
stale = find_stale_reports(snapshot.reports.values(), StalenessRules(now=now))
archival = plan_archival(stale, snapshot.reports, snapshot.spaces, ArchivalPolicy(), "r", now)
client = ModeClient(base_url, workspace, token, secret, rate_limit=0, timeout=5.0)
calls = []
def die(call, result):
    calls.append(call)
    if len(calls) == 3:
        os.kill(os.getpid(), signal.SIGKILL)
apply_archival(archival, ModeAdapter(client=client, state_dir=None), Journal.for_run(run_dir), kinds={"archive"},
               hook=die)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_mid_batch_then_a_rerun_archives_only_the_rest(demo, demo_expected, mode_standin, tmp_path):
    killed = subprocess.run([sys.executable, "-c", KILLER, mode_standin.base_url, mode_standin.workspace, MODE_TOKEN,
                             MODE_SECRET, str(MODE_DEMO), str(tmp_path)], cwd=REPO, capture_output=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    assert mode_standin.requests_to(ARCHIVE_PATCH, "PATCH") == 3
    rows = [json.loads(line) for line in journal_path(tmp_path).read_text().splitlines()]
    assert sum(r["event"] == "finished" for r in rows) == 3
    resumed = apply_archival(plan(demo), adapter(mode_standin), Journal.for_run(tmp_path), kinds={"archive"})
    assert {r.result for r in resumed} == {"done"}
    patched = [r.path.split("/")[-2] for r in mode_standin.log if r.method == "PATCH"]
    assert sorted(patched) == sorted(demo_expected["stale_reports"])

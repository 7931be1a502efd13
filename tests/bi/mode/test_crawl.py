"""Crawling a workspace through the stand-in: complete, incremental, honest about what is missing."""

from __future__ import annotations

import json

import pytest

from lineage_utils.bi import snapshot as bi_snapshot
from lineage_utils.errors import ArtifactError
from lineage_utils.bi.mode.adapter import ModeAdapter, credentials_from_env, state_path
from lineage_utils.bi.mode.crawl import carry_forward, crawl_workspace
from tests.conftest import MODE_DEMO, MODE_SECRET, MODE_TOKEN, mode_client

COMMERCE = "524caa2b52fe"
REPORT = "e9a11122b9f7"  # in Commerce, 2 queries
DEMO_REPORTS, DEMO_USERS = 37, 4


@pytest.fixture(scope="module")
def demo_snapshot():
    return bi_snapshot.load_snapshot_dir(MODE_DEMO)


def same_records(bundle, expected):
    crawled = bi_snapshot.parse_bundle(bundle)
    for section in ("spaces", "reports", "queries", "data_sources", "definitions", "users"):
        assert getattr(crawled, section) == getattr(expected, section), section
    return True


def crawl(standin, previous=None, full=False, **options):
    return crawl_workspace(mode_client(standin, **options), previous, full=full, workers=4)


# -- a full crawl ----------------------------------------------------------------------------
def test_full_crawl_equals_the_demo_snapshot(mode_standin, demo_snapshot):
    bundle, status = crawl(mode_standin)
    assert same_records(bundle, demo_snapshot)
    assert status.complete and status.errors == () and status.missing == ()
    assert (status.spaces, status.reports, status.reports_fetched) == (5, DEMO_REPORTS, DEMO_REPORTS)
    assert status.requests_made == mode_standin.requests


def test_full_crawl_with_small_pages_equals_the_demo_snapshot(mode_standin, demo_snapshot):
    mode_standin.page_size = 2
    bundle, status = crawl(mode_standin)
    assert status.complete and same_records(bundle, demo_snapshot)


def test_crawl_without_personal_spaces(mode_standin):
    bundle, _ = crawl_workspace(mode_client(mode_standin), include_personal=False)
    assert "2d1c99ec8d9c" not in {s["token"] for s in bundle["spaces"]}
    assert all(r["space_token"] != "2d1c99ec8d9c" for r in bundle["reports"])


def test_each_creator_is_fetched_once(mode_standin):
    bundle, _ = crawl(mode_standin)
    assert sorted(bundle["users"]) == ["dana_okafor", "lee_chen", "priya_nair", "sam_rivera"]
    assert mode_standin.requests_to(r"^/api/(?!verify$)[a-z_]+$") == DEMO_USERS


# -- faults: complete after retries ------------------------------------------------------------
@pytest.mark.parametrize("fault, faults", [
    (lambda s: s.fail(r"/queries$", status=503, times=3), 3),
    (lambda s: s.fail(r"/spaces/.*/reports$", status=504, times=2), 2),
    (lambda s: s.burst_429(times=3, retry_after="0"), 3),
    (lambda s: s.drop_connections(r"/queries$", times=2), 2),
], ids=["5xx", "504-on-listing", "429-burst", "dropped-connection"])
def test_transient_faults_end_complete_after_retries(mode_standin, demo_snapshot, fault, faults):
    fault(mode_standin)
    bundle, status = crawl(mode_standin)
    assert status.complete and status.retries == faults  # one retry per scripted fault
    assert same_records(bundle, demo_snapshot)


def test_latency_within_the_timeout_is_only_slower(mode_standin, demo_snapshot):
    mode_standin.latency = 0.01
    bundle, status = crawl(mode_standin, timeout=1.0)
    assert status.complete and same_records(bundle, demo_snapshot)


# -- faults: incomplete with the reason ---------------------------------------------------------
def only_error(status):
    assert not status.complete
    (error,) = status.errors
    return error


@pytest.mark.parametrize("code, reason", [(403, "no access (403)"), (404, "gone since it was listed (404)")])
def test_a_denied_report_makes_the_crawl_incomplete(mode_standin, code, reason):
    mode_standin.deny_report(REPORT, code)
    bundle, status = crawl(mode_standin)
    error = only_error(status)
    assert (error.target, error.status) == (REPORT, code) and error.reason.startswith(reason)
    assert [m.target for m in status.missing] == [REPORT]
    assert REPORT not in bundle["queries"] and len(bundle["queries"]) == DEMO_REPORTS - 1


def test_a_report_vanishing_after_listing_is_recorded(mode_standin):
    """The second walk of the listing no longer shows it, a look-up says 404: gone, not live, not missing."""
    mode_standin.vanish_after_listing(REPORT)
    bundle, status = crawl(mode_standin)
    assert status.complete and status.errors == () and status.missing == ()
    (vanished,) = status.warnings
    assert (vanished.target, vanished.status) == (REPORT, 404) and "deleted while the crawl ran" in vanished.reason
    assert REPORT not in {r["token"] for r in bundle["reports"]} and REPORT not in bundle["queries"]


def test_giving_up_after_retries_makes_the_crawl_incomplete(mode_standin):
    mode_standin.fail(f"/reports/{REPORT}/queries$", status=500, times=100)
    _, status = crawl(mode_standin, max_retries=2)
    error = only_error(status)
    assert (error.target, error.status) == (REPORT, 500) and "gave up after 3 attempts" in error.reason


def test_dropped_connections_to_the_end_make_the_crawl_incomplete(mode_standin):
    mode_standin.drop_connections(f"/reports/{REPORT}/queries$", times=100)
    _, status = crawl(mode_standin, max_retries=2)
    error = only_error(status)
    assert error.target == REPORT and error.status is None and "ConnectionError" in error.reason


def test_a_looping_listing_makes_the_crawl_incomplete(mode_standin):
    mode_standin.page_size = 3
    mode_standin.loop_listing(COMMERCE, from_page=2)
    bundle, status = crawl(mode_standin)
    assert not status.complete and status.errors == ()
    (anomaly,) = status.anomalies
    assert anomaly.kind == "repeated_page" and COMMERCE in anomaly.target
    assert sum(r["space_token"] == COMMERCE for r in bundle["reports"]) == 3 + 1  # page 1 + the dataset


def test_a_forbidden_space_makes_the_crawl_incomplete(mode_standin):
    mode_standin.fail(f"/spaces/{COMMERCE}/reports$", status=403, times=1)
    bundle, status = crawl(mode_standin)
    error = only_error(status)
    assert (error.target, error.status) == (COMMERCE, 403)
    assert [m.target for m in status.missing] == [COMMERCE]
    assert all(r["space_token"] != COMMERCE for r in bundle["reports"])


def test_failed_definitions_fall_back_to_the_previous_crawl(mode_standin):
    first, _ = crawl(mode_standin)
    mode_standin.fail(r"/definitions$", status=403, times=1)
    bundle, status = crawl(mode_standin, previous=first)
    assert only_error(status).target == "definitions"
    assert bundle["definitions"] == first["definitions"]


# -- incremental -----------------------------------------------------------------------------------
def test_incremental_crawl_fetches_only_changed_reports(mode_standin, demo_snapshot):
    first, status1 = crawl(mode_standin)
    changed = [REPORT, "003edd7a7f18", "f1e2565a38c3"]
    for token in changed:
        mode_standin.touch_report(token)
    mode_standin.reset_log()
    second, status2 = crawl(mode_standin, previous=first)
    fetched = sorted(r.path.split("/")[4] for r in mode_standin.log if r.path.endswith("/queries"))
    assert fetched == sorted(changed)
    listing_requests = status1.requests_made - DEMO_REPORTS - DEMO_USERS
    assert status2.requests_made == mode_standin.requests == listing_requests + 3
    assert (status2.reports_fetched, status2.reports_reused) == (3, DEMO_REPORTS - 3)
    assert status2.requests_saved == DEMO_REPORTS - 3 + DEMO_USERS
    assert status2.complete and not status2.full
    updated = {r["token"]: r["updated_at"] for r in second["reports"]}
    assert all(updated[t] == mode_standin.reports[t]["updated_at"] for t in changed)
    assert second["queries"] == first["queries"]


def test_full_crawl_ignores_the_previous_crawl(mode_standin):
    first, _ = crawl(mode_standin)
    mode_standin.reset_log()
    _, status = crawl(mode_standin, previous=first, full=True)
    assert status.full and status.reports_fetched == DEMO_REPORTS and status.requests_saved == 0
    assert mode_standin.requests_to(r"/queries$") == DEMO_REPORTS


def test_a_previous_crawl_of_another_workspace_is_ignored(mode_standin):
    first, _ = crawl(mode_standin)
    _, status = crawl(mode_standin, previous={**first, "workspace": "someone-else"})
    assert status.reports_fetched == DEMO_REPORTS


def test_failed_report_keeps_its_previous_queries_but_stays_incomplete(mode_standin):
    first, _ = crawl(mode_standin)
    mode_standin.touch_report(REPORT)
    mode_standin.deny_report(REPORT, 403)
    bundle, status = crawl(mode_standin, previous=first)
    assert not status.complete and status.reused_after_error == (REPORT,) and status.missing == ()
    assert bundle["queries"][REPORT] == first["queries"][REPORT]


def test_state_after_a_failure_makes_the_next_crawl_fetch_the_report_again(mode_standin):
    first, _ = crawl(mode_standin)
    mode_standin.touch_report(REPORT)
    mode_standin.deny_report(REPORT, 403)
    bundle, status = crawl(mode_standin, previous=first)
    state = carry_forward(bundle, first, status)
    previous_record = next(r for r in first["reports"] if r["token"] == REPORT)
    assert next(r for r in state["reports"] if r["token"] == REPORT) == previous_record
    mode_standin._denied.clear()
    mode_standin.reset_log()
    _, status3 = crawl(mode_standin, previous=state)
    assert status3.complete and status3.reports_fetched == 1
    assert mode_standin.requests_to(f"/reports/{REPORT}/queries$") == 1


def test_state_keeps_the_reports_of_a_space_that_failed(mode_standin):
    first, _ = crawl(mode_standin)
    mode_standin.fail(f"/spaces/{COMMERCE}/reports$", status=403, times=1)
    bundle, status = crawl(mode_standin, previous=first)
    state = carry_forward(bundle, first, status)
    commerce = {r["token"] for r in first["reports"] if r["space_token"] == COMMERCE}
    assert {r["token"] for r in state["reports"]} == {r["token"] for r in first["reports"]}  # commerce carried
    assert all(state["queries"][t] == first["queries"][t] for t in commerce)


# -- the adapter: credentials, state file, actions ------------------------------------------------
def adapter(standin, tmp_path):
    return ModeAdapter(client=mode_client(standin), state_dir=tmp_path / "state", workers=4)


def test_adapter_keeps_the_previous_crawl_for_the_next(mode_standin, tmp_path):
    mode = adapter(mode_standin, tmp_path)
    mode.crawl()
    path = state_path(tmp_path / "state", "metapipeline-demo")
    assert json.loads(path.read_text())["workspace"] == "metapipeline-demo"
    _, status = mode.crawl()
    assert status.reports_fetched == 0 and status.requests_saved == DEMO_REPORTS + DEMO_USERS
    text = path.read_text()
    assert MODE_TOKEN not in text and MODE_SECRET not in text


def test_missing_credentials_name_the_variable_not_a_value(monkeypatch):
    monkeypatch.setenv("MP_TEST_TOKEN", "visible-token-value")
    monkeypatch.delenv("MP_TEST_SECRET", raising=False)
    with pytest.raises(ArtifactError, match="'MP_TEST_SECRET'") as caught:
        credentials_from_env("MP_TEST_TOKEN", "MP_TEST_SECRET")
    assert "visible-token-value" not in str(caught.value)


def test_archive_is_idempotent(mode_standin, tmp_path):
    mode = adapter(mode_standin, tmp_path)
    first, again = mode.archive(REPORT), mode.archive(REPORT)
    assert (first.result, again.result) == ("done", "noop")
    assert again.target == f"mode.report.{REPORT}" and again.detail == "already archived"
    assert mode_standin.requests_to(f"/reports/{REPORT}/archive$", "PATCH") == 1


def test_unarchive_is_idempotent(mode_standin, tmp_path):
    mode = adapter(mode_standin, tmp_path)
    assert mode.unarchive(REPORT).result == "noop"
    mode.archive(REPORT)
    assert [mode.unarchive(REPORT).result for _ in range(2)] == ["done", "noop"]
    assert mode_standin.reports[REPORT]["archived"] is False


def test_delete_refuses_an_active_report(mode_standin, tmp_path):
    result = adapter(mode_standin, tmp_path).delete(REPORT)
    assert result.result == "failed" and "not archived" in result.detail
    assert REPORT in mode_standin.reports


def test_delete_of_an_archived_report_is_idempotent(mode_standin, tmp_path):
    mode = adapter(mode_standin, tmp_path)
    mode.archive(REPORT)
    assert [mode.delete(REPORT).result for _ in range(2)] == ["done", "noop"]
    assert REPORT not in mode_standin.reports


def test_an_action_on_a_forbidden_report_fails_with_the_reason(mode_standin, tmp_path):
    mode_standin.deny_report(REPORT, 403)
    result = adapter(mode_standin, tmp_path).archive(REPORT)
    assert result.result == "failed" and "HTTP 403" in result.detail and REPORT in result.detail

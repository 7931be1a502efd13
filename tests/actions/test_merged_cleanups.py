"""Merged model-removal PRs of ours, read from GitHub for the trend charts' marks."""

from __future__ import annotations

from datetime import datetime

import pytest

from lineage_utils import stages
from lineage_utils.actions.github import GitHubApiError, GitHubClient
from lineage_utils.actions.pulls import marker, merged_cleanups
from lineage_utils.history.queries import cleanup_merges
from lineage_utils.history.recording import record_run
from lineage_utils.params import build_params
from lineage_utils.testing.github_standin import GitHubStandin

TOKEN = "not-a-real-github-token-for-tests"
REPO = "octo-org/dbt-project"
DIGEST = "0123456789abcdef01234567"


def ours(kind: str = "deletion_pr", run_id: str = "20261001T060000Z") -> str:
    return "Removes 3 orphan models.\n\n" + marker(kind, DIGEST, run_id) + "\n"


@pytest.fixture
def github():
    with GitHubStandin(REPO, TOKEN) as standin:
        standin.add_pull("metapipeline/cleanup-20261001T060000Z", title="Remove 3 orphan models", body=ours(),
                         merged_at="2026-10-05T09:00:00Z")  # #1: a cleanup
        standin.add_pull("metapipeline/cleanup-20260901T060000Z", body=ours(), state="closed",
                         updated_at="2026-10-06T00:00:00Z")  # #2: closed unmerged
        standin.add_pull("metapipeline/exposures-20261001T060000Z", body=ours("exposures_pr"),
                         merged_at="2026-10-07T00:00:00Z")  # #3: exposures, not a cleanup
        standin.add_pull("feature/copied-marker", body=ours(), merged_at="2026-10-08T00:00:00Z")  # #4: not ours
        standin.add_pull("metapipeline/cleanup-20250101T060000Z", title="Old cleanup", body=ours(),
                         merged_at="2025-01-02T00:00:00Z")  # #5: before the window
        standin.add_pull("metapipeline/cleanup-20241201T060000Z", body=ours(),
                         merged_at="2024-12-02T00:00:00Z")  # #6: on a later page, never read
        yield standin


def test_only_our_merged_cleanups_since_the_date_are_read_and_reading_stops_at_older_ones(github):
    with GitHubClient(github.api_url, REPO, TOKEN, per_page=2) as client:
        found = merged_cleanups(client, datetime(2026, 1, 1))
    assert [(m.number, m.title, m.merged_at) for m in found] == [(1, "Remove 3 orphan models",
                                                                  datetime(2026, 10, 5, 9))]
    assert found[0].url == f"https://github.com/{REPO}/pull/1"
    listed = github.requests_to("/pulls$", "GET")
    assert len(listed) == 3  # pages of 2, newest update first: #4 #3 | #2 #1 | #5 stops it; #6 unread
    assert all(r.query.get("state") == "closed" and r.query.get("sort") == "updated" for r in listed)


def test_a_merge_time_that_is_not_a_time_is_refused_naming_the_pull_request(github):
    github.pulls[1]["merged_at"] = "yesterday"
    github.pulls[1]["updated_at"] = "2026-11-30T00:00:00Z"
    with GitHubClient(github.api_url, REPO, TOKEN) as client, \
            pytest.raises(GitHubApiError, match=r"pull request #1 has merged_at 'yesterday', not an ISO 8601 time"):
        merged_cleanups(client, datetime(2026, 1, 1))


def params_for(github, tmp_path, token_env: str = "MP_TEST_GH_TOKEN"):
    return build_params({"github": {"api_url": github.api_url, "repo": REPO, "token_env": token_env},
                         "history": {"path": str(tmp_path / "history.duckdb")},
                         "staleness": {"now": "2026-11-01T00:00:00Z"}}, tmp_path)


def test_a_run_records_the_merges_once_and_the_next_run_reads_from_the_newest(github, tmp_path, monkeypatch):
    monkeypatch.setenv("MP_TEST_GH_TOKEN", TOKEN)
    params = params_for(github, tmp_path)
    for run_id in ("r1", "r2"):
        cleanups, notes = stages._merged_cleanups(params)
        assert notes == [] and [c.pull_request for c in cleanups] == ["#1"]
        record_run(params, run_id, {"models": 3}, cleanups, notes)
    stored = cleanup_merges(params.history_path)
    assert stored[["pull_request", "title"]].values.tolist() == [["#1", "Remove 3 orphan models"]]
    assert not stored["demo"].any()


def test_without_a_token_the_charts_say_so_and_the_run_goes_on(github, tmp_path, monkeypatch):
    monkeypatch.delenv("MP_TEST_GH_NONE", raising=False)
    params = params_for(github, tmp_path, "MP_TEST_GH_NONE")
    cleanups, notes = stages._merged_cleanups(params)
    assert cleanups == [] and len(notes) == 1
    assert "merged cleanup pull requests were not read" in notes[0] and "'MP_TEST_GH_NONE'" in notes[0]
    recorded = record_run(params, "r1", {"models": 3}, cleanups, notes)
    assert notes[0] in recorded.notes
    assert github.requests_to(".*") == []


def test_no_repository_means_no_call(tmp_path):
    assert stages._merged_cleanups(build_params({}, tmp_path)) == ([], [])

"""The GitHub client against the loopback stand-in: real HTTP, real retries, real paging."""

from __future__ import annotations

import logging
import time

import pytest

from lineage_utils.actions.github import API_VERSION, GitHubApiError, GitHubClient
from lineage_utils.params import build_params
from lineage_utils.testing.github_standin import GitHubStandin

TOKEN = "not-a-real-github-token-for-tests"
REPO = "octo-org/dbt-project"
BRANCH = "metapipeline/cleanup-20240101T000000Z"


@pytest.fixture
def github_standin():
    with GitHubStandin(REPO, TOKEN) as standin:
        yield standin


class Sleeps(list):
    """A ``sleep`` that records each wait and sleeps it (the stand-in's clock is real) unless ``real`` is off."""

    def __init__(self, real: bool = True):
        super().__init__()
        self.real = real

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.real:
            time.sleep(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def client(github_standin, sleeps):
    with GitHubClient(github_standin.api_url, REPO, TOKEN, backoff=0.01, backoff_max=0.05, sleep=sleeps) as client:
        yield client


def test_open_pull_creates_a_pull_request_with_githubs_headers(client, github_standin):
    pull = client.open_pull("Remove unused models", BRANCH, "main", "Removes 3 models.", draft=True)
    assert (pull.number, pull.state, pull.head_ref, pull.base_ref, pull.draft) == (1, "open", BRANCH, "main", True)
    assert pull.html_url == f"https://github.com/{REPO}/pull/1" and pull.body == "Removes 3 models."
    sent = github_standin.requests_to("/pulls$", "POST")[0]
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Accept"] == "application/vnd.github+json"
    assert sent.headers["X-GitHub-Api-Version"] == API_VERSION
    assert sent.headers["User-Agent"].startswith("metapipeline/")
    assert sent.body == {"title": "Remove unused models", "head": BRANCH, "base": "main",
                         "body": "Removes 3 models.", "draft": True}


def test_a_second_open_for_the_same_head_returns_the_existing_pull(client, github_standin):
    first = client.open_pull("Remove unused models", BRANCH, "main", "v1")
    again = client.open_pull("Remove unused models", BRANCH, "main", "v2")
    assert again.number == first.number
    assert len(github_standin.open_pulls()) == 1
    assert [r.status for r in github_standin.requests_to("/pulls$", "POST")] == [201, 422]
    lookup = github_standin.requests_to("/pulls$", "GET")[-1]
    assert lookup.query["head"] == f"octo-org:{BRANCH}" and lookup.query["state"] == "open"


def test_update_pull_changes_the_body_and_keeps_the_title(client, github_standin):
    pull = client.open_pull("Remove unused models", BRANCH, "main", "v1")
    updated = client.update_pull(pull.number, body="v2")
    assert (updated.title, updated.body) == ("Remove unused models", "v2")
    assert github_standin.pulls[pull.number]["body"] == "v2"
    assert github_standin.requests_to("/pulls/1$", "PATCH")[0].body == {"body": "v2"}


def test_comment_and_labels_land_on_the_pull(client, github_standin):
    pull = client.open_pull("Remove unused models", BRANCH, "main", "v1")
    comment = client.comment(pull.number, "Updated for run 2")
    assert comment.body == "Updated for run 2" and comment.html_url.endswith(f"#issuecomment-{comment.id}")
    assert [c["body"] for c in github_standin.comments[pull.number]] == ["Updated for run 2"]
    assert client.add_labels(pull.number, ["metapipeline", "cleanup"]) == ("metapipeline", "cleanup")
    assert client.find_open_pull(label="cleanup").number == pull.number
    assert client.find_open_pull(label="other") is None


def test_find_open_pull_follows_link_headers_across_pages(github_standin, sleeps):
    github_standin.add_pull("feature-0", labels=("metapipeline",))  # the oldest: on the last page
    for n in range(1, 7):
        github_standin.add_pull(f"feature-{n}")
    github_standin.add_pull("feature-closed", state="closed")
    client = GitHubClient(github_standin.api_url, REPO, TOKEN, per_page=3, sleep=sleeps)
    assert [p.head_ref for p in client.open_pulls()] == [f"feature-{n}" for n in reversed(range(7))]
    assert len(github_standin.requests_to("/pulls$", "GET")) == 3
    github_standin.reset_log()
    assert client.find_open_pull(label="metapipeline").head_ref == "feature-0"
    assert [r.query.get("page") for r in github_standin.log] == [None, "2", "3"]
    assert client.find_open_pull(head_branch="feature-closed") is None


def test_find_open_pull_by_head_asks_github_to_filter(client, github_standin):
    github_standin.add_pull("other")
    mine = github_standin.add_pull(BRANCH)
    assert client.find_open_pull(head_branch=BRANCH).number == mine["number"]
    assert client.find_open_pull(head_branch="absent") is None


def test_bad_credentials_fail_at_once_naming_endpoint_and_repo(github_standin, sleeps):
    client = GitHubClient(github_standin.api_url, REPO, "wrong-github-token-for-tests", sleep=sleeps)
    with pytest.raises(GitHubApiError) as caught:
        client.find_open_pull(head_branch=BRANCH)
    error = caught.value
    assert error.status == 401 and "Bad credentials" in str(error)
    assert f"GET /repos/{REPO}/pulls" in str(error) and f"repo {REPO}" in str(error)
    assert "wrong-github-token-for-tests" not in str(error)
    assert len(github_standin.log) == 1 and sleeps == []


def test_unknown_repository_404_names_endpoint_and_repo(github_standin, sleeps):
    client = GitHubClient(github_standin.api_url, "octo-org/elsewhere", TOKEN, sleep=sleeps)
    with pytest.raises(GitHubApiError) as caught:
        client.open_pull("t", BRANCH, "main", "b")
    assert caught.value.status == 404 and not caught.value.retried
    assert "POST /repos/octo-org/elsewhere/pulls" in str(caught.value) and "Not Found" in str(caught.value)
    assert len(github_standin.log) == 1


def test_5xx_is_retried_then_succeeds(client, github_standin, sleeps):
    github_standin.fail(502, times=2)
    pull = client.open_pull("t", BRANCH, "main", "b")
    assert pull.number == 1 and len(sleeps) == 2 and client.retries == 2
    assert [r.status for r in github_standin.log] == [502, 502, 201]


def test_5xx_gives_up_after_the_budget_naming_the_endpoint(github_standin, sleeps):
    github_standin.fail(503, times=10)
    client = GitHubClient(github_standin.api_url, REPO, TOKEN, max_retries=2, backoff=0.01, sleep=sleeps)
    with pytest.raises(GitHubApiError) as caught:
        client.pull(1)
    assert caught.value.retried and caught.value.status == 503
    assert "gave up after 3 attempts" in str(caught.value) and f"GET /repos/{REPO}/pulls/1" in str(caught.value)


def test_a_dropped_connection_is_retried(client, github_standin):
    github_standin.drop_connections(times=1)
    assert client.open_pull("t", BRANCH, "main", "b").number == 1
    assert [r.status for r in github_standin.log] == [0, 201]


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_limit_waits_retry_after(github_standin, status):
    github_standin.secondary_limited(times=1, retry_after="7", status=status)
    sleeps = Sleeps(real=False)  # a scripted limit: nothing to sit out on the stand-in's clock
    client = GitHubClient(github_standin.api_url, REPO, TOKEN, sleep=sleeps)
    assert client.open_pull("t", BRANCH, "main", "b").number == 1
    assert sleeps == [7.0]
    assert [r.status for r in github_standin.log] == [status, 201]


def test_the_configured_secondary_limit_is_waited_out(sleeps):
    with GitHubStandin(REPO, TOKEN, secondary_limit=1, secondary_window=1.0) as standin:
        client = GitHubClient(standin.api_url, REPO, TOKEN, sleep=sleeps)
        pull = client.open_pull("t", BRANCH, "main", "b")
        client.comment(pull.number, "hello")
    assert sleeps == [1.0] and [r.status for r in standin.log] == [201, 403, 201]


@pytest.mark.parametrize("status", [403, 429])
def test_an_exhausted_primary_limit_waits_until_the_reset(client, github_standin, sleeps, status):
    github_standin.rate_limited(times=1, status=status, reset_in=0.3)
    started = time.time()
    assert client.find_open_pull(head_branch=BRANCH) is None
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 2.5
    assert [r.status for r in github_standin.log] == [status, 200]
    assert time.time() - started >= 0.3


def test_a_rate_limit_wait_beyond_the_cap_fails_at_once(github_standin, sleeps):
    github_standin.secondary_limited(times=1, retry_after="3600")
    client = GitHubClient(github_standin.api_url, REPO, TOKEN, rate_limit_wait_max=5, sleep=sleeps)
    with pytest.raises(GitHubApiError) as caught:
        client.pull(1)
    assert caught.value.status == 403 and "exceeds the cap of 5s" in str(caught.value)
    assert sleeps == [] and len(github_standin.log) == 1


def test_a_403_without_rate_limit_is_a_permission_error(client, github_standin, sleeps):
    github_standin.fail(403, times=1)
    with pytest.raises(GitHubApiError) as caught:
        client.open_pull("t", BRANCH, "main", "b")
    assert caught.value.status == 403 and "lack permission" in str(caught.value) and sleeps == []


def test_other_validation_errors_name_githubs_messages(client, github_standin):
    with pytest.raises(GitHubApiError) as caught:
        client.open_pull("t", "main", "main", "b")
    assert caught.value.status == 422 and caught.value.errors == ("No commits between main and main",)
    assert "Validation Failed (No commits between main and main)" in str(caught.value)
    assert github_standin.requests_to("/pulls$", "GET") == []  # no lookup for an existing pull


def test_a_validation_error_without_message_names_code_and_field(github_standin, sleeps):
    github_standin.branches = {"main"}
    client = GitHubClient(github_standin.api_url, REPO, TOKEN, sleep=sleeps)
    with pytest.raises(GitHubApiError, match="code=invalid field=head resource=PullRequest"):
        client.open_pull("t", "no-such-branch", "main", "b")


def test_an_empty_2xx_body_is_retried_on_get(client, github_standin):
    github_standin.add_pull(BRANCH)
    github_standin.bad_body(b"", times=1, method="GET")
    assert client.pull(1).head_ref == BRANCH
    assert len(github_standin.requests_to("/pulls/1$", "GET")) == 2


def test_a_non_json_2xx_body_fails_a_post_without_retrying(client, github_standin):
    github_standin.bad_body(b"<html>proxy</html>", times=1, method="POST")
    with pytest.raises(GitHubApiError, match="not JSON"):
        client.open_pull("t", BRANCH, "main", "b")
    assert len(github_standin.requests_to("/pulls$", "POST")) == 1


def test_the_token_never_reaches_errors_or_logs(client, github_standin, caplog):
    caplog.set_level(logging.DEBUG)
    github_standin.echo_headers = True  # a leaky host: error bodies carry the Authorization header
    github_standin.fail(502, times=1)
    pull = client.open_pull("t", BRANCH, "main", "b")
    client.open_pull("t", BRANCH, "main", "b")
    errors = []
    for call in (lambda: client.pull(99), lambda: client.open_pull("t", "main", "main", "b")):
        with pytest.raises(GitHubApiError) as caught:
            call()
        errors.append(str(caught.value))
    github_standin.fail(403, times=1)
    with pytest.raises(GitHubApiError) as caught:
        client.update_pull(pull.number, body="x")
    errors.append(str(caught.value))
    assert all(f"Bearer {TOKEN}" in r.headers["Authorization"] for r in github_standin.log)
    assert "Bearer" in errors[-1] and "***" in errors[-1]  # the echo was there, redacted
    assert not [e for e in errors if TOKEN in e]
    assert TOKEN not in caplog.text and "GitHub API GET" in caplog.text
    assert TOKEN not in repr(client)


def test_from_params_reads_the_token_from_the_named_variable(github_standin, monkeypatch, tmp_path):
    monkeypatch.setenv("MY_GH_TOKEN", TOKEN)
    params = build_params({"github": {"api_url": github_standin.api_url, "repo": REPO, "token_env": "MY_GH_TOKEN"}},
                          tmp_path)
    with GitHubClient.from_params(params) as client:
        assert client.open_pull("t", BRANCH, "main", "b").number == 1


def test_from_params_names_a_missing_variable_not_a_value(monkeypatch, tmp_path):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    params = build_params({"github": {"repo": REPO}}, tmp_path)
    with pytest.raises(GitHubApiError, match="'GITHUB_TOKEN' \\(params key 'github.token_env'\\) is not set"):
        GitHubClient.from_params(params)


@pytest.mark.parametrize("repo", ["", "octo-org", "a/b/c", "own er/name"])
def test_a_repo_that_is_not_owner_slash_name_is_refused(repo):
    with pytest.raises(GitHubApiError, match="github.repo"):
        GitHubClient("https://api.github.com", repo, TOKEN)


def test_github_enterprise_paths_under_api_v3(sleeps):
    with GitHubStandin(REPO, TOKEN, api_prefix="/api/v3") as standin:
        for n in range(3):
            standin.add_pull(f"feature-{n}")
        client = GitHubClient(standin.api_url, REPO, TOKEN, per_page=2, sleep=sleeps)
        assert client.api_url.endswith("/api/v3")
        assert len(list(client.open_pulls())) == 3
        assert client.open_pull("t", BRANCH, "main", "b").number == 4


def test_a_next_link_to_another_host_is_not_followed(client, github_standin, monkeypatch):
    for n in range(3):
        github_standin.add_pull(f"feature-{n}")
    monkeypatch.setattr(github_standin, "api_prefix", "")
    client.per_page = 2
    original = github_standin._list_pulls

    def elsewhere(path, query):
        status, items, headers = original(path, query)
        return status, items, {"Link": '<https://evil.example/repos/x/y/pulls?page=2>; rel="next"'}

    monkeypatch.setattr(github_standin, "_list_pulls", elsewhere)
    with pytest.raises(GitHubApiError, match="leaves http://127.0.0.1"):
        list(client.open_pulls())

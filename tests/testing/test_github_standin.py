"""The GitHub stand-in serves GitHub's documented shapes over real HTTP on loopback."""

from __future__ import annotations

import time

import pytest
import requests

from lineage_utils.testing.github_standin import GitHubStandin

TOKEN = "standin-test-github-token"
REPO = "octo-org/dbt-project"


@pytest.fixture
def github_standin():
    with GitHubStandin(REPO, TOKEN) as standin:
        yield standin


def call(standin, method, path, token=TOKEN, scheme="Bearer", **kwargs):
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if token is not None:
        headers["Authorization"] = f"{scheme} {token}"
    return requests.request(method, standin.api_url + path, headers=headers, timeout=5, **kwargs)


def create(standin, head="feature", base="main", **fields):
    return call(standin, "POST", f"/repos/{REPO}/pulls", json={"title": "t", "head": head, "base": base, **fields})


def test_binds_an_ephemeral_loopback_port(github_standin):
    assert github_standin.base_url.startswith("http://127.0.0.1:") and not github_standin.base_url.endswith(":0")


def test_create_answers_201_with_a_pull_request(github_standin):
    response = create(github_standin, body="text", draft=True)
    assert response.status_code == 201
    pull = response.json()
    assert {"number", "html_url", "state", "title", "body", "head", "base", "draft", "labels"} <= set(pull)
    assert (pull["number"], pull["state"], pull["body"], pull["draft"]) == (1, "open", "text", True)
    assert pull["head"]["ref"] == "feature" and pull["head"]["label"] == "octo-org:feature"
    assert pull["base"]["ref"] == "main" and pull["html_url"] == f"https://github.com/{REPO}/pull/1"


def test_a_second_pull_for_the_same_head_is_422_already_exists(github_standin):
    create(github_standin)
    response = create(github_standin)
    assert response.status_code == 422
    body = response.json()
    assert body["message"] == "Validation Failed" and "documentation_url" in body
    assert body["errors"] == [{"resource": "PullRequest", "code": "custom",
                               "message": "A pull request already exists for octo-org:feature."}]
    assert len(github_standin.open_pulls()) == 1
    assert create(github_standin, base="develop").status_code == 201  # another base is another pull


def test_missing_fields_are_422_missing_field(github_standin):
    response = call(github_standin, "POST", f"/repos/{REPO}/pulls", json={"title": "t", "base": "main"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"resource": "PullRequest", "code": "missing_field", "field": "head"}]


@pytest.mark.parametrize(("token", "message"), [("wrong", "Bad credentials"), (None, "Requires authentication")])
def test_bad_or_missing_credentials_are_401(github_standin, token, message):
    response = call(github_standin, "GET", f"/repos/{REPO}/pulls", token=token)
    assert response.status_code == 401 and response.json()["message"] == message


def test_the_token_scheme_is_accepted_too(github_standin):
    assert call(github_standin, "GET", f"/repos/{REPO}/pulls", scheme="token").status_code == 200


@pytest.mark.parametrize("path", ["/repos/octo-org/other/pulls", f"/repos/{REPO}/pulls/42", "/nothing"])
def test_unknown_repositories_numbers_and_paths_are_404(github_standin, path):
    response = call(github_standin, "GET", path)
    assert response.status_code == 404 and response.json()["message"] == "Not Found"


def test_patch_updates_and_comments_and_labels_are_kept(github_standin):
    number = create(github_standin).json()["number"]
    patched = call(github_standin, "PATCH", f"/repos/{REPO}/pulls/{number}", json={"body": "new"})
    assert patched.status_code == 200 and patched.json()["body"] == "new"
    comment = call(github_standin, "POST", f"/repos/{REPO}/issues/{number}/comments", json={"body": "hi"})
    assert comment.status_code == 201 and comment.json()["body"] == "hi"
    assert [c["body"] for c in call(github_standin, "GET", f"/repos/{REPO}/issues/{number}/comments").json()] == ["hi"]
    labels = call(github_standin, "POST", f"/repos/{REPO}/issues/{number}/labels", json={"labels": ["a", "b"]})
    assert [label["name"] for label in labels.json()] == ["a", "b"]


def test_listing_is_paged_with_link_headers(github_standin):
    for n in range(5):
        github_standin.add_pull(f"f{n}")
    first = call(github_standin, "GET", f"/repos/{REPO}/pulls", params={"per_page": 2})
    assert [p["head"]["ref"] for p in first.json()] == ["f4", "f3"]  # newest first
    assert set(first.links) == {"next", "last"} and "page=3" in first.links["last"]["url"]
    second = requests.get(first.links["next"]["url"], headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert set(second.links) == {"next", "last", "first", "prev"}
    third = requests.get(second.links["next"]["url"], headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert [p["head"]["ref"] for p in third.json()] == ["f0"] and "next" not in third.links


def test_listing_filters_by_state_and_head(github_standin):
    github_standin.add_pull("a")
    github_standin.add_pull("b", state="closed")
    heads = lambda **q: [p["head"]["ref"] for p in call(github_standin, "GET", f"/repos/{REPO}/pulls", params=q).json()]
    assert heads() == ["a"] and heads(state="closed") == ["b"] and heads(state="all") == ["b", "a"]
    assert heads(head="octo-org:a") == ["a"] and heads(head="someone:a") == []


def test_every_response_carries_rate_limit_headers(github_standin):
    first = call(github_standin, "GET", f"/repos/{REPO}/pulls")
    second = call(github_standin, "GET", f"/repos/{REPO}/pulls")
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Used"):
        assert name in first.headers
    assert int(first.headers["X-RateLimit-Remaining"]) - int(second.headers["X-RateLimit-Remaining"]) == 1
    assert int(second.headers["X-RateLimit-Reset"]) > time.time()


def test_past_the_primary_limit_requests_get_403_with_remaining_zero():
    with GitHubStandin(REPO, TOKEN, rate_limit=2, rate_window=1.0) as standin:
        statuses = [call(standin, "GET", f"/repos/{REPO}/pulls").status_code for _ in range(3)]
        limited = call(standin, "GET", f"/repos/{REPO}/pulls")
        assert statuses == [200, 200, 403] and limited.headers["X-RateLimit-Remaining"] == "0"
        assert "rate limit exceeded" in limited.json()["message"]
        time.sleep(1.1)
        assert call(standin, "GET", f"/repos/{REPO}/pulls").status_code == 200


def test_past_the_secondary_limit_content_requests_get_403_with_retry_after():
    with GitHubStandin(REPO, TOKEN, secondary_limit=1, secondary_window=30) as standin:
        assert create(standin, head="a").status_code == 201
        limited = create(standin, head="b")
        assert limited.status_code == 403 and int(limited.headers["Retry-After"]) >= 29
        assert "secondary rate limit" in limited.json()["message"]
        assert call(standin, "GET", f"/repos/{REPO}/pulls").status_code == 200  # reads are not content


def test_scripted_faults_take_the_next_requests(github_standin):
    github_standin.fail(503, times=2)
    github_standin.secondary_limited(times=1, retry_after="7", status=429)
    statuses = [call(github_standin, "GET", f"/repos/{REPO}/pulls") for _ in range(4)]
    assert [r.status_code for r in statuses] == [503, 503, 429, 200] and statuses[2].headers["Retry-After"] == "7"
    github_standin.rate_limited(times=1, reset_in=30)
    limited = call(github_standin, "GET", f"/repos/{REPO}/pulls")
    assert limited.status_code == 403 and limited.headers["X-RateLimit-Remaining"] == "0"
    assert 28 <= int(limited.headers["X-RateLimit-Reset"]) - time.time() <= 31


def test_a_dropped_connection_gets_no_response(github_standin):
    github_standin.drop_connections(times=1)
    with pytest.raises(requests.ConnectionError):
        call(github_standin, "GET", f"/repos/{REPO}/pulls")
    assert call(github_standin, "GET", f"/repos/{REPO}/pulls").status_code == 200
    assert [r.status for r in github_standin.log] == [0, 200]


def test_a_bad_body_is_served_after_the_change(github_standin):
    github_standin.bad_body(b"<html>", method="POST")
    response = create(github_standin)
    assert (response.status_code, response.content) == (201, b"<html>") and len(github_standin.pulls) == 1


def test_the_log_keeps_headers_and_bodies(github_standin):
    create(github_standin, body="text")
    logged = github_standin.log[0]
    assert (logged.method, logged.path, logged.status) == ("POST", f"/repos/{REPO}/pulls", 201)
    assert logged.headers["Authorization"] == f"Bearer {TOKEN}" and logged.body["body"] == "text"


def test_echo_headers_leaks_the_authorization_into_error_messages(github_standin):
    github_standin.echo_headers = True
    response = call(github_standin, "GET", f"/repos/{REPO}/pulls/9")
    assert f"Bearer {TOKEN}" in response.json()["message"]


def test_github_enterprise_serves_under_api_v3():
    with GitHubStandin(REPO, TOKEN, api_prefix="/api/v3") as standin:
        assert standin.api_url.endswith("/api/v3")
        assert create(standin).status_code == 201
        outside = requests.get(f"{standin.base_url}/repos/{REPO}/pulls", headers={"Authorization": f"Bearer {TOKEN}"},
                               timeout=5)
        assert outside.status_code == 404

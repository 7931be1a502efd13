"""The GitHub REST API client: pull requests, their comments and labels, through one choke point.

Follows GitHub's REST docs (API version 2022-11-28). Everything that touches the network
goes through ``GitHubClient._request``: the session with GitHub's headers (``Accept:
application/vnd.github+json``, ``Authorization: Bearer``, ``X-GitHub-Api-Version``, a
User-Agent), a timeout on every call, retries and waits (tenacity, the retry policy of
:mod:`lineage_utils.bi.mode.retry`), Link-header paging, and the mapping of failures to
``GitHubApiError`` naming the endpoint and the repository -- never the token
(:mod:`lineage_utils.redact`).

* 401 (bad credentials), 403 without a rate limit (no permission), 404 and other 4xx
  fail at once; 422 names GitHub's ``errors[]`` (``open_pull`` turns "A pull request
  already exists" into the existing pull request);
* rate limits as GitHub documents them: a 403 or 429 with ``Retry-After`` (secondary
  limit) waits that long; with ``X-RateLimit-Remaining: 0`` (primary limit) waits until
  ``X-RateLimit-Reset``; a 403 or 429 naming a secondary limit without either header
  waits a minute; a 429 without headers backs off. A wait longer than
  ``rate_limit_wait_max`` is not sat out: the call fails at once naming the wait;
* 5xx, dropped or cut connections and timeouts are retried with exponential backoff and
  jitter; so is a GET whose 2xx body is empty or not JSON (a POST or PATCH with such a
  body fails: its effect is unknown, retrying it could act twice).

Every attempt is logged at DEBUG (method, path, status, time): no headers, no token.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import urlsplit

import requests
import tenacity
from requests.adapters import HTTPAdapter

from lineage_utils import __version__
from lineage_utils.bi.mode.client import DROPPED
from lineage_utils.bi.mode.retry import Retryable, RetryBudget, backoff_seconds, retry_after_seconds
from lineage_utils.errors import MetapipelineError
from lineage_utils.params import Params
from lineage_utils.redact import redact, redact_body

__all__ = ["API_VERSION", "Comment", "GitHubApiError", "GitHubClient", "PullRequest"]

logger = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
USER_AGENT = f"metapipeline/{__version__} (lineage_utils)"
SECONDARY_WAIT = 60.0
"""GitHub: a secondary limit without ``Retry-After`` -> "wait for at least one minute"."""
RESET_MARGIN = 0.25
"""Seconds waited past ``X-RateLimit-Reset`` (whole seconds on the wire)."""
HINTS = {401: "the token in the environment is wrong, expired or revoked",
         403: "the token may lack permission (fine-grained: Pull requests read/write; classic: repo)",
         404: "no such repository or pull request, or the token may not see it"}
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class GitHubApiError(MetapipelineError):
    """The GitHub API failed; names the endpoint and the repository, never the token.

    ``status`` is the HTTP status (None for a connection failure), ``endpoint`` the
    method and path, ``repo`` owner/name, ``errors`` GitHub's validation messages (422),
    ``retried`` whether it was given up after retries.
    """

    def __init__(self, message: str, *, status: int | None = None, endpoint: str = "", repo: str = "",
                 errors: tuple[str, ...] = (), retried: bool = False):
        super().__init__(message)
        self.status, self.endpoint, self.repo, self.errors, self.retried = status, endpoint, repo, errors, retried


@dataclass(frozen=True)
class PullRequest:
    """A pull request as GitHub shows it (the fields we use)."""

    number: int
    html_url: str
    state: str
    title: str
    body: str
    head_ref: str
    head_label: str
    base_ref: str
    draft: bool = False
    labels: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> PullRequest:
        head, base = data.get("head") or {}, data.get("base") or {}
        return cls(number=int(data["number"]), html_url=str(data.get("html_url") or ""),
                   state=str(data.get("state") or ""), title=str(data.get("title") or ""),
                   body=str(data.get("body") or ""), head_ref=str(head.get("ref") or ""),
                   head_label=str(head.get("label") or ""), base_ref=str(base.get("ref") or ""),
                   draft=bool(data.get("draft")),
                   labels=tuple(str(label.get("name")) for label in data.get("labels") or ()
                                if isinstance(label, Mapping)))


@dataclass(frozen=True)
class Comment:
    """An issue (pull request) comment."""

    id: int
    html_url: str
    body: str


class _Failure(Retryable):
    """A failed attempt worth another; ``limited`` ones (rate limits, 403 too) draw on their own budget."""

    def __init__(self, reason: str, status: int | None, retry_after: float | None = None, *, limited: bool = False):
        super().__init__(reason, status, retry_after)
        self.limited = limited

    @property
    def rate_limited(self) -> bool:
        return self.limited


def validation_messages(document: Any) -> tuple[str, ...]:
    """GitHub's 422 ``errors[]`` as text: each error's ``message``, else its code, field and resource."""
    errors = document.get("errors") if isinstance(document, Mapping) else None
    messages = []
    for item in errors if isinstance(errors, list) else ():
        if isinstance(item, Mapping) and item.get("message"):
            messages.append(str(item["message"]))
        elif isinstance(item, Mapping):
            messages.append(" ".join(f"{k}={item[k]}" for k in ("code", "field", "resource") if item.get(k)))
        elif isinstance(item, str):
            messages.append(item)
    return tuple(m for m in messages if m)


class GitHubClient:
    """One repository on GitHub (or GitHub Enterprise: ``https://<host>/api/v3``) over HTTP.

    ``backoff`` is the first retry's wait (doubled per retry plus jitter, capped at
    ``backoff_max``); ``max_retries`` bounds retries of 5xx and dropped connections,
    ``max_retries_rate_limited`` those of rate limits, each wait at most
    ``rate_limit_wait_max`` seconds. ``sleep`` is how waits are slept (tests record them).
    """

    def __init__(self, api_url: str, repo: str, token: str, *, timeout: float = 30.0, max_retries: int = 4,
                 max_retries_rate_limited: int = 4, backoff: float = 0.5, backoff_max: float = 30.0,
                 rate_limit_wait_max: float = 120.0, per_page: int = 100, max_pages: int = 1000,
                 sleep: Callable[[float], None] = time.sleep):
        parts = urlsplit(api_url or "")
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise GitHubApiError(f"GitHub API URL {api_url!r} is not an http(s) URL (params key 'github.api_url')")
        if not _REPO.match(repo or ""):
            raise GitHubApiError(f"GitHub repository {repo!r} is not owner/name (params key 'github.repo')",
                                 repo=repo or "")
        if not token:
            raise GitHubApiError(f"GitHub token for {repo} is empty", repo=repo)
        self.api_url = api_url.rstrip("/")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.repo = repo
        self.owner = repo.split("/", 1)[0]
        self.timeout, self.per_page, self.max_pages = float(timeout), int(per_page), int(max_pages)
        self.max_retries, self.max_retries_rate_limited = int(max_retries), int(max_retries_rate_limited)
        self.backoff, self.backoff_max = float(backoff), float(backoff_max)
        self.rate_limit_wait_max = float(rate_limit_wait_max)
        self._sleep = sleep
        self._secrets = (token,)
        self._session = requests.Session()
        self._session.trust_env = False  # no proxies or .netrc: the token goes to api_url only
        self._session.headers.update({"Accept": "application/vnd.github+json", "Authorization": f"Bearer {token}",
                                      "X-GitHub-Api-Version": API_VERSION, "User-Agent": USER_AGENT})
        adapter = HTTPAdapter(max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self.requests_made = 0
        self.retries = 0

    @classmethod
    def from_params(cls, params: Params, **options: Any) -> GitHubClient:
        """A client for ``github.repo`` at ``github.api_url``, the token from the variable ``github.token_env``."""
        name = params["github.token_env"]
        token = os.environ.get(name, "") if name else ""
        if not token:
            raise GitHubApiError(f"environment variable {name!r} (params key 'github.token_env') is not set: "
                                 f"the GitHub API needs a token to open pull requests on {params['github.repo']!r}",
                                 repo=str(params["github.repo"] or ""))
        return cls(params["github.api_url"], params["github.repo"], token, **options)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._session.close()

    def __repr__(self) -> str:  # never show the token
        return f"GitHubClient(api_url={self.api_url!r}, repo={self.repo!r})"

    # -- the choke point ------------------------------------------------------------------
    def _url(self, path_or_url: str) -> str:
        if "://" not in path_or_url:
            return self.api_url + path_or_url
        if not path_or_url.startswith(self.origin + "/"):
            raise GitHubApiError(f"GitHub API link {redact(path_or_url, self._secrets)!r} leaves {self.origin}: "
                                 "not followed", repo=self.repo)
        return path_or_url

    def _request(self, method: str, path_or_url: str, *, params: Mapping[str, Any] | None = None,
                 json_body: Any = None) -> requests.Response:
        """One API call with auth, timeout and retries -> the response (2xx, JSON checked); else GitHubApiError."""
        url = self._url(path_or_url)
        endpoint = f"{method} {urlsplit(url).path}"
        budget = RetryBudget(self.max_retries, self.max_retries_rate_limited)

        def fail(message: str, status: int | None, errors: tuple[str, ...] = ()) -> GitHubApiError:
            return GitHubApiError(f"GitHub API {endpoint} (repo {self.repo}): {message}", status=status,
                                  endpoint=endpoint, repo=self.repo, errors=errors)

        def attempt() -> requests.Response:
            self.requests_made += 1
            started = time.monotonic()
            try:
                response = self._session.request(method, url, params=params, json=json_body, timeout=self.timeout)
            except DROPPED as exc:
                logger.debug("GitHub API %s -> %s", endpoint, type(exc).__name__)
                failure = _Failure(f"{type(exc).__name__}: {redact_body(str(exc), self._secrets)}", None)
                budget.spend(failure)
                raise failure from None
            status = response.status_code
            logger.debug("GitHub API %s -> %d (%.3fs)", endpoint, status, time.monotonic() - started)
            failure = self._classify(response, method)
            if failure is None:
                return response
            if isinstance(failure, GitHubApiError):
                raise fail(str(failure), status, failure.errors)
            budget.spend(failure)
            if failure.retry_after is not None and failure.retry_after > self.rate_limit_wait_max:
                raise fail(f"{failure.reason}; waiting {failure.retry_after:.0f}s exceeds the cap of "
                           f"{self.rate_limit_wait_max:.0f}s: try again later", status)
            raise failure

        def wait(state: tenacity.RetryCallState) -> float:
            failure = state.outcome.exception() if state.outcome else None
            if isinstance(failure, Retryable) and failure.retry_after is not None:
                return failure.retry_after
            return backoff_seconds(budget.used_for(failure if isinstance(failure, Retryable) else None),
                                   self.backoff, self.backoff_max)

        def log_retry(state: tenacity.RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome else None
            self.retries += 1
            logger.warning("GitHub API %s (repo %s): %s; retry %d of %d%s in %.2fs", endpoint, self.repo,
                           getattr(failure, "reason", failure), budget.used_for(failure), budget.limit_for(failure),
                           " (rate limited)" if getattr(failure, "rate_limited", False) else "", state.upcoming_sleep)

        retrying = tenacity.Retrying(retry=tenacity.retry_if_exception_type(_Failure),
                                     stop=lambda state: budget.exhausted(), wait=wait, before_sleep=log_retry,
                                     sleep=self._sleep, reraise=True)
        try:
            return retrying(attempt)
        except _Failure as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            error = fail(f"gave up after {attempts} attempts; last: {exc.reason}", exc.status)
            error.retried = attempts > 1
            raise error from None

    def _classify(self, response: requests.Response, method: str) -> _Failure | GitHubApiError | None:
        """None for a usable 2xx; a ``_Failure`` to retry; a ``GitHubApiError`` (message only) to raise."""
        status, headers = response.status_code, response.headers
        if 200 <= status < 300:
            return self._check_body(response, method)
        document = _json_or_none(response.content)
        message = str(document.get("message") or "") if isinstance(document, dict) else ""
        text = redact_body(message or response.text, self._secrets)
        if status in (403, 429):
            remaining, reset = headers.get("X-RateLimit-Remaining"), headers.get("X-RateLimit-Reset")
            retry_after = retry_after_seconds(headers.get("Retry-After"))
            if retry_after is not None:
                return _Failure(f"HTTP {status} rate limited (Retry-After {retry_after:g}s): {text}", status,
                                retry_after, limited=True)
            if remaining == "0" and reset and reset.strip().isdigit():
                wait = max(0.0, int(reset) - time.time()) + RESET_MARGIN
                return _Failure(f"HTTP {status} rate limit exhausted until X-RateLimit-Reset {reset}: {text}",
                                status, wait, limited=True)
            if "secondary rate limit" in message.lower():
                return _Failure(f"HTTP {status} secondary rate limit: {text}", status, SECONDARY_WAIT, limited=True)
            if status == 429:
                return _Failure(f"HTTP 429: {text}", status, limited=True)
        if status >= 500:
            return _Failure(f"HTTP {status}: {text}", status)
        errors = tuple(redact_body(m, self._secrets) for m in validation_messages(document))
        detail = f" ({'; '.join(errors)})" if errors else ""
        hint = f": {HINTS[status]}" if status in HINTS else ""
        return GitHubApiError(f"HTTP {status} {text or response.reason}{detail}{hint}", errors=errors)

    def _check_body(self, response: requests.Response, method: str) -> _Failure | GitHubApiError | None:
        body = response.content
        if response.status_code == 204 or _json_or_none(body) is not None:
            return None
        sample = redact_body(body.decode("utf-8", "replace"), self._secrets, 80)
        reason = f"HTTP {response.status_code} with " + (f"a body that is not JSON ({len(body)} bytes: {sample})"
                                                         if body.strip() else "an empty body")
        return _Failure(reason, response.status_code) if method == "GET" else GitHubApiError(reason)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return json.loads(self._request(method, path, **kwargs).content)

    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """Every item of a listing (a JSON array per page), following ``Link: <...>; rel="next"``."""
        url: str | None = path
        query: Mapping[str, Any] | None = {"per_page": self.per_page, **(params or {})}
        seen: set[str] = set()
        for _ in range(self.max_pages):
            response = self._request("GET", url, params=query)  # type: ignore[arg-type]
            page = json.loads(response.content)
            if not isinstance(page, list):
                raise GitHubApiError(f"GitHub API GET {urlsplit(response.url).path} (repo {self.repo}): a listing "
                                     f"page is a JSON {type(page).__name__}, not an array", repo=self.repo)
            yield from page
            url = response.links.get("next", {}).get("url")
            if not url:
                return
            if url in seen:
                raise GitHubApiError(f"GitHub API listing {path} (repo {self.repo}): the next link repeats a "
                                     "page already read", repo=self.repo)
            seen.add(url)
            query = None  # the next link carries the query
        raise GitHubApiError(f"GitHub API listing {path} (repo {self.repo}): more than {self.max_pages} pages",
                             repo=self.repo)

    # -- one method per endpoint ---------------------------------------------------------------
    def _repo_path(self, rest: str) -> str:
        return f"/repos/{self.repo}/{rest}"

    def _head(self, branch: str) -> str:
        return branch if ":" in branch else f"{self.owner}:{branch}"

    def open_pulls(self, head_branch: str | None = None) -> Iterator[PullRequest]:
        """``GET /repos/{o}/{r}/pulls?state=open`` (``head=owner:branch`` when given), every page."""
        params = {"state": "open", **({"head": self._head(head_branch)} if head_branch else {})}
        for item in self.paginate(self._repo_path("pulls"), params):
            yield PullRequest.from_api(item)

    def find_open_pull(self, head_branch: str | None = None, label: str | None = None) -> PullRequest | None:
        """The first open pull request (GitHub's order: newest first) from ``head_branch`` and/or with ``label``."""
        for pull in self.open_pulls(head_branch):
            if label is None or label in pull.labels:
                return pull
        return None

    def pull(self, number: int) -> PullRequest:
        """``GET /repos/{o}/{r}/pulls/{number}``."""
        return PullRequest.from_api(self._json("GET", self._repo_path(f"pulls/{int(number)}")))

    def open_pull(self, title: str, head: str, base: str, body: str, draft: bool = False) -> PullRequest:
        """``POST /repos/{o}/{r}/pulls``; when one is already open from ``head``, that one (nothing new opened)."""
        try:
            data = self._json("POST", self._repo_path("pulls"),
                              json_body={"title": title, "head": head, "base": base, "body": body, "draft": draft})
        except GitHubApiError as exc:
            if exc.status != 422 or not any("already exists" in m.lower() for m in exc.errors):
                raise
            existing = self.find_open_pull(head_branch=head)
            if existing is None:
                raise
            logger.info("GitHub: pull request #%d is already open from %s on %s", existing.number, head, self.repo)
            return existing
        return PullRequest.from_api(data)

    def update_pull(self, number: int, title: str | None = None, body: str | None = None) -> PullRequest:
        """``PATCH /repos/{o}/{r}/pulls/{number}``: the title and/or body given."""
        fields = {k: v for k, v in (("title", title), ("body", body)) if v is not None}
        return PullRequest.from_api(self._json("PATCH", self._repo_path(f"pulls/{int(number)}"), json_body=fields))

    def comment(self, number: int, body: str) -> Comment:
        """``POST /repos/{o}/{r}/issues/{number}/comments``."""
        data = self._json("POST", self._repo_path(f"issues/{int(number)}/comments"), json_body={"body": body})
        return Comment(id=int(data["id"]), html_url=str(data.get("html_url") or ""), body=str(data.get("body") or ""))

    def add_labels(self, number: int, labels: list[str] | tuple[str, ...]) -> tuple[str, ...]:
        """``POST /repos/{o}/{r}/issues/{number}/labels``: the issue's labels afterwards."""
        data = self._json("POST", self._repo_path(f"issues/{int(number)}/labels"), json_body={"labels": list(labels)})
        return tuple(str(item.get("name")) for item in data if isinstance(item, Mapping))


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body.strip() else None
    except ValueError:
        return None

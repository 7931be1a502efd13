"""A local stand-in for the GitHub REST API (pull requests), over real HTTP on loopback.

Built from GitHub's REST documentation (API version 2022-11-28), not from what the
client expects:

* ``GET /repos/{o}/{r}/pulls`` (``state`` open|closed|all, ``head=owner:branch``,
  ``base``, ``sort`` created|updated (``direction``: by default descending for created,
  ascending otherwise), ``per_page`` (default 30, at most 100), ``page``) with a ``Link`` header
  (``rel="next"``, ``"last"``, ``"first"``, ``"prev"``) as GitHub sends it;
* ``POST /repos/{o}/{r}/pulls`` -> 201 with the pull request; 422 ``Validation Failed``
  with ``errors[]`` when a pull request is already open for the head and base
  (``"A pull request already exists for owner:branch."``), a field is missing, the head
  is not a known branch (when ``branches`` is set) or head equals base;
* ``GET``/``PATCH /repos/{o}/{r}/pulls/{n}`` (title, body, state, base);
* ``GET``/``POST /repos/{o}/{r}/issues/{n}/comments`` (201) and ``POST .../labels``
  (200 with the issue's labels); issues and pulls share numbers, as on GitHub;
* ``GET /rate_limit``; 401 ``Bad credentials`` (``Requires authentication`` without a
  token); 404 ``Not Found`` for another repository, unknown numbers and paths;
* rate limits: every response carries ``X-RateLimit-Limit/Remaining/Reset/Used``; past
  ``rate_limit`` requests per ``rate_window`` seconds a request gets 403 (or
  ``primary_status``) with ``X-RateLimit-Remaining: 0``; past ``secondary_limit``
  content-creating requests (POST, PATCH, PUT, DELETE) per ``secondary_window``
  seconds, 403 "You have exceeded a secondary rate limit" with ``Retry-After``.

``api_prefix="/api/v3"`` serves the paths as GitHub Enterprise Server does. Faults are
scripted per test (``fail``, ``rate_limited``, ``secondary_limited``,
``drop_connections``, ``bad_body``); ``pulls``, ``comments`` and ``log`` (with each
request's headers and JSON body) are there to inspect.
"""

from __future__ import annotations

import copy
import math
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from lineage_utils.testing.loopback import LoopbackServer
from lineage_utils.testing.github_http import DOCS, GitHubHandler, LoggedRequest, error

__all__ = ["GitHubStandin", "LoggedRequest"]

SECONDARY_MESSAGE = ("You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
                     "If you reach out to GitHub Support for help, please include the request ID.")
RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
_CONTENT = frozenset({"POST", "PATCH", "PUT", "DELETE"})


@dataclass
class _Fault:
    kind: str  # "status", "primary", "secondary", "drop", "body"
    pattern: re.Pattern[str]
    method: str | None
    remaining: int
    status: int = 502
    retry_after: str | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    reset_in: float = 1.0


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class GitHubStandin(LoopbackServer):
    """A GitHub API stand-in on 127.0.0.1, port 0, for one repository; a context manager.

    ``api_url`` is what a client is given (``base_url`` plus ``api_prefix``).
    """

    handler_class = GitHubHandler
    thread_name = "github-standin"

    def __init__(self, repo: str = "octo-org/dbt-project", token: str = "standin-github-token", *,
                 api_prefix: str = "", default_branch: str = "main", branches: set[str] | None = None,
                 rate_limit: int = 5000, rate_window: float = 3600.0, primary_status: int = 403,
                 secondary_limit: int | None = None, secondary_window: float = 60.0, login: str = "metapipeline-bot"):
        self.repo, self.token, self.login = repo, token, login
        self.owner = repo.split("/", 1)[0]
        self.api_prefix = api_prefix.rstrip("/")
        self.default_branch, self.branches = default_branch, branches
        self.rate_limit, self.rate_window, self.primary_status = rate_limit, rate_window, primary_status
        self.secondary_limit, self.secondary_window = secondary_limit, secondary_window
        self.pulls: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.log: list[LoggedRequest] = []
        self.echo_headers = False  # error bodies echo the request headers, the token included
        self._next_number = 1
        self._next_id = 1000
        self._window_start, self._used = time.time(), 0
        self._content: list[float] = []  # times of recent content-creating requests
        self._faults: list[_Fault] = []
        self._lock = threading.RLock()

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return self.base_url + self.api_prefix

    # -- state for tests ------------------------------------------------------------------
    def add_pull(self, head: str, base: str | None = None, title: str = "", body: str = "", *,
                 state: str = "open", labels: tuple[str, ...] = (), merged_at: str | None = None,
                 updated_at: str | None = None) -> dict[str, Any]:
        """A pull request made outside the client (another run, a person); ``merged_at``: merged then (closed)."""
        with self._lock:
            pull = self._new_pull({"title": title or f"Change {head}", "head": head, "body": body,
                                   "base": base or self.default_branch})
            pull["state"] = "closed" if merged_at else state
            if merged_at:
                pull.update(merged=True, merged_at=merged_at, closed_at=merged_at, updated_at=merged_at)
            if updated_at:
                pull["updated_at"] = updated_at
            pull["labels"] = [self._label(name) for name in labels]
            return copy.deepcopy(pull)

    def open_pulls(self) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(p) for p in self.pulls.values() if p["state"] == "open"]

    def requests_to(self, path_pattern: str = ".*", method: str | None = None) -> list[LoggedRequest]:
        pattern = re.compile(path_pattern)
        with self._lock:
            return [r for r in self.log if pattern.search(r.path) and method in (None, r.method)]

    def reset_log(self) -> None:
        with self._lock:
            self.log.clear()

    def _record(self, request: LoggedRequest) -> None:
        with self._lock:
            self.log.append(request)

    # -- scripted faults --------------------------------------------------------------------
    def _add(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def fail(self, status: int = 502, times: int = 1, path_pattern: str = ".*", method: str | None = None,
             retry_after: str | None = None) -> None:
        """The next ``times`` matching requests get ``status`` (with ``Retry-After`` when given)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self._add(_Fault("status", re.compile(path_pattern), method, times, status, headers=headers))

    def rate_limited(self, times: int = 1, status: int = 403, reset_in: float = 1.0, path_pattern: str = ".*",
                     method: str | None = None) -> None:
        """The next ``times`` matching requests find the primary limit used up, resetting ``reset_in`` seconds later."""
        self._add(_Fault("primary", re.compile(path_pattern), method, times, status, reset_in=reset_in))

    def secondary_limited(self, times: int = 1, retry_after: str | None = "1", status: int = 403,
                          path_pattern: str = ".*", method: str | None = None) -> None:
        """The next ``times`` requests hit a secondary limit (403 or 429, ``Retry-After`` unless None)."""
        self._add(_Fault("secondary", re.compile(path_pattern), method, times, status, retry_after))

    def drop_connections(self, times: int = 1, path_pattern: str = ".*", method: str | None = None) -> None:
        """The next ``times`` matching requests get no response: the connection is closed."""
        self._add(_Fault("drop", re.compile(path_pattern), method, times))

    def bad_body(self, body: bytes = b"", times: int = 1, path_pattern: str = ".*",
                 method: str | None = None) -> None:
        """The next ``times`` matching requests are served (state changes) but answer ``body`` instead."""
        self._add(_Fault("body", re.compile(path_pattern), method, times, body=body))

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.method in (None, method) and fault.pattern.search(path):
                    fault.remaining -= 1
                    return fault
        return None

    # -- rate limits --------------------------------------------------------------------------
    def _roll_window(self) -> None:
        now = time.time()
        if now >= self._window_start + self.rate_window:
            self._window_start, self._used = now, 0

    def _rate_headers(self) -> dict[str, str]:
        with self._lock:
            self._roll_window()
            return {"X-RateLimit-Limit": str(self.rate_limit),
                    "X-RateLimit-Remaining": str(max(0, self.rate_limit - self._used)),
                    "X-RateLimit-Reset": str(math.ceil(self._window_start + self.rate_window)),
                    "X-RateLimit-Used": str(self._used), "X-RateLimit-Resource": "core"}

    def _primary_exhausted(self, status: int, reset_in: float | None = None) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            if reset_in is not None:  # a scripted fault: the window ends reset_in seconds from now
                self._window_start = time.time() + reset_in - self.rate_window
            self._used = max(self._used, self.rate_limit)
            status_body = error(status, "API rate limit exceeded for user ID 1.", RATE_DOCS)
            return (*status_body, {})

    def _secondary_limited(self, status: int, retry_after: str | None) -> tuple[int, Any, dict[str, str]]:
        status_body = error(status, SECONDARY_MESSAGE, RATE_DOCS + "#about-secondary-rate-limits")
        return (*status_body, {"Retry-After": retry_after} if retry_after is not None else {})

    def _rate_limit(self, method: str) -> tuple[int, Any, dict[str, str]] | None:
        """Counts a request; a 403/429 answer when a limit is passed, else None."""
        with self._lock:
            self._roll_window()
            if self._used >= self.rate_limit:
                return self._primary_exhausted(self.primary_status)
            self._used += 1
            if method in _CONTENT and self.secondary_limit is not None:
                now = time.monotonic()
                self._content = [t for t in self._content if now - t < self.secondary_window]
                if len(self._content) >= self.secondary_limit:
                    wait = self.secondary_window - (now - self._content[0])
                    return self._secondary_limited(403, str(max(1, math.ceil(wait))))
                self._content.append(now)
        return None

    # -- the documented answers ----------------------------------------------------------------
    def _label(self, name: str) -> dict[str, Any]:
        self._next_id += 1
        return {"id": self._next_id, "name": name, "color": "ededed", "default": False, "description": None}

    def _branch(self, ref: str) -> dict[str, Any]:
        owner, _, branch = ref.rpartition(":")
        owner = owner or self.owner
        return {"label": f"{owner}:{branch}", "ref": branch, "sha": "0" * 40,
                "user": {"login": owner}, "repo": {"full_name": f"{owner}/{self.repo.split('/', 1)[1]}"}}

    def _new_pull(self, fields: dict[str, Any]) -> dict[str, Any]:
        number, self._next_number = self._next_number, self._next_number + 1
        self._next_id += 1
        url = f"{self.api_url if self._server else ''}/repos/{self.repo}/pulls/{number}"
        pull = {"url": url, "id": self._next_id, "node_id": f"PR_standin{self._next_id}",
                "html_url": f"https://github.com/{self.repo}/pull/{number}", "number": number, "state": "open",
                "locked": False, "title": fields["title"], "body": fields.get("body"), "user": {"login": self.login},
                "labels": [], "draft": bool(fields.get("draft", False)), "merged": False,
                "created_at": _now(), "updated_at": _now(), "closed_at": None, "merged_at": None,
                "head": self._branch(fields["head"]), "base": self._branch(fields["base"])}
        self.pulls[number] = pull
        self.comments[number] = []
        return pull

    def _validation(self, *errors: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        return (*error(422, "Validation Failed", DOCS + "/pulls/pulls#create-a-pull-request", errors=list(errors)), {})

    def _create_pull(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        body = body if isinstance(body, dict) else {}
        for name in ("head", "base"):
            if not body.get(name):
                return self._validation({"resource": "PullRequest", "code": "missing_field", "field": name})
        if not body.get("title") and not body.get("issue"):
            return self._validation({"resource": "PullRequest", "code": "missing_field", "field": "title"})
        head = self._branch(str(body["head"]))
        if self.branches is not None and head["ref"] not in self.branches:
            return self._validation({"resource": "PullRequest", "code": "invalid", "field": "head"})
        if head["ref"] == body["base"]:
            return self._validation({"resource": "PullRequest", "code": "custom",
                                     "message": f"No commits between {body['base']} and {head['ref']}"})
        for pull in self.pulls.values():
            if pull["state"] == "open" and pull["head"]["label"] == head["label"] \
                    and pull["base"]["ref"] == body["base"]:
                return self._validation({"resource": "PullRequest", "code": "custom",
                                         "message": f"A pull request already exists for {head['label']}."})
        return 201, copy.deepcopy(self._new_pull(body)), {}

    def _list_pulls(self, path: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        state = query.get("state", "open")
        if state not in ("open", "closed", "all"):
            return self._validation({"resource": "PullRequest", "code": "invalid", "field": "state"})
        head = query.get("head")
        order = query.get("sort", "created")
        if order not in ("created", "updated", "popularity", "long-running"):
            return self._validation({"resource": "PullRequest", "code": "invalid", "field": "sort"})
        key = (lambda p: (p["updated_at"], p["number"])) if order == "updated" else (lambda p: p["number"])
        pulls = sorted((p for p in self.pulls.values() if state == "all" or p["state"] == state), key=key,
                       reverse=query.get("direction", "desc" if order == "created" else "asc") == "desc")
        head = head if not head or ":" in head else f"{self.owner}:{head}"
        pulls = [p for p in pulls if (not head or p["head"]["label"] == head)
                 and (not query.get("base") or p["base"]["ref"] == query["base"])]
        per_page = min(100, max(1, _int(query.get("per_page"), 30)))
        page = max(1, _int(query.get("page"), 1))
        last = max(1, math.ceil(len(pulls) / per_page))
        items = [copy.deepcopy(p) for p in pulls[(page - 1) * per_page: page * per_page]]

        def link(n: int, rel: str) -> str:
            return f'<{self.api_url}{path}?{urlencode({**query, "per_page": per_page, "page": n})}>; rel="{rel}"'

        rels = ([link(page + 1, "next"), link(last, "last")] if page < last else []) + \
            ([link(1, "first"), link(page - 1, "prev")] if page > 1 else [])
        return 200, items, ({"Link": ", ".join(rels)} if rels else {})

    def _pull(self, method: str, number: int, body: Any) -> tuple[int, Any, dict[str, str]]:
        pull = self.pulls[number]
        if method == "PATCH":
            body = body if isinstance(body, dict) else {}
            if body.get("state") not in (None, "open", "closed"):
                return self._validation({"resource": "PullRequest", "code": "invalid", "field": "state"})
            for name in ("title", "body", "state"):
                if name in body:
                    pull[name] = body[name]
            if body.get("base"):
                pull["base"] = self._branch(str(body["base"]))
            pull["updated_at"] = _now()
        return 200, copy.deepcopy(pull), {}

    def _issue(self, method: str, number: int, what: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        body = body if isinstance(body, dict) else {}
        if what == "comments" and method == "GET":
            return 200, copy.deepcopy(self.comments[number]), {}
        if what == "comments" and method == "POST":
            if not body.get("body"):
                return (*error(422, "Validation Failed", errors=[{"resource": "IssueComment",
                                                                   "code": "missing_field", "field": "body"}]), {})
            self._next_id += 1
            comment = {"id": self._next_id, "node_id": f"IC_standin{self._next_id}", "body": body["body"],
                       "html_url": f"https://github.com/{self.repo}/pull/{number}#issuecomment-{self._next_id}",
                       "issue_url": f"{self.api_url}/repos/{self.repo}/issues/{number}",
                       "user": {"login": self.login}, "created_at": _now(), "updated_at": _now()}
            self.comments[number].append(comment)
            return 201, copy.deepcopy(comment), {}
        if what == "labels" and method == "POST":
            names = body.get("labels") if isinstance(body.get("labels"), list) else []
            labels = self.pulls[number]["labels"]
            labels.extend(self._label(str(n)) for n in names if str(n) not in {x["name"] for x in labels})
            return 200, copy.deepcopy(labels), {}
        return (*error(404, "Not Found"), {})

    def respond(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        """The status, JSON body and extra headers for one authorised request."""
        parts = [p for p in path.split("/") if p]
        with self._lock:
            if parts == ["rate_limit"] and method == "GET":
                core = {k.rsplit("-", 1)[-1].lower(): int(v) for k, v in self._rate_headers().items()
                        if k != "X-RateLimit-Resource"}
                return 200, {"resources": {"core": core}, "rate": core}, {}
            if len(parts) < 4 or parts[0] != "repos" or f"{parts[1]}/{parts[2]}" != self.repo:
                return (*error(404, "Not Found"), {})
            rest = parts[3:]
            if rest == ["pulls"] and method == "GET":
                return self._list_pulls(path, query)
            if rest == ["pulls"] and method == "POST":
                return self._create_pull(body)
            number = _int(rest[1], 0) if len(rest) >= 2 else 0
            if number not in self.pulls:
                return (*error(404, "Not Found"), {})
            if len(rest) == 2 and rest[0] == "pulls" and method in ("GET", "PATCH"):
                return self._pull(method, number, body)
            if len(rest) == 3 and rest[0] == "issues" and rest[2] in ("comments", "labels"):
                return self._issue(method, number, rest[2], body)
        return (*error(404, "Not Found"), {})


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default

"""The Mode REST API client: one HTTP choke point, one paging generator, one method per endpoint.

Follows ../shared/mode-api.md. Everything that touches the network goes through
``ModeClient._request``: the session, HTTP basic auth, a timeout on every call, the
client-side rate limit (a token bucket shared by every thread that slows down on 429s
and recovers slowly: ``ratelimit``), retries with exponential backoff and jitter on
429, 5xx, dropped or cut connections, timeouts and 200s whose body is empty or not
JSON, honouring ``Retry-After`` (``retry``: 429s have their own, larger budget), and
the mapping of failures to ``BIApiError`` naming the endpoint. Credentials never reach
a log line or an error message in any form (``lineage_utils.redact``); outside error
bodies are cut to a few hundred characters.

Paging (``walk``, ``paginate``) follows the rules of :mod:`lineage_utils.bi.mode.listing`:
the API's own end signals only, a repeated page fetched once more before it is an
anomaly, a listing without end bounded by ``total_count`` or ``max_pages``, and a page
that is not a HAL listing an error rather than the end.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import urljoin, urlsplit

import requests
import tenacity
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from lineage_utils.bi.hal import embedded, link, username_from_href
from lineage_utils.bi.mode.listing import Listing, walk_listing
from lineage_utils.bi.mode.ratelimit import RateLimiter
from lineage_utils.bi.mode.retry import RETRY_STATUSES, Retryable, RetryBudget, retry_after_seconds, wait_seconds
from lineage_utils.bi.status import Anomaly
from lineage_utils.errors import BIApiError
from lineage_utils.redact import redact_body

__all__ = ["MAX_PAGES", "ModeClient", "RateLimiter", "embedded", "link"]

logger = logging.getLogger(__name__)

MAX_PAGES = 10_000
"""The default bound of a listing without ``total_count`` (params ``bi.max_pages``)."""
DROPPED = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
           requests.exceptions.ContentDecodingError, urllib3.exceptions.HTTPError, http.client.HTTPException,
           ConnectionError)
"""A connection that failed, timed out or was cut mid-body (IncompleteRead, ProtocolError): retried."""


class ModeClient:
    """One Mode workspace over HTTP. Thread-safe: one instance serves a thread pool.

    ``backoff`` is the first retry's wait in seconds (doubled per retry, plus up to
    100% jitter, capped at ``backoff_max``); ``retry_after_max`` caps a server's
    ``Retry-After`` (a longer one is logged as a warning). ``max_retries`` bounds the
    retries of one call on 5xx, dropped connections, timeouts and broken bodies;
    ``max_retries_rate_limited`` bounds its retries on 429. ``requests_made`` counts
    every HTTP attempt, retries included; ``rate_limited`` the 429s among them.
    """

    def __init__(self, base_url: str, workspace: str, token: str, secret: str, *, rate_limit: float = 4.0,
                 timeout: float = 30.0, max_retries: int = 5, max_retries_rate_limited: int = 12,
                 backoff: float = 0.5, backoff_max: float = 30.0, retry_after_max: float = 120.0,
                 pool_size: int = 16, per_page: int = 100, max_pages: int = MAX_PAGES):
        if not workspace:
            raise BIApiError("Mode workspace is empty (params key 'bi.workspace')", endpoint="", target="workspace")
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise BIApiError(f"Mode base URL {base_url!r} is not an http(s) URL (params key 'bi.base_url')")
        self.host = f"{parts.scheme}://{parts.netloc}"
        self.workspace = workspace
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.max_retries_rate_limited = int(max_retries_rate_limited)
        self.backoff = float(backoff)
        self.backoff_max = float(backoff_max)
        self.retry_after_max = float(retry_after_max)
        self.per_page = int(per_page)
        self.max_pages = int(max_pages)
        self.limiter = RateLimiter(rate_limit)
        self._secrets = tuple(s for s in (token, secret) if s)
        self._session = requests.Session()
        self._session.auth = (token, secret)
        self._session.headers.update({"Accept": "application/hal+json", "User-Agent": "metapipeline"})
        self._session.trust_env = False  # no proxies or .netrc: credentials go to base_url only
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(1, pool_size), max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._lock = threading.Lock()
        self._requests = 0
        self._retries = 0
        self._rate_limited = 0
        self._anomalies: list[Anomaly] = []

    # -- bookkeeping -------------------------------------------------------------------
    @property
    def requests_made(self) -> int:
        with self._lock:
            return self._requests

    @property
    def retries(self) -> int:
        with self._lock:
            return self._retries

    @property
    def rate_limited(self) -> int:
        with self._lock:
            return self._rate_limited

    @property
    def anomalies(self) -> list[Anomaly]:
        with self._lock:
            return list(self._anomalies)

    def _note(self, anomaly: Anomaly) -> None:
        logger.warning("Mode API anomaly on %s: %s", anomaly.target, anomaly.detail)
        with self._lock:
            self._anomalies.append(anomaly)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ModeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never show the credentials
        return f"ModeClient(host={self.host!r}, workspace={self.workspace!r})"

    # -- the choke point -------------------------------------------------------------------
    def url(self, href: str) -> str:
        """An href as an absolute URL: root-relative hrefs are joined to the host.

        Absolute hrefs must point at the same host: credentials go nowhere else.
        """
        url = urljoin(self.host + "/", href)
        if not url.startswith(self.host + "/"):
            raise BIApiError(f"Mode API link {href!r} leaves {self.host}: not followed", endpoint=href)
        return url

    def _request(self, method: str, href: str, *, params: Mapping[str, Any] | None = None,
                 target: str = "", want_json: bool = True) -> Any:
        """One API call with auth, timeout, rate limit and retries -> its JSON document; failures -> BIApiError.

        Retries (tenacity) cover 429, 5xx, dropped or cut connections, timeouts and a
        200 whose body is empty, not JSON or not a JSON object (``want_json``; a
        non-GET call may answer an empty body). Each waits the server's ``Retry-After``
        (capped) or an exponential backoff with jitter, is logged with credentials
        redacted, and takes a new slot from the rate limiter, which a 429 slows down.
        Other 4xx fail at once. Returns None when ``want_json`` is off.
        """
        url = self.url(href)
        endpoint = f"{method} {urlsplit(url).path}"
        target = target or urlsplit(url).path
        budget = RetryBudget(self.max_retries, self.max_retries_rate_limited)

        def retry(failure: Retryable) -> Retryable:
            budget.spend(failure)
            return failure

        def attempt() -> Any:
            sent_at = self.limiter.now()
            self.limiter.acquire()
            with self._lock:
                self._requests += 1
            try:
                response = self._session.request(method, url, params=params, timeout=self.timeout)
            except DROPPED as exc:
                raise retry(Retryable(f"{type(exc).__name__}: {redact_body(str(exc), self._secrets)}", None)) from None
            status = response.status_code
            if status < 400:
                document = self._document(response, method, want_json, retry)
                self.limiter.on_success()
                return document
            reason = f"HTTP {status}: {redact_body(response.text, self._secrets)}"
            if status not in RETRY_STATUSES:
                raise BIApiError(f"Mode API {endpoint} ({target}): {reason}", status=status,
                                 endpoint=endpoint, target=target)
            if status == 429:
                self.limiter.on_rate_limited(sent_at)
                with self._lock:
                    self._rate_limited += 1
            raise retry(Retryable(reason, status, retry_after_seconds(response.headers.get("Retry-After"))))

        def log_retry(state: tenacity.RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome else None
            with self._lock:
                self._retries += 1
            logger.warning("Mode API %s (%s): %s; retry %d of %d%s in %.2fs", endpoint, target,
                           getattr(failure, "reason", failure), budget.used_for(failure), budget.limit_for(failure),
                           " (rate limited)" if getattr(failure, "rate_limited", False) else "", state.upcoming_sleep)

        def wait(state: tenacity.RetryCallState) -> float:
            failure = state.outcome.exception() if state.outcome else None
            return wait_seconds(failure if isinstance(failure, Retryable) else None, budget.used_for(failure),
                                base=self.backoff, maximum=self.backoff_max, retry_after_cap=self.retry_after_max,
                                endpoint=f"{endpoint} ({target})")

        retrying = tenacity.Retrying(retry=tenacity.retry_if_exception_type(Retryable),
                                     stop=lambda state: budget.exhausted(), wait=wait, before_sleep=log_retry,
                                     sleep=time.sleep, reraise=True)
        try:
            return retrying(attempt)
        except Retryable as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            raise BIApiError(f"Mode API {endpoint} ({target}): gave up after {attempts} attempts; last: "
                             f"{exc.reason}", status=exc.status, endpoint=endpoint, target=target,
                             retried=attempts > 1) from None

    def _document(self, response: requests.Response, method: str, want_json: bool,
                  retry: Callable[[Retryable], Retryable]) -> Any:
        """The JSON object of a successful response; an empty or broken body is a Retryable."""
        if not want_json:
            return None
        body = response.content
        if not body.strip():
            if method != "GET":
                return {}
            raise retry(Retryable(f"HTTP {response.status_code} with an empty body", response.status_code))
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            sample = redact_body(body.decode("utf-8", "replace"), self._secrets, 80)
            raise retry(Retryable(f"HTTP {response.status_code} with a body that is not a JSON object "
                                  f"({len(body)} bytes: {sample})", response.status_code))
        return document

    def _json(self, method: str, href: str, *, params: Mapping[str, Any] | None = None,
              target: str = "") -> Any:
        return self._request(method, href, params=params, target=target)

    def page(self, href: str, params: Mapping[str, Any] | None = None, *, target: str = "") -> dict[str, Any]:
        """One ``GET`` of a listing page through the choke point: its JSON object."""
        return self._json("GET", href, params=params, target=target)

    # -- paging -------------------------------------------------------------------------------
    def walk(self, href: str, key: str, *, params: Mapping[str, Any] | None = None, paged: bool = True,
             target: str = "") -> Listing:
        """One walk of a HAL listing by the rules of :mod:`listing` (bounded by ``max_pages``)."""
        target = target or href
        return walk_listing(lambda h, p: self.page(h, p, target=target), href, key, params=params,
                            target=target, max_pages=self.max_pages, paged=paged)

    def paginate(self, href: str, key: str, *, params: Mapping[str, Any] | None = None, paged: bool = True,
                 target: str = "") -> Iterator[dict[str, Any]]:
        """Every item of a HAL listing, each once; its anomalies are noted on the client."""
        listing = self.walk(href, key, params=params, paged=paged, target=target)
        for anomaly in listing.anomalies:
            self._note(anomaly)
        yield from listing.items

    # -- one method per endpoint -------------------------------------------------------------
    def _ws(self, path: str) -> str:
        return f"/api/{self.workspace}/{path}"

    def verify(self) -> dict[str, Any]:
        """``GET /api/verify``: fails (401) on bad credentials."""
        return self._json("GET", "/api/verify", target="verify")

    def spaces(self, include_personal: bool = True) -> Iterator[dict[str, Any]]:
        """Every space (collection) visible; ``filter=all`` adds members' personal spaces."""
        params: dict[str, Any] = {"per_page": self.per_page}
        if include_personal:
            params["filter"] = "all"
        return self.paginate(self._ws("spaces"), "spaces", params=params, target="spaces")

    def reports_of_space(self, space: str) -> Iterator[dict[str, Any]]:
        """Every report of a space (paged; only an empty page ends it).

        ``per_page`` is asked for (fewer round trips where it is honoured); real lists
        come 30 per page whatever was asked, which the paging rules allow for.
        """
        return self.paginate(self._ws(f"spaces/{space}/reports"), "reports", params={"per_page": self.per_page},
                             target=f"space {space} reports")

    def datasets_of_space(self, space: str) -> Iterator[dict[str, Any]]:
        """Every dataset of a space; the list key is ``reports``."""
        return self.paginate(self._ws(f"spaces/{space}/datasets"), "reports", params={"per_page": self.per_page},
                             target=f"space {space} datasets")

    def report(self, report: str) -> dict[str, Any]:
        """One report or dataset."""
        return self._json("GET", self._ws(f"reports/{report}"), target=f"report {report}")

    def queries(self, report: str) -> list[dict[str, Any]]:
        """The queries of a report (unpaged; a ``next_page`` link is honoured)."""
        return list(self.paginate(self._ws(f"reports/{report}/queries"), "queries", paged=False,
                                  target=f"report {report} queries"))

    def data_sources(self) -> list[dict[str, Any]]:
        return list(self.paginate(self._ws("data_sources"), "data_sources", paged=False, target="data_sources"))

    def definitions(self) -> list[dict[str, Any]]:
        return list(self.paginate(self._ws("definitions"), "definitions", paged=False, target="definitions"))

    def user(self, href: str) -> dict[str, Any]:
        """A user by its link (``report._links.creator.href``, ``/api/{username}``)."""
        return self._json("GET", href, target=f"user {username_from_href(href)}")

    def archive(self, report: str) -> dict[str, Any]:
        """``PATCH .../reports/{report}/archive``: returns the report."""
        return self._json("PATCH", self._ws(f"reports/{report}/archive"), target=f"report {report}")

    def unarchive(self, report: str) -> dict[str, Any]:
        return self._json("PATCH", self._ws(f"reports/{report}/unarchive"), target=f"report {report}")

    def delete(self, report: str) -> None:
        """``DELETE .../reports/{report}``: irreversible as far as anyone knows."""
        self._request("DELETE", self._ws(f"reports/{report}"), target=f"report {report}", want_json=False)

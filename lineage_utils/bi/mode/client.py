"""The Mode REST API client: one HTTP choke point, one paging generator, one method per endpoint.

Follows ../shared/mode-api.md. Everything that touches the network goes through
``ModeClient._request``: the session, HTTP basic auth, a timeout on every call, the
client-side rate limit (a token bucket shared by every thread), retries with
exponential backoff and jitter on 429, 5xx and connection errors (honouring
``Retry-After``), and the mapping of failures to ``BIApiError`` naming the endpoint.
Credentials never reach a log line or an error message (``redact``).

Paging (``paginate``), every scheme mode-api.md lists:

* a ``_links.next_page`` link is followed when present; once pages have carried
  one, a page without it is the end;
* a ``pagination`` block, SPEC's ``{first_page, last_page, total_pages, total_count}``
  or the live ``{page, per_page, count, total_pages, total_count}``, ends at
  ``total_pages``; ``total_count`` is cross-checked against what was seen;
* otherwise (report and dataset listings, recorded without either) only an **empty**
  ``_embedded.<key>`` ends the listing. A short page is not the end;
* a page whose items were all seen already (a looping server) stops the listing and
  is recorded as an anomaly; so is a ``total_count`` that does not match.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import urljoin, urlsplit

import requests
import tenacity
from requests.adapters import HTTPAdapter

from lineage_utils.bi.hal import embedded, link, username_from_href
from lineage_utils.bi.status import Anomaly
from lineage_utils.errors import BIApiError

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_PAGES = 100_000
"""A listing longer than this is stopped and recorded (no Mode listing comes near it)."""

class RateLimiter:
    """A thread-safe token bucket: at most ``rate`` acquisitions per second, ``burst`` at once.

    Each caller reserves the next free slot under the lock and sleeps outside it, so
    threads are served in turn and the pace is even. ``rate <= 0`` means no limit.
    """

    def __init__(self, rate: float, burst: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.rate = float(rate)
        self.burst = max(1.0, float(burst))
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._stamp = clock()

    def acquire(self) -> float:
        """Take one token, waiting for it; returns the seconds waited."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds (fractions accepted) or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


class _Retryable(Exception):
    """One attempt failed in a way worth another: the reason, HTTP status and Retry-After."""

    def __init__(self, reason: str, status: int | None, retry_after: float | None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


def _item_key(item: Mapping[str, Any]) -> str:
    for field in ("token", "id", "username"):
        if item.get(field) not in (None, ""):
            return f"{field}:{item[field]}"
    return repr(sorted(item.items()))


class ModeClient:
    """One Mode workspace over HTTP. Thread-safe: one instance serves a thread pool.

    ``backoff`` is the first retry's wait in seconds (doubled per retry, plus up to
    100% jitter, capped at ``backoff_max``); ``retry_after_max`` caps a server's
    ``Retry-After``. ``requests_made`` counts every HTTP attempt, retries included.
    """

    def __init__(self, base_url: str, workspace: str, token: str, secret: str, *, rate_limit: float = 4.0,
                 timeout: float = 30.0, max_retries: int = 5, backoff: float = 0.5, backoff_max: float = 30.0,
                 retry_after_max: float = 120.0, pool_size: int = 16, per_page: int = 100):
        if not workspace:
            raise BIApiError("Mode workspace is empty (params key 'bi.workspace')", endpoint="", target="workspace")
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise BIApiError(f"Mode base URL {base_url!r} is not an http(s) URL (params key 'bi.base_url')")
        self.host = f"{parts.scheme}://{parts.netloc}"
        self.workspace = workspace
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.backoff_max = float(backoff_max)
        self.retry_after_max = float(retry_after_max)
        self.per_page = int(per_page)
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
                 target: str = "") -> requests.Response:
        """One API call with auth, timeout, rate limit and retries; failures -> BIApiError.

        Retries (tenacity) cover 429, 5xx, dropped connections and timeouts: each waits
        the server's ``Retry-After`` (capped at ``retry_after_max``) or an exponential
        backoff with jitter, is logged with credentials redacted, and takes a new slot
        from the rate limiter. Other 4xx fail at once.
        """
        url = self.url(href)
        endpoint = f"{method} {urlsplit(url).path}"
        target = target or urlsplit(url).path

        def attempt() -> requests.Response:
            self.limiter.acquire()
            with self._lock:
                self._requests += 1
            try:
                response = self._session.request(method, url, params=params, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise _Retryable(f"{type(exc).__name__}: {redact(str(exc), self._secrets)}", None, None) from None
            if response.status_code < 400:
                return response
            status = response.status_code
            reason = f"HTTP {status}: {redact(response.text[:300], self._secrets).strip()}"
            if status not in RETRY_STATUSES:
                raise BIApiError(f"Mode API {endpoint} ({target}): {reason}", status=status,
                                 endpoint=endpoint, target=target)
            raise _Retryable(reason, status, _retry_after(response.headers.get("Retry-After")))

        def log_retry(state: tenacity.RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome else None
            with self._lock:
                self._retries += 1
            logger.warning("Mode API %s (%s): %s; retry %d of %d in %.2fs", endpoint, target,
                           getattr(failure, "reason", failure), state.attempt_number, self.max_retries,
                           state.upcoming_sleep)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=self._wait, before_sleep=log_retry, sleep=time.sleep, reraise=True,
        )
        try:
            return retrying(attempt)
        except _Retryable as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            raise BIApiError(f"Mode API {endpoint} ({target}): gave up after {attempts} attempts; last: "
                             f"{exc.reason}", status=exc.status, endpoint=endpoint, target=target,
                             retried=attempts > 1) from None

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """Seconds before the next attempt: ``Retry-After`` (capped), else backoff with jitter."""
        failure = state.outcome.exception() if state.outcome else None
        retry_after = getattr(failure, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, self.retry_after_max)
        return min(self.backoff_max, self.backoff * 2 ** (state.attempt_number - 1) * (1 + random.random()))

    def _json(self, method: str, href: str, *, params: Mapping[str, Any] | None = None,
              target: str = "") -> Any:
        response = self._request(method, href, params=params, target=target)
        if not response.content.strip():
            return {}
        try:
            return response.json()
        except ValueError:
            raise BIApiError(f"Mode API {method} {urlsplit(response.url).path} ({target}): response is not JSON",
                             status=response.status_code, endpoint=href, target=target) from None

    # -- the paging generator ---------------------------------------------------------------
    def paginate(self, href: str, key: str, *, params: Mapping[str, Any] | None = None, paged: bool = True,
                 target: str = "") -> Iterator[dict[str, Any]]:
        """Every item of a HAL listing, each once, ending only on the API's own end signal.

        ``paged`` sends ``page=1, 2, ...`` (reports, datasets, spaces); unpaged
        listings (queries, data sources, definitions) are one page unless the
        response links a ``next_page``. See the module docstring for the end rules.
        """
        target = target or href
        query: dict[str, Any] | None = {**(params or {}), **({"page": 1} if paged else {})}
        page, seen_next_link, total_count = 1, False, None
        seen: set[str] = set()
        while True:
            document = self._json("GET", href, params=query, target=target)
            items = embedded(document, key)
            pagination = document.get("pagination") if isinstance(document, Mapping) else None
            if isinstance(pagination, Mapping) and pagination.get("total_count") is not None:
                total_count = int(pagination["total_count"])
            if not items:
                break
            fresh = [item for item in items if _item_key(item) not in seen]
            if not fresh:
                self._note(Anomaly("repeated_page", target, f"page {page} of {key} repeats items already seen "
                                   f"({len(items)} items); listing stopped there", incomplete=True))
                break
            seen.update(_item_key(item) for item in fresh)
            yield from fresh
            next_href = link(document, "next_page")
            if next_href:
                seen_next_link = True
                href, query, page = next_href, None, page + 1
                continue
            if seen_next_link or not paged:
                break
            if isinstance(pagination, Mapping) and pagination.get("total_pages") is not None:
                current = int(pagination.get("page") or page)
                if current >= int(pagination["total_pages"]):
                    break
            if page >= MAX_PAGES:
                self._note(Anomaly("too_many_pages", target, f"{key}: stopped after {page} pages", incomplete=True))
                break
            page += 1
            query = {**(params or {}), "page": page}
        if total_count is not None and total_count != len(seen):
            self._note(Anomaly("total_count_mismatch", target, f"{key}: the API says total_count={total_count}, "
                               f"the pages held {len(seen)}", incomplete=len(seen) < total_count))

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
        self._request("DELETE", self._ws(f"reports/{report}"), target=f"report {report}")

"""A local stand-in for the Mode REST API: serves a snapshot folder over real HTTP.

Built from the documented API (../shared/mode-api.md, Mode's OpenAPI file, the
recorded responses), not from what the client expects:

* ``GET /api/verify``; 401 ``{"id": "unauthorized"}`` on bad HTTP basic auth;
* ``GET /api/{ws}/spaces`` (and the legacy ``/collections`` alias, list key
  ``spaces``): without ``filter=all`` members' personal (``private``) spaces are left
  out; ``filter=custom`` keeps ``custom`` spaces only. ``page``/``per_page`` (documented,
  so honoured unless ``spaces_honour_per_page=False``) with a
  ``pagination`` block, SPEC's shape ``{first_page, last_page, total_pages,
  total_count}`` by default or the shape live clients read
  (``pagination_shape="live"``), and ``_links.next_page``/``prev_page`` as SPEC's
  ``SpacesLinks`` declare (``next_links=False`` leaves them out);
* ``GET /api/{ws}/spaces/{space}/reports?page=N`` and ``/datasets``: ``page_size``
  items per page, **no** ``pagination`` block and no ``next_page`` link, the end
  being a page with an empty ``_embedded.reports``, as recorded. ``per_page`` is
  not documented for these lists, so it is ignored unless ``honour_per_page``;
* ``GET/DELETE /api/{ws}/reports/{r}``, ``GET .../queries``, ``PATCH .../archive``
  and ``.../unarchive`` (200 with the report), ``/data_sources``, ``/definitions``,
  ``GET /api/{username}`` (a report's creator link);
* 404 ``{"id": "not_found"}`` for unknown paths and tokens; with ``rate_limit``
  (requests per second per username, a token bucket holding one second's worth)
  every response carries ``X-RateLimit-Limit`` and an excess request gets 429
  ``{"id": "rate_limited"}`` with an integer ``Retry-After``.

Where documentation and real clients disagree, it follows the documentation:
SPEC declares ``page``/``per_page`` of the spaces list "in: path", clients and
the 2024 docs send them as query parameters (so does this server); clients such as
DataHub's end report paging on an ``_embedded`` without ``reports`` (a made-up
shape, ``final_page.json``), this server always sends ``_embedded.reports: []``;
``filter``/``order``/``order_by`` of report lists are documented but not served.

Faults are scripted per test (``fail``, ``burst_429``, ``drop_connections``,
``bad_body``, ``cut_body``, ``echo_headers``,
``loop_listing``, ``deny_report``, ``vanish_after_listing``, ``latency``; and, in
``mode_listing_faults``, ``repeat_page``, ``delete_after_page``, ``endless_listing``);
``touch_report`` changes a report for incremental crawls, ``run_report`` runs one; ``log`` records every
request. The folder is read by ``snapshot_reader`` (plain json/gzip), never by the
product's ``bi.snapshot``. ``python -m lineage_utils.testing.mode_standin FOLDER``
serves a folder until Ctrl-C.
"""

from __future__ import annotations

import argparse
import copy
import logging
import re
import math
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from lineage_utils.testing.loopback import LoopbackServer
from lineage_utils.testing.mode_http import LoggedRequest, ModeHandler, error as _error
from lineage_utils.testing.mode_listing_faults import ListingFaults
from lineage_utils.testing.snapshot_reader import read_folder

logger = logging.getLogger(__name__)


@dataclass
class _Fault:
    kind: str  # "status", "drop", "body" (200, another body), "cut" (body cut short, then closed)
    pattern: re.Pattern[str]
    remaining: int
    status: int = 503
    retry_after: str | None = None
    body: bytes | None = None  # "body": sent instead of the answer; None: the answer's first half


class _Bucket:
    def __init__(self, rate: float):
        self.rate, self.capacity = rate, max(1.0, rate)
        self.tokens, self.stamp = self.capacity, time.monotonic()

    def take(self) -> float:
        """0 when a request may pass, else the seconds until one may."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class ModeStandIn(LoopbackServer):
    """A Mode API stand-in on 127.0.0.1, port 0; a context manager exposing ``base_url``."""

    handler_class = ModeHandler
    thread_name = "mode-standin"

    def __init__(self, snapshot_dir: Path | str, workspace: str | None = None, token: str = "standin-token",
                 secret: str = "standin-secret", page_size: int = 30, *, spaces_page_size: int = 30,
                 honour_per_page: bool = False, spaces_honour_per_page: bool = True, rate_limit: float | None = None, latency: float = 0.0,
                 pagination_shape: str = "spec", next_links: bool = True):
        bundle = read_folder(snapshot_dir)  # its own reader: a product reader bug cannot hide on both sides
        self.workspace = workspace or str(bundle.get("workspace") or "")
        self.token, self.secret = token, secret
        self.page_size, self.spaces_page_size = page_size, spaces_page_size
        self.spaces_honour_per_page = spaces_honour_per_page
        self.honour_per_page, self.pagination_shape, self.next_links = honour_per_page, pagination_shape, next_links
        self.rate_limit, self.latency = rate_limit, latency
        self._lock = threading.RLock()
        self.spaces: list[dict[str, Any]] = bundle["spaces"]
        self.reports: dict[str, dict[str, Any]] = {str(r["token"]): r for r in bundle["reports"]}
        self.queries: dict[str, list[dict[str, Any]]] = bundle["queries"]
        self.data_sources, self.definitions = bundle["data_sources"], bundle["definitions"]
        self.users: dict[str, dict[str, Any]] = bundle["users"]
        self.log: list[LoggedRequest] = []
        self._faults: list[_Fault] = []
        self.echo_headers = False  # error bodies echo the request's headers (a leaky host)
        self.rate_limit_retry_after = True  # False: a rate-limited 429 comes without Retry-After
        self._loops: dict[tuple[str, str], int] = {}
        self._denied: dict[str, int] = {}
        self._vanishing: set[str] = set()
        self._listing_faults = ListingFaults()
        self._buckets: dict[str, _Bucket] = {}

    # -- lifecycle ------------------------------------------------------------------------

    # -- scripted faults --------------------------------------------------------------------
    def fail(self, path_pattern: str, status: int = 503, times: int = 1, retry_after: str | None = None) -> None:
        """The next ``times`` requests whose path matches get ``status``."""
        with self._lock:
            self._faults.append(_Fault("status", re.compile(path_pattern), times, status, retry_after))

    def burst_429(self, times: int, retry_after: str | None = "0", path_pattern: str = ".*") -> None:
        """The next ``times`` requests get 429 ``rate_limited`` (with ``Retry-After`` unless None)."""
        self.fail(path_pattern, 429, times, retry_after)

    def drop_connections(self, path_pattern: str, times: int = 1) -> None:
        """The next ``times`` matching requests get no response: the connection is closed."""
        with self._lock:
            self._faults.append(_Fault("drop", re.compile(path_pattern), times))

    def bad_body(self, path_pattern: str, body: bytes | None = b"", times: int = 1) -> None:
        """The next ``times`` matching requests get 200 with ``body`` (None: the answer's first half)."""
        with self._lock:
            self._faults.append(_Fault("body", re.compile(path_pattern), times, 200, body=body))

    def cut_body(self, path_pattern: str, times: int = 1) -> None:
        """The next ``times`` matching requests get half the answer of a full Content-Length, then a close."""
        with self._lock:
            self._faults.append(_Fault("cut", re.compile(path_pattern), times, 200))

    def loop_listing(self, space: str, from_page: int = 2, listing: str = "reports") -> None:
        """From ``from_page`` on, the listing serves its first page again (a looping server)."""
        with self._lock:
            self._loops[(space, listing)] = from_page

    def deny_report(self, token: str, status: int = 403) -> None:
        """The report and its queries answer ``status`` (403 forbidden or 404 not found)."""
        with self._lock:
            self._denied[token] = status

    def vanish_after_listing(self, token: str) -> None:
        """The report is deleted right after a listing page shows it."""
        with self._lock:
            self._vanishing.add(token)

    def repeat_page(self, space: str, page: int, times: int = 1, listing: str = "reports") -> None:
        """The next ``times`` requests for ``page`` of the listing serve ``page - 1`` again."""
        with self._lock:
            self._listing_faults.repeat(space, page, times, listing)

    def delete_after_page(self, space: str, page: int, token: str | None = None, times: int = 1,
                          listing: str = "reports") -> None:
        """Right after ``page`` is served, delete ``token`` (else that page's last report); ``times`` walks."""
        with self._lock:
            self._listing_faults.delete_after(space, page, token, times, listing)

    def endless_listing(self, space: str, listing: str = "reports", total_count: int | None = None,
                        stop_after: int = 1000) -> None:
        """Full pages of new reports with a next link, forever (``stop_after`` pages: a safety net)."""
        with self._lock:
            self._listing_faults.endless(space, listing, total_count, stop_after)

    def touch_report(self, token: str, when: datetime | None = None) -> None:
        """An edit: ``updated_at``, ``edited_at`` and ``last_saved_at`` move on."""
        stamp = (when or datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat(timespec="milliseconds")
        with self._lock:
            report = self.reports[token]
            for field in ("updated_at", "edited_at", "last_saved_at"):
                report[field] = stamp.replace("+00:00", "Z")

    def run_report(self, token: str, when: datetime | None = None, views: int = 1) -> None:
        """A run: ``last_run_at`` moves on, ``runs_count`` and ``view_count`` go up."""
        stamp = (when or datetime.now(timezone.utc)).isoformat(timespec="milliseconds")
        with self._lock:
            report = self.reports[token]
            report["last_run_at"] = stamp.replace("+00:00", "Z")
            report["runs_count"] = int(report.get("runs_count") or 0) + 1
            report["view_count"] = int(report.get("view_count") or 0) + views

    def requests_to(self, path_pattern: str = ".*", method: str | None = None) -> int:
        pattern = re.compile(path_pattern)
        with self._lock:
            return sum(1 for r in self.log if pattern.search(r.path) and method in (None, r.method))

    @property
    def requests(self) -> int:
        with self._lock:
            return len(self.log)

    def reset_log(self) -> None:
        with self._lock:
            self.log.clear()

    # -- responses ----------------------------------------------------------------------
    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.pattern.search(path):
                    fault.remaining -= 1
                    return fault
        return None

    def _rate_wait(self, user: str) -> float:
        if not self.rate_limit:
            return 0.0
        with self._lock:
            return self._buckets.setdefault(user, _Bucket(self.rate_limit)).take()

    def _spaces(self, query: dict[str, str], path: str) -> tuple[int, Any]:
        kind = query.get("filter", "")
        if kind not in ("", "all", "custom"):
            return _error(400, "bad_request", f"unknown filter {kind!r}")
        spaces = [s for s in self.spaces if kind == "all" or (s.get("space_type") == "custom" if kind == "custom"
                                                              else s.get("space_type") != "private")]
        page = _int(query.get("page"), 1)
        per_page = _int(query.get("per_page") if self.spaces_honour_per_page else None, self.spaces_page_size)
        total_pages = max(1, math.ceil(len(spaces) / per_page))
        items = spaces[(page - 1) * per_page: page * per_page]

        def href(n: int) -> str:
            return f"{path}?{urlencode({**query, 'page': n, 'per_page': per_page})}"

        links: dict[str, Any] = {"self": {"href": href(page)}}
        if self.next_links and page < total_pages:
            links["next_page"] = {"href": href(page + 1)}
        if self.next_links and page > 1:
            links["prev_page"] = {"href": href(page - 1)}
        if self.pagination_shape == "live":
            pagination = {"page": page, "per_page": per_page, "count": len(items), "total_pages": total_pages,
                          "total_count": len(spaces)}
        else:
            pagination = {"first_page": href(1), "last_page": href(total_pages), "total_pages": total_pages,
                          "total_count": len(spaces)}
        return 200, {"_links": links, "pagination": pagination, "_embedded": {"spaces": items}}

    def _listing(self, space: str, listing: str, query: dict[str, str], path: str) -> tuple[int, Any]:
        if not any(str(s["token"]) == space for s in self.spaces):
            return _error(404, "not_found", f"space {space} not found")
        wanted = (lambda r: r.get("type") == "DatasetReport") if listing == "datasets" else \
            (lambda r: r.get("type") != "DatasetReport")
        items = [r for r in self.reports.values() if str(r.get("space_token")) == space and wanted(r)]
        size = _int(query.get("per_page"), self.page_size) if self.honour_per_page else self.page_size
        page = _int(query.get("page"), 1)
        faults = self._listing_faults
        if faults.is_endless(space, listing):
            return 200, faults.endless_page(space, listing, page, size, path, self.reports, self.queries)
        requested, page = page, faults.page_to_serve(space, listing, page)
        loop_from = self._loops.get((space, listing))
        if loop_from is not None and page >= loop_from:
            page = 1
        shown = [copy.deepcopy(r) for r in items[(page - 1) * size: page * size]]
        for report in shown:
            if report["token"] in self._vanishing:
                self._vanishing.discard(report["token"])
                self.reports.pop(report["token"], None)
                self.queries.pop(report["token"], None)
        deleted = faults.to_delete(space, listing, requested, shown)
        if deleted is not None:
            self.reports.pop(deleted, None)
            self.queries.pop(deleted, None)
        return 200, {"_links": {"self": {"href": path}}, "_embedded": {"reports": shown}}

    def _report(self, method: str, token: str, action: str | None) -> tuple[int, Any]:
        if token in self._denied:
            status = self._denied[token]
            return _error(status, "forbidden" if status == 403 else "not_found", f"report {token}")
        if token not in self.reports:
            return _error(404, "not_found", f"report {token} not found")
        if method == "DELETE" and action is None:
            del self.reports[token]
            self.queries.pop(token, None)
            return 200, None
        if method == "PATCH" and action in ("archive", "unarchive"):
            self.reports[token]["archived"] = action == "archive"
            return 200, copy.deepcopy(self.reports[token])
        if method == "GET" and action is None:
            return 200, copy.deepcopy(self.reports[token])
        if method == "GET" and action == "queries":
            return 200, {"_links": {"self": {"href": f"/api/{self.workspace}/reports/{token}/queries"}},
                         "_embedded": {"queries": copy.deepcopy(self.queries.get(token, []))}}
        return _error(404, "not_found", "no such route")

    def respond(self, method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
        """The status and JSON body for one authenticated request."""
        parts = [p for p in path.split("/") if p]
        ws = self.workspace
        with self._lock:
            if parts[:1] != ["api"] or len(parts) < 2:
                return _error(404, "not_found", "no such route")
            if parts == ["api", "verify"] and method == "GET":
                return 200, {"workspace": ws, "workspace_token": "standin0000",
                             "_links": {"self": {"href": f"/api/{ws}"}}}
            if len(parts) == 2 and method == "GET":
                user = self.users.get(parts[1])
                return (200, copy.deepcopy(user)) if user else _error(404, "not_found", f"user {parts[1]} not found")
            if parts[1] != ws:
                return _error(404, "not_found", f"workspace {parts[1]} not found")
            rest = parts[2:]
            if method == "GET" and rest in (["spaces"], ["collections"]):
                return self._spaces(query, path)
            if method == "GET" and len(rest) == 3 and rest[0] in ("spaces", "collections") \
                    and rest[2] in ("reports", "datasets"):
                return self._listing(rest[1], rest[2], query, path)
            if len(rest) in (2, 3) and rest[0] == "reports":
                return self._report(method, rest[1], rest[2] if len(rest) == 3 else None)
            if method == "GET" and rest in (["data_sources"], ["definitions"]):
                return 200, {"_links": {"self": {"href": path}},
                             "_embedded": {rest[0]: copy.deepcopy(getattr(self, rest[0]))}}
        return _error(404, "not_found", "no such route")


def _int(value: str | None, default: int) -> int:
    try:
        return max(1, int(value)) if value else default
    except ValueError:
        return default


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lineage_utils.testing.mode_standin",
                                     description="Serve a Mode snapshot folder as a local Mode API until Ctrl-C.")
    parser.add_argument("snapshot_dir", type=Path)
    parser.add_argument("--page-size", type=int, default=30)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every response")
    parser.add_argument("--rate-limit", type=float, default=None, help="requests per second per user (429 beyond)")
    args = parser.parse_args(argv)
    token, secret = secrets.token_hex(6), secrets.token_hex(12)
    with ModeStandIn(args.snapshot_dir, token=token, secret=secret, page_size=args.page_size,
                     latency=args.latency, rate_limit=args.rate_limit) as standin:
        print(f"Mode stand-in for workspace {standin.workspace!r} at {standin.base_url}\n"
              f"  export MODE_API_TOKEN={token} MODE_API_SECRET={secret}\n"
              f"  python run_all.py --set bi.source=mode_api --set bi.base_url={standin.base_url}\n"
              "Ctrl-C stops it.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

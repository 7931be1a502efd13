"""Crawl a Mode workspace into a snapshot bundle, completely, concurrently and honestly.

``crawl_workspace`` lists every space, every report and dataset of each space, then
fetches the queries of each report in a thread pool (the client's rate limiter bounds
the pace), the data sources, the definitions and each distinct creator once. It
returns the raw bundle (the same shape ``bi_snapshot.read_snapshot_dir`` returns) and
a ``CrawlStatus`` saying whether the crawl is complete and, if not, what is missing
and why.

Incremental: with a previous bundle, a report whose ``updated_at``, ``last_saved_at``
and ``edited_at`` are unchanged keeps its previous queries (one request saved each);
known creators are reused too. ``full=True`` fetches everything again.

Whole-run failures (bad credentials, the space list) raise ``BIApiError``; per-item
failures (a report's queries, one space's listing, data sources, definitions) are
collected, make the crawl incomplete and fall back to what the previous crawl knew.
``carry_forward`` builds the state kept for the next crawl so that an incomplete
crawl never erases what an earlier one saw.
"""

from __future__ import annotations

import logging
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from tqdm import tqdm

from lineage_utils.bi.snapshot import BUNDLE_FORMAT, BUNDLE_VERSION
from lineage_utils.errors import BIApiError
from lineage_utils.bi.hal import link, username_from_href
from lineage_utils.bi.status import CrawlError, CrawlStatus
from lineage_utils.bi.mode.client import ModeClient

logger = logging.getLogger(__name__)

CHANGE_FIELDS = ("updated_at", "last_saved_at", "edited_at")
"""A report whose fields here are unchanged keeps its previous queries."""


def _error(target: str, exc: BIApiError) -> CrawlError:
    return CrawlError(target=target, reason=str(exc), status=exc.status)


def _bar(total: int, desc: str, progress: bool) -> tqdm:
    return tqdm(total=total, desc=desc, unit=desc.rstrip("s"), disable=not progress, file=sys.stderr, leave=False)


def _run_pool(workers: int, items: list[Any], task: Callable[[Any], Any], bar: tqdm) -> list[tuple[Any, Any]]:
    """``task`` over ``items`` in a thread pool; (item, result or BIApiError) in input order."""
    results: dict[int, Any] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="mode-crawl") as pool:
        futures = {pool.submit(task, item): index for index, item in enumerate(items)}
        for future in as_completed(futures):
            try:
                results[futures[future]] = future.result()
            except BIApiError as exc:
                results[futures[future]] = exc
            bar.update(1)
    bar.close()
    return [(item, results[index]) for index, item in enumerate(items)]


def _unchanged(raw: Mapping[str, Any], before: Mapping[str, Any] | None) -> bool:
    return before is not None and all(raw.get(f) == before.get(f) for f in CHANGE_FIELDS)


def _list_space(client: ModeClient, space_token: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for listing in (client.reports_of_space, client.datasets_of_space):
        for raw in listing(space_token):
            items.append({**raw, "space_token": raw.get("space_token") or space_token})
    return items


def crawl_workspace(client: ModeClient, previous: Mapping[str, Any] | None = None, full: bool = False,
                    workers: int = 8, progress: bool = False,
                    include_personal: bool = True) -> tuple[dict[str, Any], CrawlStatus]:
    """Crawl the client's workspace -> (raw bundle, status). See the module docstring."""
    requests_before, anomalies_before = client.requests_made, len(client.anomalies)
    retries_before = client.retries
    if previous is not None and previous.get("workspace") != client.workspace:
        previous = None
    base = None if full else previous
    prev_reports = {str(r["token"]): r for r in (base or {}).get("reports", [])}
    prev_queries: Mapping[str, list[Any]] = (previous or {}).get("queries") or {}
    prev_users: Mapping[str, Any] = (base or {}).get("users") or {}
    errors: list[CrawlError] = []
    warnings: list[CrawlError] = []
    missing: list[CrawlError] = []
    captured_at = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")

    client.verify()
    spaces = list(client.spaces(include_personal))

    # reports and datasets of every space
    reports: dict[str, dict[str, Any]] = {}
    failed_spaces: list[str] = []
    listed = _run_pool(workers, [str(s["token"]) for s in spaces], lambda t: _list_space(client, t),
                       _bar(len(spaces), "spaces", progress))
    for space_token, result in listed:
        if isinstance(result, BIApiError):
            errors.append(_error(space_token, result))
            missing.append(CrawlError(space_token, "the space's listing failed: its reports may be missing",
                                      result.status))
            failed_spaces.append(space_token)
            continue
        for raw in result:
            reports.setdefault(str(raw["token"]), raw)

    # queries of every report, unless unchanged since the previous crawl
    queries: dict[str, list[dict[str, Any]]] = {}
    to_fetch: list[str] = []
    reused = 0
    for token, raw in reports.items():
        if _unchanged(raw, prev_reports.get(token)) and token in prev_queries:
            queries[token] = list(prev_queries[token])
            reused += 1
        else:
            to_fetch.append(token)
    reused_after_error: list[str] = []
    for token, result in _run_pool(workers, to_fetch, client.queries, _bar(len(to_fetch), "reports", progress)):
        if not isinstance(result, BIApiError):
            queries[token] = result
            continue
        why = {403: "no access (403)", 404: "gone since it was listed (404)"}.get(result.status or 0, "")
        errors.append(CrawlError(token, f"{why + ': ' if why else ''}{result}", result.status))
        if token in prev_queries:
            queries[token] = list(prev_queries[token])
            reused_after_error.append(token)
        else:
            missing.append(CrawlError(token, "the report's queries are missing", result.status))

    # data sources and definitions: on failure keep what the previous crawl knew
    extras: dict[str, list[dict[str, Any]]] = {}
    for key, fetch in (("data_sources", client.data_sources), ("definitions", client.definitions)):
        try:
            extras[key] = fetch()
        except BIApiError as exc:
            errors.append(_error(key, exc))
            extras[key] = list((previous or {}).get(key) or [])
            if not extras[key]:
                missing.append(CrawlError(key, f"no {key.replace('_', ' ')} are known", exc.status))

    # each distinct creator once
    creators = sorted({h for h in (link(r, "creator") for r in reports.values()) if h})
    users: dict[str, Any] = {}
    to_fetch_users = []
    for href in creators:
        if username_from_href(href) in prev_users:
            users[username_from_href(href)] = prev_users[username_from_href(href)]
        else:
            to_fetch_users.append(href)
    for href, result in _run_pool(workers, to_fetch_users, client.user, _bar(0, "users", False)):
        if isinstance(result, BIApiError):
            warnings.append(_error(f"user {username_from_href(href)}", result))
        else:
            users[str(result.get("username") or username_from_href(href))] = result

    anomalies = client.anomalies[anomalies_before:]
    bundle = {
        "format": BUNDLE_FORMAT, "format_version": BUNDLE_VERSION, "workspace": client.workspace,
        "captured_at": captured_at, "spaces": spaces, "reports": list(reports.values()), "queries": queries,
        "data_sources": extras["data_sources"], "definitions": extras["definitions"], "users": users,
    }
    status = CrawlStatus(
        complete=not errors and not any(a.incomplete for a in anomalies),
        source="mode_api", origin=client.host, workspace=client.workspace, captured_at=captured_at, full=base is None,
        errors=tuple(errors), missing=tuple(missing), warnings=tuple(warnings),
        anomalies=tuple(anomalies),
        requests_made=client.requests_made - requests_before,
        requests_saved=reused + (len(creators) - len(to_fetch_users)),
        retries=client.retries - retries_before, spaces=len(spaces), reports=len(reports),
        reports_fetched=len(to_fetch), reports_reused=reused, reused_after_error=tuple(reused_after_error),
    )
    logger.info("Mode crawl of %s: %d reports, %d requests (%d saved), complete=%s", client.workspace,
                len(reports), status.requests_made, status.requests_saved, status.complete)
    return bundle, status


def carry_forward(bundle: Mapping[str, Any], previous: Mapping[str, Any] | None,
                  status: CrawlStatus) -> dict[str, Any]:
    """The state to keep for the next crawl: this crawl, plus what it failed to see again.

    * a report whose queries failed keeps its *previous* record and queries (so the
      next crawl sees it as changed if it changed, and fetches it again), or, with no
      previous queries, its new record and no queries (fetched next time);
    * the reports of a space whose listing failed stay as the previous crawl knew them;
    * data sources, definitions and users the crawl could not read stay as they were.
    """
    if previous is None or previous.get("workspace") != bundle.get("workspace"):
        return dict(bundle)
    failed = {e.target for e in status.errors}
    prev_reports = {str(r["token"]): r for r in previous.get("reports", [])}
    prev_queries = previous.get("queries") or {}
    reports = {str(r["token"]): r for r in bundle.get("reports", [])}
    queries = {t: q for t, q in (bundle.get("queries") or {}).items() if t not in failed}
    for token in failed & reports.keys():
        if token in prev_reports and token in prev_queries:
            reports[token], queries[token] = prev_reports[token], prev_queries[token]
    for token, raw in prev_reports.items():
        if str(raw.get("space_token")) in failed and token not in reports:
            reports[token] = raw
            if token in prev_queries:
                queries[token] = prev_queries[token]
    state = {**bundle, "reports": list(reports.values()), "queries": queries,
             "users": {**(previous.get("users") or {}), **(bundle.get("users") or {})}}
    for key in ("data_sources", "definitions"):
        if key in failed:
            state[key] = previous.get(key) or []
    return state

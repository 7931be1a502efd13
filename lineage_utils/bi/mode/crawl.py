"""Crawl a Mode workspace into a snapshot bundle, completely, concurrently and honestly.

``crawl_workspace`` lists every space, every report and dataset of each space, then
fetches the queries of each report in a thread pool (the client's rate limiter bounds
the pace), the data sources, the definitions and each distinct creator once. It
returns the raw bundle (the same shape ``bi_snapshot.read_snapshot_dir`` returns) and
a ``CrawlStatus`` saying whether the crawl is complete and, if not, what is missing
and why.

Listings (``listing.walk_listing``: documented end signals, a repeated page fetched
twice, bounded by ``total_count`` or ``max_pages``) are walked until two walks in a
row agree: offset paging skips an item when one before it is deleted mid-walk, and
only a second walk shows it. A report that an earlier walk listed and the settled one
does not is looked up once: gone (404) is a warning, alive it is crawled. Walks that
never agree (``MAX_WALKS``) make the crawl incomplete with a ``listing_changed``
anomaly naming the listing, keeping every item any walk saw.

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
from lineage_utils.errors import ArtifactError, BIApiError
from lineage_utils.bi.hal import link, username_from_href
from lineage_utils.bi.status import Anomaly, CrawlError, CrawlStatus
from lineage_utils.bi.types import Where, read_report
from lineage_utils.bi.mode.client import ModeClient
from lineage_utils.bi.mode.listing import Fetch, Listing, item_key, walk_listing

logger = logging.getLogger(__name__)

CHANGE_FIELDS = ("updated_at", "last_saved_at", "edited_at")
"""A report whose fields here are unchanged keeps its previous queries."""
MAX_WALKS = 3
"""A listing is walked until two walks in a row agree, at most this many times."""


def _error(target: str, exc: BIApiError) -> CrawlError:
    return CrawlError(target=target, reason=str(exc), status=exc.status)


def _drop_mistyped(reports: dict[str, dict[str, Any]], errors: list[CrawlError], missing: list[CrawlError]) -> None:
    """Reports not of Mode's wire types (``bi.types``: never ``bool("false")``): named, left out, incomplete."""
    for token, raw in list(reports.items()):
        try:
            read_report(raw, Where(f"space {raw.get('space_token')} listing, report {token}"))
        except ArtifactError as exc:
            del reports[token]
            errors.append(CrawlError(token, str(exc), None))
            missing.append(CrawlError(token, "the report's record is not of Mode's types: left out", None))


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


def _fetcher(client: ModeClient, target: str) -> Fetch:
    """One page through the client's choke point (auth, rate limit, retries, errors)."""
    return lambda href, params: client.page(href, params, target=target)


def _settled(client: ModeClient, path: str, key: str, params: Mapping[str, Any], target: str,
             max_pages: int) -> tuple[list[dict[str, Any]], list[Anomaly], set[str]]:
    """A listing walked until two walks agree -> (items, anomalies, keys seen only before).

    A first walk that is empty or already incomplete is not walked again. Walks that
    still disagree after ``MAX_WALKS`` give every item any walk saw (the latest record
    of each) and a ``listing_changed`` anomaly.
    """
    href = f"/api/{client.workspace}/{path}"
    walks: list[Listing] = []
    while len(walks) < MAX_WALKS:
        walks.append(walk_listing(_fetcher(client, target), href, key, params=params, target=target,
                                  max_pages=max_pages))
        last = walks[-1]
        if len(walks) == 1 and (last.incomplete or not last.items):
            return list(last.items), list(last.anomalies), set()
        if len(walks) > 1 and (last.incomplete or last.keys == walks[-2].keys):
            break
    last = walks[-1]
    if not last.incomplete and last.keys == walks[-2].keys:
        earlier = set().union(*(w.keys for w in walks[:-1]))
        return list(last.items), list(last.anomalies), set(earlier - last.keys)
    merged: dict[str, dict[str, Any]] = {}
    for walk in walks:
        merged.update((item_key(item), item) for item in walk.items)
    anomalies = [a for w in walks for a in w.anomalies]
    if not last.incomplete:
        anomalies.append(Anomaly("listing_changed", target, f"{key}: {len(walks)} walks of the listing disagreed "
                                 f"(it changed while it was read); kept the {len(merged)} items any walk saw",
                                 incomplete=True))
    return list(merged.values()), anomalies, set()


def _list_space(client: ModeClient, space_token: str,
                max_pages: int) -> tuple[list[dict[str, Any]], list[Anomaly], set[str]]:
    """The reports and datasets of a space, settled -> (items, anomalies, tokens seen only before)."""
    items: list[dict[str, Any]] = []
    anomalies: list[Anomaly] = []
    gone: set[str] = set()
    for listing in ("reports", "datasets"):
        found, odd, vanished = _settled(client, f"spaces/{space_token}/{listing}", "reports",
                                        {"per_page": client.per_page}, f"space {space_token} {listing}", max_pages)
        items.extend({**raw, "space_token": raw.get("space_token") or space_token} for raw in found)
        anomalies.extend(odd)
        gone |= vanished
    return items, anomalies, gone


def _list_spaces(client: ModeClient, include_personal: bool,
                 max_pages: int) -> tuple[list[dict[str, Any]], list[Anomaly], set[str]]:
    """Every space visible (``filter=all`` adds members' personal spaces), settled."""
    params: dict[str, Any] = {"per_page": client.per_page, **({"filter": "all"} if include_personal else {})}
    return _settled(client, "spaces", "spaces", params, "spaces", max_pages)


def _look_up_vanished(client: ModeClient, gone: Mapping[str, str], spaces: set[str],
                      reports: dict[str, dict[str, Any]], errors: list[CrawlError], missing: list[CrawlError],
                      warnings: list[CrawlError]) -> None:
    """Reports an earlier walk listed and the settled walk did not: gone (a warning), or alive
    (crawled when its space is; a move to a space not crawled is a warning)."""
    for token, space_token in sorted(gone.items()):
        if token in reports:  # moved to a space whose listing showed it
            continue
        try:
            raw = client.report(token)
        except BIApiError as exc:
            if exc.status == 404:
                warnings.append(CrawlError(token, f"listed in space {space_token}, then gone from its listing: "
                                           "deleted while the crawl ran (404)", 404))
            else:
                errors.append(_error(token, exc))
                missing.append(CrawlError(token, f"left the listing of space {space_token} while the crawl ran "
                                          "and could not be looked up", exc.status))
            continue
        now_in = str(raw.get("space_token") or space_token)
        if now_in in spaces:
            reports[token] = {**raw, "space_token": now_in}
        else:
            warnings.append(CrawlError(token, f"moved from space {space_token} to space {now_in} while the crawl "
                                       "ran; that space is not crawled", None))


def crawl_workspace(client: ModeClient, previous: Mapping[str, Any] | None = None, full: bool = False,
                    workers: int = 8, progress: bool = False, include_personal: bool = True,
                    max_pages: int = 10_000) -> tuple[dict[str, Any], CrawlStatus]:
    """Crawl the client's workspace -> (raw bundle, status). See the module docstring.

    ``max_pages`` bounds a listing that gives no ``total_count`` (params ``bi.max_pages``).
    """
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
    spaces, listing_anomalies, gone_spaces = _list_spaces(client, include_personal, max_pages)
    warnings.extend(CrawlError(t, "listed, then gone from the spaces listing: deleted while the crawl ran", None)
                    for t in sorted(gone_spaces))

    # reports and datasets of every space
    reports: dict[str, dict[str, Any]] = {}
    gone: dict[str, str] = {}
    listed = _run_pool(workers, [str(s["token"]) for s in spaces], lambda t: _list_space(client, t, max_pages),
                       _bar(len(spaces), "spaces", progress))
    for space_token, result in listed:
        if isinstance(result, BIApiError):
            errors.append(_error(space_token, result))
            missing.append(CrawlError(space_token, "the space's listing failed: its reports may be missing",
                                      result.status))
            continue
        items, odd, vanished = result
        listing_anomalies.extend(odd)
        gone.update((token, space_token) for token in vanished)
        for raw in items:
            reports.setdefault(str(raw["token"]), raw)
    _look_up_vanished(client, gone, {str(s["token"]) for s in spaces}, reports, errors, missing, warnings)
    _drop_mistyped(reports, errors, missing)

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

    anomalies = listing_anomalies + client.anomalies[anomalies_before:]
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

"""Walk one paged Mode listing to its documented end: bounded, a repeated page fetched twice.

The rules of ../shared/mode-api.md ("Paging"), for every listing: the paged ones (spaces,
the reports and the datasets of a space) and the unpaged ones (queries, data sources,
definitions: one page unless it links a ``next_page``):

* the end is the API's own signal: an **empty** ``_embedded.<key>``; or, once pages
  have carried a ``_links.next_page`` (``next`` accepted too), a page without one; or
  a ``pagination`` block's ``total_pages`` reached. A page shorter than asked is not
  the end (``per_page`` may be ignored);
* a page whose items were all seen already is fetched once more before anything is
  concluded: a transient repeat costs one request; a second repeat stops the listing
  with a ``repeated_page`` anomaly (items may be missing);
* a listing that never ends is bounded: by ``total_count`` when the API gives one
  (``ceil(total_count / page size) + 1`` pages, the last being the empty end page),
  else by ``max_pages`` (params ``bi.max_pages``); beyond the bound it stops with a
  ``too_many_pages`` anomaly naming the listing;
* ``total_count`` is cross-checked against the items seen (``total_count_mismatch``);
* a page that is not a HAL listing (no ``_embedded`` object: an empty or cut body)
  raises ``BIApiError``: it is not taken for the end.

``walk_listing`` takes a ``fetch(href, params)`` returning the decoded JSON page, so
that every request still goes through the client's one choke point (auth, rate limit,
retries). It returns every item once, in order, with the anomalies seen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from lineage_utils.bi.hal import embedded, link
from lineage_utils.bi.status import Anomaly
from lineage_utils.errors import BIApiError

Fetch = Callable[[str, "Mapping[str, Any] | None"], Any]
"""One GET of ``href`` with query ``params`` (None: the href carries its query) -> JSON."""


@dataclass(frozen=True)
class Listing:
    """What one walk of a listing saw: items (each once, in order), pages fetched, anomalies."""

    items: tuple[dict[str, Any], ...]
    pages: int
    anomalies: tuple[Anomaly, ...] = ()

    @property
    def incomplete(self) -> bool:
        """Whether items may be missing because of an anomaly."""
        return any(a.incomplete for a in self.anomalies)

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(item_key(item) for item in self.items)


def item_key(item: Mapping[str, Any]) -> str:
    """An item's identity: its ``token``, else ``id``, else ``username``, else its content."""
    for field in ("token", "id", "username"):
        if item.get(field) not in (None, ""):
            return str(item[field]) if field == "token" else f"{field}:{item[field]}"
    return repr(sorted(item.items()))


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _page(fetch: Fetch, href: str, query: Mapping[str, Any] | None, key: str, target: str,
          page: int) -> tuple[Any, list[dict[str, Any]]]:
    document = fetch(href, query)
    if not isinstance(document, Mapping) or not isinstance(document.get("_embedded"), Mapping):
        raise BIApiError(f"Mode API GET {href} ({target}): page {page} is not a HAL listing (no '_embedded' "
                         "object): not taken for the end of the listing", endpoint=f"GET {href}", target=target)
    return document, embedded(document, key)


def walk_listing(fetch: Fetch, href: str, key: str, *, params: Mapping[str, Any] | None = None,
                 target: str = "", max_pages: int = 10_000, paged: bool = True) -> Listing:
    """Every item of a HAL listing, following the module's rules.

    ``paged`` sends ``page=1, 2, ...`` (spaces, reports, datasets); an unpaged listing
    (queries, data sources, definitions) is one page unless it links a ``next_page``.
    """
    target = target or href
    query: Mapping[str, Any] | None = {**(params or {}), "page": 1} if paged else dict(params or {})
    page, seen_next_link, total_count, page_size = 1, False, None, 0
    seen: set[str] = set()
    items: list[dict[str, Any]] = []
    anomalies: list[Anomaly] = []
    stopped = False
    while True:
        document, page_items = _page(fetch, href, query, key, target, page)
        fresh = [item for item in page_items if item_key(item) not in seen]
        if page_items and not fresh:  # a repeat: once may be a glitch, so ask again
            document, page_items = _page(fetch, href, query, key, target, page)
            fresh = [item for item in page_items if item_key(item) not in seen]
            if page_items and not fresh:
                anomalies.append(Anomaly("repeated_page", target, f"page {page} of {key} repeated items already "
                                         f"seen twice ({len(page_items)} items); listing stopped there",
                                         incomplete=True))
                stopped = True
        pagination = document.get("pagination")
        pagination = pagination if isinstance(pagination, Mapping) else {}
        if _as_int(pagination.get("total_count")) is not None:
            total_count = _as_int(pagination.get("total_count"))
        if stopped or not page_items:
            break
        for item in fresh:
            seen.add(item_key(item))
            items.append(item)
        page_size = max(page_size, len(page_items))
        next_href = link(document, "next_page") or link(document, "next")
        if next_href:
            seen_next_link = True
        elif seen_next_link or not paged:
            break
        total_pages = _as_int(pagination.get("total_pages"))
        if not next_href and total_pages is not None and (_as_int(pagination.get("page")) or page) >= total_pages:
            break
        bound = max_pages if total_count is None else math.ceil(total_count / page_size) + 1
        if page >= bound:
            basis = f"total_count={total_count}" if total_count is not None else f"bi.max_pages={max_pages}"
            anomalies.append(Anomaly("too_many_pages", target, f"{key}: no end after {page} pages ({basis}); "
                                     "listing stopped there", incomplete=True))
            stopped = True
            break
        page += 1
        href, query = (next_href, None) if next_href else (href, {**(params or {}), "page": page})
    if total_count is not None and not stopped and total_count != len(seen):
        anomalies.append(Anomaly("total_count_mismatch", target, f"{key}: the API says total_count={total_count}, "
                                 f"the pages held {len(seen)}", incomplete=len(seen) < total_count))
    return Listing(items=tuple(items), pages=page, anomalies=tuple(anomalies))

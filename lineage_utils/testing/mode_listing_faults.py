"""Scripted misbehaviour of the Mode stand-in's report and dataset listings.

Each fault reproduces something offset paging really does, for one listing of one
space (``listing`` is ``"reports"`` or ``"datasets"``):

* ``repeat``: the next ``times`` requests for page ``page`` serve page ``page - 1``
  again (a stale cache), then the page is served as it should be;
* ``delete_after``: right after page ``page`` is served, a report is deleted (the
  given token, else the last one that page showed), ``times`` walks in a row: the
  later pages shift by one, so a walk that goes on skips the deleted report's
  neighbour;
* ``endless``: every page is a full page of new reports with a ``_links.next_page``
  (and a ``pagination.total_count`` when one is given), the reports becoming real
  ones of the space (they can be fetched, with no queries); ``stop_after`` pages is a
  safety net so a client that ignores every bound still ends.

``ListingFaults`` keeps the scripts; ``ModeStandIn._listing`` asks it which page to
serve (``page_to_serve``), what to delete after (``to_delete``) and for endless pages
(``endless_page``). Callers hold the stand-in's lock.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

Key = tuple[str, str]  # (space token, "reports" | "datasets")


@dataclass
class _Deletion:
    page: int
    token: str | None
    times: int


@dataclass
class _Endless:
    total_count: int | None
    stop_after: int


class ListingFaults:
    def __init__(self) -> None:
        self._repeats: dict[tuple[str, str, int], int] = {}
        self._deletions: dict[Key, _Deletion] = {}
        self._endless: dict[Key, _Endless] = {}

    def repeat(self, space: str, page: int, times: int, listing: str) -> None:
        if page < 2:
            raise ValueError("page 1 has no page before it to repeat")
        self._repeats[(space, listing, page)] = times

    def delete_after(self, space: str, page: int, token: str | None, times: int, listing: str) -> None:
        self._deletions[(space, listing)] = _Deletion(page, token, times)

    def endless(self, space: str, listing: str, total_count: int | None, stop_after: int) -> None:
        self._endless[(space, listing)] = _Endless(total_count, stop_after)

    def is_endless(self, space: str, listing: str) -> bool:
        return (space, listing) in self._endless

    def page_to_serve(self, space: str, listing: str, page: int) -> int:
        """The page number actually served for a request of ``page``."""
        left = self._repeats.get((space, listing, page), 0)
        if left > 0:
            self._repeats[(space, listing, page)] = left - 1
            return page - 1
        return page

    def to_delete(self, space: str, listing: str, page: int, shown: list[dict[str, Any]]) -> str | None:
        """The report to delete now that ``page`` was served, if one is scripted."""
        deletion = self._deletions.get((space, listing))
        if deletion is None or deletion.times <= 0 or deletion.page != page or not shown:
            return None
        deletion.times -= 1
        return deletion.token or str(shown[-1]["token"])

    def endless_page(self, space: str, listing: str, page: int, size: int, path: str,
                     reports: dict[str, dict[str, Any]], queries: dict[str, list[Any]]) -> dict[str, Any]:
        """Page ``page`` of a listing that never ends: ``size`` new reports (added to
        ``reports`` and ``queries``) and a next link."""
        script = self._endless[(space, listing)]
        if page > script.stop_after:
            return {"_links": {"self": {"href": f"{path}?page={page}"}}, "_embedded": {"reports": []}}
        shown = []
        for index in range(size):
            token = f"e{space[:5]}{page:04d}{index:02d}"
            reports.setdefault(token, _made_up_report(token, space, listing, path))
            queries.setdefault(token, [])
            shown.append(copy.deepcopy(reports[token]))
        document: dict[str, Any] = {
            "_links": {"self": {"href": f"{path}?page={page}"}, "next_page": {"href": f"{path}?page={page + 1}"}},
            "_embedded": {"reports": shown},
        }
        if script.total_count is not None:
            document["pagination"] = {"total_count": script.total_count}
        return document


def _made_up_report(token: str, space: str, listing: str, path: str) -> dict[str, Any]:
    stamp = "2024-01-02T03:04:05.000Z"
    workspace = path.split("/")[2]
    return {"token": token, "id": int.from_bytes(token.encode(), "big") % 10**9, "name": f"Endless {token}",
            "type": "DatasetReport" if listing == "datasets" else "Report", "space_token": space,
            "archived": False, "created_at": stamp, "updated_at": stamp, "edited_at": stamp, "last_saved_at": stamp,
            "_links": {"self": {"href": f"/api/{workspace}/reports/{token}"}}}

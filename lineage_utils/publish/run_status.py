"""The crawl status a page shows for a run, and its problems named one per line."""

from __future__ import annotations

from lineage_utils.bi.status import CrawlStatus
from lineage_utils.run_folder import Run


def crawl_status_of(run: Run | None) -> CrawlStatus | None:
    """The run's stored crawl status, or None when the run (or its 01_crawl output) is not there."""
    if run is None or not run.path("crawl_status").is_file():
        return None
    return CrawlStatus.from_dict(run.read_json("crawl_status"), origin=str(run.path("crawl_status")))


def problem_names(status: CrawlStatus | None) -> list[str]:
    """The crawl's problems, one line each (``<target>: <reason>``); a generic line when none is named."""
    if status is None:
        return ["the crawl status of this run is not known"]
    return [f"{target}: {reason}" for target, reason in status.problems] or ["the crawl did not complete"]

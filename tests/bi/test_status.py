"""The crawl status record: one shape for a snapshot and a live crawl, read back strictly."""

from __future__ import annotations

import pytest

from lineage_utils.bi.status import Anomaly, CrawlError, CrawlStatus
from lineage_utils.errors import ArtifactError


def live_status() -> CrawlStatus:
    return CrawlStatus(complete=False, source="mode_api", origin="h", workspace="w", captured_at="2026-11-01T00:00:00Z",
                       full=False, errors=(CrawlError("r1", "no access (403)", 403),),
                       anomalies=(Anomaly("repeated_page", "space s", "page 2 repeats", True),),
                       requests_made=9, reused_after_error=("r1",))


def test_round_trip_through_the_stored_dict():
    status = live_status()
    assert CrawlStatus.from_dict(status.to_dict()) == status
    assert CrawlStatus.from_dict({**status.to_dict(), "schema_version": 1}) == status


def test_problems_name_each_target_and_reason():
    assert live_status().problems == [("r1", "no access (403)"), ("space s", "repeated_page: page 2 repeats")]


def test_an_unknown_key_names_the_file():
    with pytest.raises(ArtifactError, match=r"data/crawl_status.json: unknown crawl status key 'colour'"):
        CrawlStatus.from_dict({**live_status().to_dict(), "colour": 1}, origin="data/crawl_status.json")


def test_a_missing_key_is_refused():
    data = live_status().to_dict()
    del data["complete"]
    with pytest.raises(ArtifactError, match="not a crawl status"):
        CrawlStatus.from_dict(data)

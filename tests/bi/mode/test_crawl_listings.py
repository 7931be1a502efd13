"""Listings the crawl can trust: a report deleted mid-walk, a repeated page, a listing without end."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from lineage_utils.bi.mode.adapter import ModeAdapter
from lineage_utils.bi.mode.crawl import crawl_workspace
from lineage_utils.bi.mode.listing import walk_listing
from lineage_utils.errors import BIApiError
from lineage_utils.params import build_params
from tests.conftest import MODE_SECRET, MODE_TOKEN, mode_client

COMMERCE = "524caa2b52fe"  # 11 reports and 1 dataset
COMMERCE_LISTING = f"/spaces/{COMMERCE}/reports$"


def crawl(standin, **options):
    return crawl_workspace(mode_client(standin), None, workers=4, **options)


def commerce_reports(standin):
    return [t for t, r in standin.reports.items() if r["space_token"] == COMMERCE and r["type"] != "DatasetReport"]


def crawled(bundle, space=COMMERCE):
    return {r["token"] for r in bundle["reports"] if r["space_token"] == space and r["type"] != "DatasetReport"}


def requests_for_page(standin, page):
    return sum(1 for r in standin.log if r.path.endswith(f"/spaces/{COMMERCE}/reports")
               and parse_qs(r.query).get("page") == [str(page)])


# -- a report deleted between two pages -----------------------------------------------------------
def test_a_report_deleted_between_pages_loses_no_live_neighbour(mode_standin):
    mode_standin.page_size = 3
    before = commerce_reports(mode_standin)
    deleted, neighbour = before[2], before[3]  # the last of page 1, and the first of page 2
    mode_standin.delete_after_page(COMMERCE, page=1)
    bundle, status = crawl(mode_standin)
    assert commerce_reports(mode_standin) == [t for t in before if t != deleted]
    assert crawled(bundle) == set(before) - {deleted} and neighbour in crawled(bundle)
    assert status.complete and status.errors == () and status.missing == () and status.anomalies == ()
    (vanished,) = status.warnings
    assert (vanished.target, vanished.status) == (deleted, 404) and COMMERCE in vanished.reason
    assert status.reports == 36


def test_a_listing_that_changes_on_every_walk_makes_the_crawl_incomplete(mode_standin):
    mode_standin.page_size = 3
    before = commerce_reports(mode_standin)
    mode_standin.delete_after_page(COMMERCE, page=1, times=3)  # one deletion in each of three walks
    bundle, status = crawl(mode_standin)
    live = set(commerce_reports(mode_standin))
    deleted = set(before) - live
    assert len(deleted) == 3
    assert not status.complete
    (anomaly,) = status.anomalies
    assert (anomaly.kind, anomaly.target, anomaly.incomplete) == ("listing_changed", f"space {COMMERCE} reports",
                                                                  True)
    assert crawled(bundle) == set(before)  # every live report, and the deleted ones any walk saw
    assert {(e.target, e.status) for e in status.errors} == {(t, 404) for t in deleted}
    assert {m.target for m in status.missing} == deleted


# -- a page that repeats ------------------------------------------------------------------------------
def test_a_page_repeating_once_is_fetched_again_and_the_crawl_completes(mode_standin):
    mode_standin.page_size = 3
    mode_standin.repeat_page(COMMERCE, page=2, times=1)
    bundle, status = crawl(mode_standin)
    assert status.complete and status.anomalies == () and status.errors == ()
    assert crawled(bundle) == set(commerce_reports(mode_standin))
    assert requests_for_page(mode_standin, 2) == 3  # the repeat, its re-fetch, and the second walk


def test_a_page_repeating_twice_is_an_anomaly_and_the_crawl_incomplete(mode_standin):
    mode_standin.page_size = 3
    mode_standin.repeat_page(COMMERCE, page=2, times=2)
    bundle, status = crawl(mode_standin)
    assert not status.complete and status.errors == ()
    (anomaly,) = status.anomalies
    assert (anomaly.kind, anomaly.target, anomaly.incomplete) == ("repeated_page", f"space {COMMERCE} reports", True)
    assert "page 2" in anomaly.detail
    assert crawled(bundle) == set(commerce_reports(mode_standin)[:3])
    assert requests_for_page(mode_standin, 2) == 2  # fetched once more before it was recorded


# -- a listing that never ends ----------------------------------------------------------------------
def test_a_listing_without_end_stops_at_max_pages(mode_standin):
    mode_standin.page_size = 3
    mode_standin.endless_listing(COMMERCE, stop_after=60)
    bundle, status = crawl(mode_standin, max_pages=4)
    assert not status.complete and status.errors == ()
    (anomaly,) = status.anomalies
    assert (anomaly.kind, anomaly.target, anomaly.incomplete) == ("too_many_pages", f"space {COMMERCE} reports", True)
    assert "bi.max_pages=4" in anomaly.detail
    assert mode_standin.requests_to(COMMERCE_LISTING) == 4
    assert len(crawled(bundle)) == 4 * 3


def test_a_listing_without_end_is_bounded_by_its_total_count(mode_standin):
    mode_standin.page_size = 3
    mode_standin.endless_listing(COMMERCE, total_count=7, stop_after=60)
    _, status = crawl(mode_standin, max_pages=10_000)
    assert not status.complete
    (anomaly,) = status.anomalies
    assert (anomaly.kind, anomaly.target) == ("too_many_pages", f"space {COMMERCE} reports")
    assert "total_count=7" in anomaly.detail
    assert mode_standin.requests_to(COMMERCE_LISTING) == 4  # ceil(7 / 3) pages and the end page


def test_the_adapter_bounds_listings_by_bi_max_pages(mode_standin, tmp_path, monkeypatch):
    monkeypatch.setenv("MP_MODE_TOKEN", MODE_TOKEN)
    monkeypatch.setenv("MP_MODE_SECRET", MODE_SECRET)
    params = build_params({"bi": {"source": "mode_api", "workspace": mode_standin.workspace,
                                  "base_url": mode_standin.base_url, "token_env": "MP_MODE_TOKEN",
                                  "secret_env": "MP_MODE_SECRET", "rate_limit": 1000, "max_pages": 2,
                                  "state_dir": str(tmp_path / "state")}}, tmp_path)
    mode_standin.endless_listing(COMMERCE, stop_after=60)  # 30 a page; every other listing takes 1 page + the end
    _, status = ModeAdapter.from_params(params).crawl()
    (anomaly,) = status.anomalies
    assert anomaly.kind == "too_many_pages" and "bi.max_pages=2" in anomaly.detail
    assert mode_standin.requests_to(COMMERCE_LISTING) == 2


# -- the walker's end signals, without a server ---------------------------------------------------------
def pages(*documents):
    calls = []

    def fetch(href, params):
        calls.append((href, dict(params or {})))
        return documents[min(len(calls), len(documents)) - 1]
    return fetch, calls


def page_of(*tokens, **links):
    return {"_links": {name: {"href": href} for name, href in links.items()},
            "_embedded": {"reports": [{"token": t} for t in tokens]}}


@pytest.mark.parametrize("name", ["next_page", "next"])
def test_next_links_are_followed_and_their_absence_ends_the_listing(name):
    fetch, calls = pages(page_of("a", **{name: "/p2"}), page_of("b"))
    listing = walk_listing(fetch, "/p1", "reports", params={"per_page": 2}, target="t")
    assert [i["token"] for i in listing.items] == ["a", "b"] and listing.anomalies == ()
    assert calls == [("/p1", {"per_page": 2, "page": 1}), ("/p2", {})]


def test_a_short_page_is_not_the_end_but_an_empty_one_is():
    fetch, calls = pages(page_of("a", "b"), page_of("c"), page_of())
    listing = walk_listing(fetch, "/p", "reports", target="t")
    assert [i["token"] for i in listing.items] == ["a", "b", "c"] and len(calls) == 3


def test_a_page_that_is_not_a_hal_listing_is_an_error_not_the_end():
    fetch, _ = pages(page_of("a"), {"message": "cut"})
    with pytest.raises(BIApiError, match="page 2 is not a HAL listing"):
        walk_listing(fetch, "/p", "reports", target="space s reports")


# -- a report moved to another space mid-crawl ------------------------------------------------------
SALES, PERSONAL = "f570a9d1bdeb", "2d1c99ec8d9c"  # listed after Commerce; a personal space


def move_after_first_page(standin, token, source, destination):
    original = standin._listing

    def moving(space, listing, query, path):
        answer = original(space, listing, query, path)
        if space == source and listing == "reports" and standin.reports[token]["space_token"] == source:
            standin.reports[token]["space_token"] = destination
        return answer

    standin._listing = moving


@pytest.mark.parametrize("destination, personal", [(COMMERCE, True), (PERSONAL, False)],
                         ids=["to-a-space-listed-before", "to-a-space-not-crawled"])
def test_a_report_moved_mid_crawl_is_looked_up(mode_standin, destination, personal):
    token = next(t for t, r in mode_standin.reports.items() if r["space_token"] == SALES)
    move_after_first_page(mode_standin, token, SALES, destination)
    bundle, status = crawl_workspace(mode_client(mode_standin), None, workers=1, include_personal=personal)
    assert status.complete and status.errors == () and status.anomalies == ()
    spaces = {r["token"]: r["space_token"] for r in bundle["reports"]}
    if personal:
        assert spaces[token] == COMMERCE and status.warnings == ()
    else:
        assert token not in spaces
        (moved,) = status.warnings
        assert moved.target == token and f"to space {PERSONAL}" in moved.reason


# -- the spaces listing: a pagination block, next links or not -----------------------------------------
@pytest.mark.parametrize("shape", ["spec", "live"])
@pytest.mark.parametrize("next_links", [True, False])
@pytest.mark.parametrize("honour_per_page", [True, False])
def test_spaces_are_read_across_pages_of_every_documented_shape(mode_standin, shape, next_links, honour_per_page):
    mode_standin.spaces_page_size, mode_standin.pagination_shape = 2, shape
    mode_standin.next_links, mode_standin.spaces_honour_per_page = next_links, honour_per_page
    client = mode_client(mode_standin, per_page=2 if honour_per_page else 100)  # 2 a page either way
    bundle, status = crawl_workspace(client, None, workers=4)
    assert status.complete and status.anomalies == () and len(bundle["spaces"]) == 5
    assert mode_standin.requests_to("/spaces$") == 2 * 3  # two walks that agree; total_pages or next links end each

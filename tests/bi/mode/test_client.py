"""The Mode client: its one choke point (auth, timeouts, retries, rate limit) and its paging."""

from __future__ import annotations

import logging
import time

import pytest

from lineage_utils.errors import BIApiError
from lineage_utils.bi.mode.client import RateLimiter, embedded, link
from tests.conftest import MODE_DEMO, MODE_SECRET, MODE_TOKEN, mode_client

COMMERCE = "524caa2b52fe"  # 11 reports, 1 dataset
COMMERCE_QUERIES = r"/reports/e9a11122b9f7/queries$"


def commerce_tokens(standin) -> list[str]:
    return [t for t, r in standin.reports.items() if r["space_token"] == COMMERCE and r["type"] == "Report"]


# -- HAL helpers and links ------------------------------------------------------------------
def test_hal_helpers_accept_missing_embedded_and_links():
    assert embedded({"_embedded": {}}, "reports") == []
    assert embedded({"_links": {}}, "reports") == []
    assert embedded({"_embedded": {"reports": [{"token": "a"}]}}, "reports") == [{"token": "a"}]
    assert link({"_links": {"next_page": {"href": "/api/x?page=2"}}}, "next_page") == "/api/x?page=2"
    assert link({"_links": {}}, "next_page") is None


def test_root_relative_hrefs_join_the_host_not_the_workspace(mode_standin):
    client = mode_client(mode_standin)
    assert client.url("/api/lee_chen") == f"{mode_standin.base_url}/api/lee_chen"
    assert client.user("/api/lee_chen")["username"] == "lee_chen"


def test_links_to_another_host_are_not_followed(mode_standin):
    with pytest.raises(BIApiError, match="leaves"):
        mode_client(mode_standin).user("https://elsewhere.example.com/api/lee_chen")


# -- the rate limiter -----------------------------------------------------------------------
def test_rate_limiter_paces_evenly_after_one_token():
    now = [0.0]
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limiter.acquire()
    assert now[0] == pytest.approx(1.0)
    assert waits == pytest.approx([0.25] * 4)


def test_rate_limit_bounds_concurrent_requests(mode_standin):
    from concurrent.futures import ThreadPoolExecutor

    client = mode_client(mode_standin, rate_limit=50)
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: client.verify(), range(26)))
    assert time.monotonic() - started >= 0.48  # 25 intervals of 20 ms after the first token


# -- retries and failures -------------------------------------------------------------------
def test_5xx_is_retried_until_it_succeeds(mode_standin):
    mode_standin.fail(COMMERCE_QUERIES, status=503, times=2)
    client = mode_client(mode_standin)
    assert client.queries("e9a11122b9f7")
    assert (client.requests_made, client.retries) == (3, 2)


def test_429_honours_retry_after(mode_standin):
    mode_standin.burst_429(times=1, retry_after="0.3")
    client = mode_client(mode_standin, backoff=0.0)
    started = time.monotonic()
    client.verify()
    assert time.monotonic() - started >= 0.3
    assert client.retries == 1


def test_429_without_retry_after_backs_off_exponentially(mode_standin):
    mode_standin.burst_429(times=3, retry_after=None)
    client = mode_client(mode_standin, backoff=0.05, backoff_max=1.0)
    started = time.monotonic()
    client.verify()
    assert time.monotonic() - started >= 0.05 + 0.1 + 0.2  # base * 2^n, plus jitter


def test_dropped_connections_are_retried(mode_standin):
    mode_standin.drop_connections(r"/verify$", times=2)
    client = mode_client(mode_standin)
    assert client.verify()["workspace"] == "metapipeline-demo"
    assert client.retries == 2


def test_a_slow_response_times_out_and_is_retried(mode_standin):
    mode_standin.latency = 0.3
    client = mode_client(mode_standin, timeout=0.1, max_retries=1)
    with pytest.raises(BIApiError, match=r"gave up after 2 attempts; last: ReadTimeout") as caught:
        client.verify()
    assert caught.value.status is None and caught.value.retried


def test_give_up_names_endpoint_target_and_status(mode_standin):
    mode_standin.fail(COMMERCE_QUERIES, status=500, times=10)
    client = mode_client(mode_standin, max_retries=2)
    with pytest.raises(BIApiError) as caught:
        client.queries("e9a11122b9f7")
    error = caught.value
    assert (error.status, error.target, error.retried) == (500, "report e9a11122b9f7 queries", True)
    assert "GET /api/metapipeline-demo/reports/e9a11122b9f7/queries" in str(error)
    assert "gave up after 3 attempts" in str(error)
    assert client.requests_made == 3


def test_bad_credentials_fail_at_once_without_retries(mode_standin):
    from lineage_utils.bi.mode.client import ModeClient

    client = ModeClient(mode_standin.base_url, "metapipeline-demo", MODE_TOKEN, "wrong-secret-value",
                        max_retries=5, rate_limit=0)
    with pytest.raises(BIApiError, match="HTTP 401") as caught:
        client.verify()
    assert caught.value.status == 401 and client.requests_made == 1
    assert "wrong-secret-value" not in str(caught.value) and MODE_TOKEN not in str(caught.value)


def test_404_is_not_retried(mode_standin):
    client = mode_client(mode_standin)
    with pytest.raises(BIApiError) as caught:
        client.report("000000000000")
    assert caught.value.status == 404 and client.requests_made == 1


def test_credentials_never_reach_the_logs(mode_standin, caplog):
    caplog.set_level(logging.DEBUG)
    mode_standin.burst_429(times=1, retry_after="0")
    mode_standin.fail(r"/queries$", status=500, times=2)
    mode_standin.drop_connections(r"/definitions$")
    from lineage_utils.bi.mode.crawl import crawl_workspace

    client = mode_client(mode_standin)
    crawl_workspace(client, None, workers=4)
    repr(client)
    assert "retry" in caplog.text
    import base64

    basic = base64.b64encode(f"{MODE_TOKEN}:{MODE_SECRET}".encode()).decode()
    for secret in (MODE_TOKEN, MODE_SECRET, basic):
        assert secret not in caplog.text
        assert secret not in repr(client)


# -- paging ----------------------------------------------------------------------------------
@pytest.mark.parametrize("page_size", [1, 2, 3, 4, 11, 30])
def test_report_paging_reads_every_page(page_size):
    """11 Commerce reports: several page sizes, 11 being an exact multiple (one full page)."""
    from lineage_utils.testing import ModeStandIn

    with ModeStandIn(MODE_DEMO, token=MODE_TOKEN, secret=MODE_SECRET, page_size=page_size) as standin:
        client = mode_client(standin)
        tokens = [r["token"] for r in client.reports_of_space(COMMERCE)]
        assert tokens == commerce_tokens(standin)
        pages = -(-11 // page_size)
        assert standin.requests_to(f"/spaces/{COMMERCE}/reports$") == pages + 1  # the empty page ends it
    assert client.anomalies == []


def test_a_short_page_is_not_the_end(mode_standin):
    """The server ignores per_page=100 and sends 4 a page: each page is 'short' of what was asked."""
    mode_standin.page_size = 4
    client = mode_client(mode_standin, per_page=100)
    assert len(list(client.reports_of_space(COMMERCE))) == 11


def test_per_page_is_used_where_the_server_honours_it(mode_standin):
    mode_standin.page_size, mode_standin.honour_per_page = 4, True
    client = mode_client(mode_standin, per_page=100)
    assert len(list(client.reports_of_space(COMMERCE))) == 11
    assert mode_standin.requests_to(f"/spaces/{COMMERCE}/reports$") == 2


def test_a_repeating_page_stops_the_listing_and_is_recorded(mode_standin):
    mode_standin.page_size = 3
    mode_standin.loop_listing(COMMERCE, from_page=2)
    client = mode_client(mode_standin)
    assert len(list(client.reports_of_space(COMMERCE))) == 3
    (anomaly,) = client.anomalies
    assert (anomaly.kind, anomaly.incomplete) == ("repeated_page", True)
    assert COMMERCE in anomaly.target and "page 2" in anomaly.detail


@pytest.mark.parametrize("shape", ["spec", "live"])
@pytest.mark.parametrize("next_links", [True, False])
def test_spaces_paging_with_a_pagination_block(mode_standin, shape, next_links):
    mode_standin.spaces_page_size, mode_standin.pagination_shape, mode_standin.next_links = 2, shape, next_links
    client = mode_client(mode_standin, per_page=2)
    assert len(list(client.spaces())) == 5
    assert mode_standin.requests_to("/spaces$") == 3  # total_pages or the last next_page link ends it
    assert client.anomalies == []


def test_spaces_paging_when_per_page_is_ignored(mode_standin):
    mode_standin.spaces_page_size, mode_standin.spaces_honour_per_page = 2, False
    client = mode_client(mode_standin, per_page=100)
    assert len(list(client.spaces())) == 5
    assert client.anomalies == []


def test_spaces_without_filter_all_leave_personal_spaces_out(mode_standin):
    assert len(list(mode_client(mode_standin).spaces(include_personal=False))) == 4


def test_total_count_mismatch_is_recorded(mode_standin):
    mode_standin.spaces_page_size, mode_standin.next_links = 2, False
    original = mode_standin._spaces

    def lying(query, path):
        status, body = original(query, path)
        body["pagination"]["total_count"] = 6
        return status, body

    mode_standin._spaces = lying
    client = mode_client(mode_standin, per_page=2)
    assert len(list(client.spaces())) == 5
    (anomaly,) = client.anomalies
    assert (anomaly.kind, anomaly.incomplete) == ("total_count_mismatch", True)

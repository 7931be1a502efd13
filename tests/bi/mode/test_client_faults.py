"""The Mode client against hosts that misbehave: echoed credentials, broken 200s, bodies cut short."""

from __future__ import annotations

import base64
import logging
from urllib.parse import quote, quote_plus

import pytest

from lineage_utils.bi.mode.crawl import crawl_workspace
from lineage_utils.errors import BIApiError
from lineage_utils.testing import ModeStandIn
from tests.conftest import MODE_DEMO, MODE_SECRET, MODE_TOKEN, mode_client

REPORT = "e9a11122b9f7"
QUERIES = rf"/reports/{REPORT}/queries$"
QUERIES_ENDPOINT = f"GET /api/metapipeline-demo/reports/{REPORT}/queries"
LEAKY_TOKEN, LEAKY_SECRET = "tok+Leaky/7f3a9c", "s3/cr+t=k&y%Z\"q9Lm2"  # URL and JSON escapes differ from raw


def secret_forms(token: str, secret: str) -> list[str]:
    """What a leaky host can send back: raw, base64 (pair and each alone), URL-encoded."""
    b64 = [base64.b64encode(v.encode()).decode() for v in (f"{token}:{secret}", token, secret)]
    return [token, secret, *b64, *(f.rstrip("=") for f in b64),
            *(quote(v, safe="") for v in (token, secret)), *(quote_plus(v) for v in (token, secret)),
            *(quote(v) for v in (token, secret))]


@pytest.fixture
def leaky_standin():
    with ModeStandIn(MODE_DEMO, token=LEAKY_TOKEN, secret=LEAKY_SECRET) as standin:
        standin.echo_headers = True
        yield standin


def leaky_client(standin, **options):
    from lineage_utils.bi.mode.client import ModeClient

    settings = {"rate_limit": 0, "timeout": 5.0, "max_retries": 2, "backoff": 0.01, "backoff_max": 0.05, **options}
    return ModeClient(standin.base_url, standin.workspace, LEAKY_TOKEN, LEAKY_SECRET, **settings)


def assert_no_secret(text: str) -> None:
    for form in secret_forms(LEAKY_TOKEN, LEAKY_SECRET):
        assert form not in text, f"{form!r} leaked into: {text[:400]}"


# -- 4. echoed credentials --------------------------------------------------------------------
def test_the_stand_in_really_echoes_every_form(leaky_standin):
    import requests

    leaky_standin.deny_report(REPORT, 403)
    body = requests.get(f"{leaky_standin.base_url}/api/{leaky_standin.workspace}/reports/{REPORT}",
                        auth=(LEAKY_TOKEN, LEAKY_SECRET), timeout=5).text
    basic = base64.b64encode(f"{LEAKY_TOKEN}:{LEAKY_SECRET}".encode()).decode()
    assert basic in body and quote_plus(LEAKY_SECRET) in body and quote(LEAKY_TOKEN, safe="") in body


@pytest.mark.parametrize("status", [403, 404])
def test_an_echoed_authorization_header_is_redacted_in_a_4xx_error(leaky_standin, status):
    leaky_standin.deny_report(REPORT, status)
    with pytest.raises(BIApiError) as caught:
        leaky_client(leaky_standin).report(REPORT)
    text = str(caught.value)
    assert caught.value.status == status and f"HTTP {status}" in text and "***" in text
    assert_no_secret(text)
    assert len(text) < 500  # the outside body is capped


def test_an_echoed_authorization_header_is_redacted_after_retries(leaky_standin, caplog):
    caplog.set_level(logging.DEBUG)
    leaky_standin.fail(QUERIES, status=500, times=10)
    with pytest.raises(BIApiError, match="gave up after 3 attempts") as caught:
        leaky_client(leaky_standin).queries(REPORT)
    assert_no_secret(str(caught.value))
    assert "retry" in caplog.text
    assert_no_secret(caplog.text)


def test_wrong_credentials_echoed_in_a_401_are_redacted(leaky_standin):
    from lineage_utils.bi.mode.client import ModeClient

    client = ModeClient(leaky_standin.base_url, leaky_standin.workspace, LEAKY_TOKEN, "wr/ng+secret=value",
                        rate_limit=0)
    with pytest.raises(BIApiError, match="HTTP 401") as caught:
        client.verify()
    for form in secret_forms(LEAKY_TOKEN, "wr/ng+secret=value"):
        assert form not in str(caught.value)


def test_a_crawl_records_redacted_errors(leaky_standin):
    leaky_standin.deny_report(REPORT, 403)
    bundle, status = crawl_workspace(leaky_client(leaky_standin), None, workers=4)
    assert status.complete is False and [e.target for e in status.errors] == [REPORT]
    import json

    assert_no_secret(json.dumps(status.to_dict()))


# -- 6. empty or broken 200 responses --------------------------------------------------------------
BROKEN = {"empty": b"", "not JSON": b"<html><body>Bad gateway</body></html>", "truncated JSON": None,
          "not an object": b"[]"}


@pytest.mark.parametrize("body", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_200_that_persists_makes_the_crawl_incomplete_naming_the_endpoint(mode_standin, body):
    mode_standin.bad_body(QUERIES, body, times=100)
    bundle, status = crawl_workspace(mode_client(mode_standin, max_retries=2), None, workers=4)
    assert status.complete is False
    (error,) = status.errors
    assert error.target == REPORT and QUERIES_ENDPOINT in error.reason and "gave up after 3 attempts" in error.reason
    assert REPORT not in bundle["queries"]
    assert [m.target for m in status.missing] == [REPORT]
    assert mode_standin.requests_to(QUERIES) == 3


@pytest.mark.parametrize("body", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_200_that_recovers_is_retried_and_the_crawl_is_complete(mode_standin, body):
    mode_standin.bad_body(QUERIES, body, times=2)
    client = mode_client(mode_standin, max_retries=3)
    bundle, status = crawl_workspace(client, None, workers=4)
    assert status.complete is True and status.retries == 2
    assert bundle["queries"][REPORT] == mode_standin.queries[REPORT]


@pytest.mark.parametrize("body", [b"{}", b'{"_links": {}}', b'{"_embedded": []}'], ids=["empty object", "links only",
                                                                                     "embedded not an object"])
def test_a_200_object_that_is_not_a_listing_is_an_error_not_no_queries(mode_standin, body):
    """Valid JSON without ``_embedded`` is not "this report has no queries": the crawl is incomplete."""
    mode_standin.bad_body(QUERIES, body, times=100)
    bundle, status = crawl_workspace(mode_client(mode_standin, max_retries=1), None, workers=4)
    assert status.complete is False and [m.target for m in status.missing] == [REPORT]
    assert "is not a HAL listing" in status.errors[0].reason and REPORT not in bundle["queries"]


def test_a_broken_200_on_a_whole_run_endpoint_raises_naming_it(mode_standin):
    mode_standin.bad_body(r"/verify$", b"", times=10)
    with pytest.raises(BIApiError, match=r"GET /api/verify \(verify\): gave up after 2 attempts; last: HTTP 200 "
                                         r"with an empty body"):
        mode_client(mode_standin, max_retries=1).verify()


def test_an_empty_200_to_an_action_is_accepted(mode_standin):
    """DELETE answers 200 with an empty body, as documented; that is success, not a broken body."""
    client = mode_client(mode_standin)
    token = next(t for t, r in mode_standin.reports.items() if r["type"] == "Report")
    client.delete(token)
    assert token not in mode_standin.reports and client.retries == 0


# -- 7. connections dropped mid-body ----------------------------------------------------------------
def test_a_body_cut_short_is_retried(mode_standin):
    mode_standin.cut_body(QUERIES, times=2)
    client = mode_client(mode_standin, max_retries=3)
    assert client.queries(REPORT) == mode_standin.queries[REPORT]
    assert client.retries == 2 and mode_standin.requests_to(QUERIES) == 3


def test_a_body_cut_short_every_time_gives_up_with_a_bi_api_error(mode_standin):
    mode_standin.cut_body(QUERIES, times=100)
    with pytest.raises(BIApiError) as caught:
        mode_client(mode_standin, max_retries=2).queries(REPORT)
    error = caught.value
    assert (error.status, error.target, error.retried) == (None, f"report {REPORT} queries", True)
    assert QUERIES_ENDPOINT in str(error) and "gave up after 3 attempts" in str(error)
    assert "ChunkedEncodingError" in str(error) and "IncompleteRead" in str(error)


def test_a_body_cut_short_makes_the_crawl_incomplete_not_a_crash(mode_standin):
    mode_standin.cut_body(QUERIES, times=100)
    bundle, status = crawl_workspace(mode_client(mode_standin, max_retries=1), None, workers=4)
    assert status.complete is False and [e.target for e in status.errors] == [REPORT]


def test_a_cut_listing_page_is_retried(mode_standin):
    mode_standin.cut_body(r"/spaces$", times=1)
    client = mode_client(mode_standin)
    assert len(list(client.spaces())) == 5 and client.retries == 1


def test_credentials_in_the_default_fixture_never_reach_a_cut_body_error(mode_standin):
    mode_standin.cut_body(r"/verify$", times=10)
    with pytest.raises(BIApiError) as caught:
        mode_client(mode_standin, max_retries=0).verify()
    for form in secret_forms(MODE_TOKEN, MODE_SECRET):
        assert form not in str(caught.value)

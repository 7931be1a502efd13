"""Rate limiting: the AIMD limiter, the 429 budget, convergence on a stricter server, capped Retry-After."""

from __future__ import annotations

import logging
import time

import pytest

from lineage_utils.bi.mode.crawl import crawl_workspace
from lineage_utils.bi.mode.ratelimit import RateLimiter
from lineage_utils.errors import BIApiError
from lineage_utils.testing import ModeStandIn
from tests.conftest import MODE_DEMO, MODE_SECRET, MODE_TOKEN, mode_client


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def limiter(rate: float = 10.0, **options) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(rate, clock=clock, sleep=clock.sleep, **options), clock


# -- the AIMD limiter -------------------------------------------------------------------------
def test_a_429_halves_the_rate_and_paces_the_next_requests_slower():
    aimd, clock = limiter(10.0)
    aimd.acquire()
    assert aimd.on_rate_limited(aimd.now()) is True
    assert aimd.rate == pytest.approx(5.0)
    started = clock.now
    for _ in range(5):
        aimd.acquire()
    assert clock.now - started == pytest.approx(1.0)  # 5 requests at 5/s, no burst after a 429


def test_429s_to_requests_sent_before_the_cut_do_not_cut_again():
    aimd, clock = limiter(8.0)
    in_flight = [aimd.now() for _ in range(4)]  # four requests sent at the old rate
    clock.now += 0.1
    assert [aimd.on_rate_limited(sent) for sent in in_flight] == [True, False, False, False]
    assert aimd.rate == pytest.approx(4.0) and aimd.decreases == 1
    clock.now += 0.1
    assert aimd.on_rate_limited(aimd.now()) is True  # sent after the cut: a new wave
    assert aimd.rate == pytest.approx(2.0)


def test_recovery_is_additive_and_slow():
    aimd, _ = limiter(10.0, increase=0.5)
    aimd.on_rate_limited()
    assert aimd.rate == pytest.approx(5.0)
    aimd.on_success()
    assert aimd.rate == pytest.approx(5.0 + 0.5 / 5.0)
    for _ in range(9):
        aimd.on_success()
    assert 5.5 < aimd.rate < 6.0  # ten successes win back about one request/s, not the halving


def test_recovery_never_exceeds_the_configured_rate():
    aimd, _ = limiter(10.0)
    for _ in range(10_000):
        aimd.on_success()
    assert aimd.rate == 10.0
    aimd.on_rate_limited()
    for _ in range(10_000):
        aimd.on_success()
    assert aimd.rate == pytest.approx(10.0) and aimd.rate <= aimd.ceiling


def test_the_rate_never_drops_below_the_floor():
    aimd, _ = limiter(4.0, floor=0.5)
    for _ in range(50):
        aimd.on_rate_limited()
    assert aimd.rate == pytest.approx(0.5)


def test_an_unlimited_limiter_does_not_adapt():
    aimd, _ = limiter(0)
    assert aimd.on_rate_limited() is False and aimd.acquire() == 0.0 and aimd.rate == 0


# -- the 429 budget ----------------------------------------------------------------------------
def test_429s_have_their_own_larger_budget(mode_standin):
    mode_standin.burst_429(times=6, retry_after="0")
    client = mode_client(mode_standin, max_retries=1, max_retries_rate_limited=12)
    assert client.verify()["workspace"] == mode_standin.workspace
    assert (client.rate_limited, client.retries, client.requests_made) == (6, 6, 7)


def test_the_429_budget_runs_out(mode_standin):
    mode_standin.burst_429(times=10, retry_after="0")
    client = mode_client(mode_standin, max_retries=10, max_retries_rate_limited=2)
    with pytest.raises(BIApiError, match=r"gave up after 3 attempts; last: HTTP 429") as caught:
        client.verify()
    assert caught.value.status == 429 and caught.value.retried


def test_other_failures_keep_the_smaller_budget(mode_standin):
    mode_standin.fail(r"/verify$", status=503, times=10)
    client = mode_client(mode_standin, max_retries=1, max_retries_rate_limited=12)
    with pytest.raises(BIApiError, match="gave up after 2 attempts"):
        client.verify()


def test_the_adapter_wires_the_rate_limit_params(monkeypatch, tmp_path):
    from lineage_utils.bi.mode.adapter import ModeAdapter
    from lineage_utils.params import build_params

    monkeypatch.setenv("MODE_API_TOKEN", MODE_TOKEN)
    monkeypatch.setenv("MODE_API_SECRET", MODE_SECRET)
    params = build_params({"bi": {"source": "mode_api", "workspace": "w", "max_retries_rate_limited": 33,
                                  "retry_after_cap": 7.5, "rate_limit": 2.5, "state_dir": str(tmp_path)}}, tmp_path)
    client = ModeAdapter.from_params(params).client
    assert (client.max_retries_rate_limited, client.retry_after_max, client.limiter.ceiling) == (33, 7.5, 2.5)


# -- converging on a stricter server ---------------------------------------------------------------
@pytest.mark.parametrize("retry_after", [False, True], ids=["no Retry-After", "Retry-After"])
def test_a_client_ten_times_too_fast_converges_and_completes_the_crawl(retry_after):
    """The stand-in allows 20 requests/s; the client is set to 200/s with one ordinary retry.

    Whether Mode sends ``Retry-After`` is unconfirmed: without it only the limiter's
    slowing down keeps the crawl from spending its 429 budget.
    """
    with ModeStandIn(MODE_DEMO, token=MODE_TOKEN, secret=MODE_SECRET, rate_limit=20) as standin:
        standin.rate_limit_retry_after = retry_after
        client = mode_client(standin, rate_limit=200, max_retries=1, max_retries_rate_limited=12)
        bundle, status = crawl_workspace(client, None, workers=8)
        throttled = sum(1 for r in standin.log if r.status == 429)
    assert status.complete is True and status.errors == () and len(bundle["reports"]) == 37
    assert client.rate_limited == throttled > 0
    assert status.retries == client.retries >= throttled
    assert client.limiter.rate < 200 and client.limiter.decreases >= 2  # it slowed down, more than once
    assert throttled < status.requests_made / 2  # and then mostly got through


# -- Retry-After beyond the cap ----------------------------------------------------------------------
def test_a_retry_after_beyond_the_cap_is_logged_and_capped(mode_standin, caplog):
    caplog.set_level(logging.WARNING, logger="lineage_utils")
    mode_standin.burst_429(times=1, retry_after="600")
    client = mode_client(mode_standin, retry_after_max=0.2)
    started = time.monotonic()
    client.verify()
    assert time.monotonic() - started < 5
    (warning,) = [r for r in caplog.records if "Retry-After" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert "GET /api/verify" in warning.getMessage() and "600" in warning.getMessage()
    assert "0.2" in warning.getMessage()


def test_a_retry_after_within_the_cap_is_slept_without_a_warning(mode_standin, caplog):
    caplog.set_level(logging.WARNING, logger="lineage_utils")
    mode_standin.burst_429(times=1, retry_after="0.2")
    client = mode_client(mode_standin, retry_after_max=5)
    started = time.monotonic()
    client.verify()
    assert time.monotonic() - started >= 0.2
    assert not [r for r in caplog.records if "exceeds" in r.getMessage()]

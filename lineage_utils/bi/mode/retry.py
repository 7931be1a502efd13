"""When the Mode client tries again, and how long it waits: the retry policy, apart from HTTP.

* ``Retryable`` is one failed attempt worth another: a 429, a 5xx, a dropped or cut
  connection, a timeout, or a 200 whose body is empty or not JSON;
* ``RetryBudget`` keeps two budgets per call: ``max_retries`` for every failure but
  429 and ``max_retries_rate_limited`` (larger) for 429s, so a busy server is waited
  out without making real faults linger;
* ``wait_seconds``: the server's ``Retry-After`` when it sent one (capped; a longer one
  is logged at WARNING naming the endpoint and the value), else exponential backoff
  with up to 100% jitter.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
from datetime import datetime, timezone

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds (fractions accepted) or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


class Retryable(Exception):
    """One attempt failed in a way worth another: the reason, HTTP status and Retry-After."""

    def __init__(self, reason: str, status: int | None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after

    @property
    def rate_limited(self) -> bool:
        return self.status == 429


class RetryBudget:
    """The retries left to one call: 429s draw on their own, larger budget."""

    def __init__(self, max_retries: int, max_retries_rate_limited: int):
        self.max_retries = max(0, int(max_retries))
        self.max_rate_limited = max(0, int(max_retries_rate_limited))
        self.failures = 0
        self.rate_limited = 0
        self._lock = threading.Lock()

    def spend(self, failure: Retryable) -> None:
        with self._lock:
            if failure.rate_limited:
                self.rate_limited += 1
            else:
                self.failures += 1

    def exhausted(self) -> bool:
        with self._lock:
            return self.failures > self.max_retries or self.rate_limited > self.max_rate_limited

    def limit_for(self, failure: Retryable | None) -> int:
        """The budget a failure draws on (for log lines: retry n of this)."""
        return self.max_rate_limited if failure is not None and failure.rate_limited else self.max_retries

    def used_for(self, failure: Retryable | None) -> int:
        with self._lock:
            return self.rate_limited if failure is not None and failure.rate_limited else self.failures


def backoff_seconds(attempt: int, base: float, maximum: float) -> float:
    """``base * 2^(attempt-1)`` plus up to 100% jitter, at most ``maximum``."""
    return min(maximum, base * 2 ** (max(1, attempt) - 1) * (1 + random.random()))


def wait_seconds(failure: Retryable | None, attempt: int, *, base: float, maximum: float, retry_after_cap: float,
                 endpoint: str) -> float:
    """Seconds before the next attempt (module docstring)."""
    retry_after = failure.retry_after if failure is not None else None
    if retry_after is None:
        return backoff_seconds(attempt, base, maximum)
    if retry_after > retry_after_cap:
        logger.warning("Mode API %s: Retry-After of %gs exceeds bi.retry_after_cap (%gs); waiting %gs instead",
                       endpoint, retry_after, retry_after_cap, retry_after_cap)
        return retry_after_cap
    return retry_after

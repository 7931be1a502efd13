"""The client-side rate limit: a token bucket whose rate adapts to the server's 429s (AIMD).

One ``RateLimiter`` is shared by every thread of a client. Its rate starts at the
configured one (``bi.rate_limit``), which is also its ceiling:

* a 429 halves it (multiplicative decrease, ``decrease``), at most once per wave: a 429
  to a request sent before the last decrease says nothing new (the requests in flight
  at the old rate come back 429 together) and is ignored;
* each success adds ``increase / rate`` (additive increase: about ``increase``
  requests/s more per second of successes), so it recovers slowly;
* it never exceeds the ceiling nor drops below ``floor``.

A client configured faster than the server allows thus converges on the server's rate
instead of spending its retries.
"""

from __future__ import annotations

import threading
import time
from typing import Callable


class RateLimiter:
    """A thread-safe token bucket: at most ``rate`` acquisitions per second, ``burst`` at once.

    Each caller reserves the next free slot under the lock and sleeps outside it, so
    threads are served in turn and the pace is even. ``rate <= 0`` means no limit (and
    no adaptation). ``on_rate_limited`` and ``on_success`` adapt the rate (module docstring).
    """

    def __init__(self, rate: float, burst: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, *, decrease: float = 0.5, increase: float = 0.5,
                 floor: float = 0.1):
        if not 0 < decrease < 1:
            raise ValueError(f"decrease must be between 0 and 1, not {decrease}")
        self.ceiling = float(rate)
        self.rate = float(rate)
        self.burst = max(1.0, float(burst))
        self.decrease = float(decrease)
        self.increase = max(0.0, float(increase))
        self.floor = min(float(floor), self.ceiling) if self.ceiling > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._stamp = clock()
        self._last_decrease = float("-inf")
        self.decreases = 0

    def now(self) -> float:
        """The limiter's clock: pass it back as ``sent_at`` to ``on_rate_limited``."""
        return self._clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def acquire(self) -> float:
        """Take one token, waiting for it; returns the seconds waited."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            self._refill()
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait

    def on_rate_limited(self, sent_at: float | None = None) -> bool:
        """A 429 came back: cut the rate, unless the request predates the last cut. True if cut."""
        if self.ceiling <= 0:
            return False
        with self._lock:
            if sent_at is not None and sent_at < self._last_decrease:
                return False
            self._refill()
            self.rate = max(self.floor, self.rate * self.decrease)
            self._tokens = min(self._tokens, 0.0)  # no burst straight after a 429
            self._last_decrease = self._clock()
            self.decreases += 1
            return True

    def on_success(self) -> None:
        """A request got through: raise the rate a little, never above the ceiling."""
        if self.ceiling <= 0 or self.rate >= self.ceiling:
            return
        with self._lock:
            self._refill()
            self.rate = min(self.ceiling, self.rate + self.increase / self.rate)

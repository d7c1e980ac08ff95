"""Pace bulk portal calls at the rate the service allows, learned from its 429s.

botocore's adaptive retry mode halves its rate on a throttle and climbs back on a
cubic curve: a sync spends most of its time well below the limit. The pacer here
keeps one token bucket for all the threads of a sync and sets its rate from what
the service accepted in the second before it refused (the limit, measured), then
probes upwards a few percent a second. No boto3 here: identity.py hooks it into a
client's request events.
"""

from __future__ import annotations

import collections
import math
import threading
import time

MIN_RATE = 1.0        # calls/s: never slower than this, whatever the estimate says
WINDOW_S = 1.0        # the window over which accepted calls are counted
PROBE_PER_CALL = 0.02  # each accepted call raises the rate by 2 % of a call/s: +2 %/s at the limit
BACKOFF = 0.85        # a throttle inside the learned rate: 15 % down
COOLDOWN_S = 1.0      # one cut per second: the calls already in flight were sent at the old rate


class Pacer:
    """A token bucket shared by threads; rate None until the first throttle (unpaced)."""

    def __init__(self, rate: float | None = None, clock=time.monotonic, sleep=time.sleep):
        self.rate = rate
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._accepted: collections.deque[float] = collections.deque()
        self._last_cut = -math.inf
        self.throttles = 0  # 429s seen (for reports and tests)
        self.calls = 0      # calls sent, retries included

    def acquire(self) -> None:
        """Wait for this call's slot."""
        with self._lock:
            self.calls += 1
            now = self._clock()
            if self.rate is None and self._next_slot <= now:
                return
            slot = max(now, self._next_slot)
            self._next_slot = slot + (1.0 / self.rate if self.rate else 0.0)
        if slot > now:
            self._sleep(slot - now)

    def accepted(self) -> None:
        """A call went through: count it, and probe a little above the current rate."""
        with self._lock:
            now = self._clock()
            self._accepted.append(now)
            self._trim(now)
            if self.rate is not None:
                self.rate += PROBE_PER_CALL

    def throttled(self, retry_after: float | None = None) -> None:
        """The service refused a call (429): set the rate from what it just accepted."""
        with self._lock:
            self.throttles += 1
            now = self._clock()
            if retry_after and retry_after > 0:  # the service said when: nobody sends before
                self._next_slot = max(self._next_slot, now + min(retry_after, 30.0))
            self._trim(now)
            if now - self._last_cut >= COOLDOWN_S:
                self._last_cut = now
                measured = len(self._accepted) / WINDOW_S
                if self.rate is None:  # the first refusal: what got through in the last second is the limit
                    new = measured * 0.95
                else:
                    new = min(self.rate * BACKOFF, measured) if measured else self.rate * BACKOFF
                self.rate = max(MIN_RATE, new)
            # The service's window is full: calls sent before the oldest accepted one leaves
            # it would be refused too (after a burst that is most of a second).
            rate = self.rate or MIN_RATE  # set by the first refusal above
            if self._accepted and len(self._accepted) >= rate * WINDOW_S:
                self._next_slot = max(self._next_slot, self._accepted[0] + WINDOW_S)
            else:
                self._next_slot = max(self._next_slot, now + 1.0 / rate)

    def _trim(self, now: float) -> None:
        while self._accepted and self._accepted[0] <= now - WINDOW_S:
            self._accepted.popleft()

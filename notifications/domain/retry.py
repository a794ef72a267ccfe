"""When to try a failed delivery again: exponential backoff with full jitter, in a budget.

urllib3's `Retry` was the first choice and is still what parses `Retry-After`
(see notifications.adapters.http), but it cannot be the schedule: it sleeps in the
calling thread between attempts (holding up every other notification), it has
no full jitter (its jitter is added on top of the backoff) and no time budget.
"""

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5  # seconds; the cap of the first wait
    max_delay: float = 30.0  # seconds; no single wait is longer, but for `Retry-After`
    max_total: float = 300.0  # seconds from the first attempt; past it the notification fails

    def next_delay(
        self,
        attempts: int,
        elapsed: float,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait before attempt `attempts + 1`, or None when the budget is spent."""
        if attempts >= self.max_attempts:
            return None
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
        delay = (rng or random).uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        if elapsed + delay > self.max_total:
            return None
        return delay

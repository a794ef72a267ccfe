"""The retry schedule: exponential backoff with full jitter, Retry-After, and a budget."""

import random

import pytest

from notifications.domain.retry import RetryPolicy

POLICY = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=8.0, max_total=60.0)


@pytest.mark.parametrize(("attempts", "ceiling"), [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0)])
def test_waits_are_drawn_between_zero_and_a_doubling_capped_ceiling(attempts, ceiling):
    rng = random.Random(7)

    delays = [POLICY.next_delay(attempts, elapsed=0, rng=rng) for _ in range(500)]

    assert all(0 <= delay <= ceiling for delay in delays)
    assert max(delays) > ceiling * 0.9  # full jitter spans the whole range
    assert min(delays) < ceiling * 0.1


def test_the_ceiling_never_exceeds_the_maximum_wait():
    policy = RetryPolicy(max_attempts=50, base_delay=1.0, max_delay=8.0, max_total=1e9)

    assert all(policy.next_delay(30, elapsed=0) <= 8.0 for _ in range(100))


def test_retry_after_is_the_least_wait():
    assert POLICY.next_delay(1, elapsed=0, retry_after=20) == 20


@pytest.mark.parametrize(
    ("attempts", "elapsed", "retry_after"),
    [
        pytest.param(5, 0, None, id="attempts spent"),
        pytest.param(1, 59.5, 1.0, id="time spent"),
        pytest.param(1, 0, 61, id="retry-after beyond the budget"),
    ],
)
def test_no_retry_once_the_budget_is_spent(attempts, elapsed, retry_after):
    assert POLICY.next_delay(attempts, elapsed=elapsed, retry_after=retry_after) is None

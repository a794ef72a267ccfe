"""A background loop's health: failures are logged once per outage and counted each time,
and a loop failing for longer than a few of its periods is reported as stuck."""

import logging

import pytest
from prometheus_client import REGISTRY

from eventsproject.platform.loops import LoopHealth


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def failures(loop: str) -> float:
    return REGISTRY.get_sample_value("events_background_failures_total", {"loop": loop}) or 0.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_a_loop_that_keeps_failing_logs_once_and_counts_every_failure(clock, caplog):
    health = LoopHealth("test-counting", period=1.0, clock=clock)
    before = failures("test-counting")

    with caplog.at_level(logging.INFO, logger="eventsproject.platform.loops"):
        for _ in range(50):
            health.failed(RuntimeError("store out of reach"))

    assert failures("test-counting") - before == 50
    assert [r.getMessage() for r in caplog.records] == [
        "test-counting failed: store out of reach (logged once until it works again)"
    ]


def test_recovery_is_logged_once_with_how_long_and_how_many(clock, caplog):
    health = LoopHealth("test-recovery", period=1.0, clock=clock)
    health.failed(RuntimeError("down"))
    clock.now += 7.5
    health.failed(RuntimeError("down"))
    caplog.clear()

    with caplog.at_level(logging.INFO, logger="eventsproject.platform.loops"):
        health.succeeded()
        health.succeeded()

    assert [r.getMessage() for r in caplog.records] == [
        "test-recovery works again after 2 failures in 7.5 s"
    ]


def test_a_loop_is_stuck_only_after_failing_for_a_few_periods(clock):
    health = LoopHealth("test-stuck", period=1.0, clock=clock)
    health.succeeded()
    health.failed(RuntimeError("down"))
    clock.now += 2.9

    assert not health.stuck
    clock.now += 0.2
    assert health.stuck
    assert health.report() == {
        "status": "failing",
        "last_success_seconds_ago": 3.1,
        "failing_for_seconds": 3.1,
        "error": "down",
    }

    health.succeeded()
    assert not health.stuck
    assert health.report() == {"status": "ok", "last_success_seconds_ago": 0.0}


def test_a_loop_that_never_ran_reports_no_success_yet(clock):
    assert LoopHealth("test-new", period=1.0, clock=clock).report() == {
        "status": "ok",
        "last_success_seconds_ago": None,
    }
